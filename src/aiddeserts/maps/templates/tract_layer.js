{#- A tract layer (elements.TractLayer) drawn from aid_tracts (tracts_data.js). #}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJSON(aid_tracts, {
  filter: function (f) { return {{ this.filter_js }}; },
  style: function (f) { return {{ this.style_js }}; },
  onEachFeature: function (f, layer) {
    {% if this.multilingual %}layer.bindPopup(function () { return aid_i18n.text('{{ this.popup_key }}', f.properties.i); }, aid_popup(320));{% else %}layer.bindPopup(f.properties.{{ this.popup_key }}, aid_popup(320));{% endif %}
    {% if this.tooltip %}{% if this.multilingual %}layer.bindTooltip(function () { return aid_i18n.text('tt', f.properties.i); }, {sticky: true});{% else %}layer.bindTooltip(f.properties.tt, {sticky: true});{% endif %}{% endif %}
  }
});
{% endmacro %}
