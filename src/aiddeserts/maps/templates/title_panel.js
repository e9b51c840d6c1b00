{#- The title panel (this.html: maps/templates/about.html), the zoom buttons, popups kept clear
    of the layer control, and the notice shown when basemap tiles fail (tile_fallback.js). #}
{% macro script(this, kwargs) %}
(function () {
  var panel = L.control({position: 'topleft'});
  panel.onAdd = function () {
    var div = L.DomUtil.create('div', 'aid-panel aid-title');
    div.innerHTML = {{ this.html|tojson }};
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  panel.addTo({{ this.map.get_name() }});
  panel.getContainer().querySelector('details').addEventListener('toggle', aid_fit);
  aid_fit();
  L.control.zoom({position: 'bottomright'}).addTo({{ this.map.get_name() }});
  /* A popup opens below the layer control (top right), so its close button is never hidden
     behind the control. */
  {{ this.map.get_name() }}.on('popupopen', function (e) {
    var control = document.querySelector('.leaflet-control-layers');
    var top = (control ? control.offsetHeight : 0) + 20;
    var opts = e.popup.options;
    if (opts.aidFitted || !e.popup._source) { return; }
    opts.aidFitted = true;
    opts.autoPanPaddingTopLeft = L.point(Math.min(340, window.innerWidth / 3), top);
    e.popup.update();
  });
  var note = L.DomUtil.create('div', '', {{ this.map.get_name() }}.getContainer());
  note.id = 'aid-tile-notice';
  note.textContent = {{ this.notice|tojson }};
})();
{% endmacro %}
