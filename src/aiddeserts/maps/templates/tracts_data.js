{#- The tracts' GeoJSON every tract layer draws from, and the popups' options. #}
{% macro script(this, kwargs) %}var aid_tracts = {{ this.data|tojson }};
/* Popups open clear of the title panel and legends on the left. */
function aid_popup(w) { return {maxWidth: w, autoPanPaddingTopLeft: L.point(Math.min(340, window.innerWidth / 3), 20)}; }
/* The text of a value escaped by esc() (& < > " '), e.g. a marker's accessible name. */
function aid_text(s) {
  var plain = {lt: '<', gt: '>', quot: '"', '#x27': "'", amp: '&'};
  return String(s).replace(/&(lt|gt|quot|#x27|amp);/g, function (m, e) { return plain[e]; });
}
{% endmacro %}
