{#- The tracts' GeoJSON every tract layer draws from, and the popups' options. #}
{% macro script(this, kwargs) %}var aid_tracts = {{ this.data|tojson }};
/* Popups open clear of the title panel and legends on the left. */
function aid_popup(w) { return {maxWidth: w, autoPanPaddingTopLeft: L.point(Math.min(340, window.innerWidth / 3), 20)}; }
{% endmacro %}
