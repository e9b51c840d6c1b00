{#- A tract layer (elements.TractLayer) drawn from aid_tracts (tracts_data.js). #}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(aid_tracts, {
  filter: function (f) { return {{ this.filter_js }}; },
  style: function (f) { return {{ this.style_js }}; },
  onEachFeature: function (f, layer) {
    layer.bindPopup(f.properties.{{ this.popup_key }}, aid_popup(320));
    {% if this.tooltip %}layer.bindTooltip(f.properties.tt, {sticky: true});{% endif %}
  }
});
{% endmacro %}
