{#- The title panel (this.html: maps/templates/about.html), the zoom buttons, popups kept clear
    of the layer control, and the notice shown when basemap tiles fail (tile_fallback.js). #}
{% macro script(this, kwargs) %}
(function () {
  var panel = L.control({position: 'topleft'});
  panel.onAdd = function () {
    var div = L.DomUtil.create('div', 'aid-panel aid-title');
    {% if this.html is mapping %}var html = {{ this.html|tojson }};
    div.innerHTML = html[aid_i18n.lang()];
    aid_i18n.on(function (lang) {
      div.innerHTML = html[lang];
      div.querySelector('details').addEventListener('toggle', aid_fit);
      aid_fit();
    });{% else %}div.innerHTML = {{ this.html|tojson }};{% endif %}
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
  {% if this.notice is mapping %}var notices = {{ this.notice|tojson }};
  note.textContent = notices[aid_i18n.lang()];
  aid_i18n.on(function (lang) { note.textContent = notices[lang]; });{% else %}note.textContent = {{ this.notice|tojson }};{% endif %}
})();
{% endmacro %}
