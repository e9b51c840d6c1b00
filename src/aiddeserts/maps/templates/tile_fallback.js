{#- Shows the notice of title_panel.js when a basemap tile fails to load. #}
{% macro script(this, kwargs) %}
(function () {
  var shown = false;
  {{ this.tiles.get_name() }}.on('tileerror', function () {
    if (shown) { return; }
    shown = true;
    var note = document.getElementById('aid-tile-notice');
    if (note) { note.style.display = 'block'; }
  });
})();
{% endmacro %}
