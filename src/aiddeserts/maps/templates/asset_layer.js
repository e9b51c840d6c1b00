{#- The assets of one type (elements.AssetLayer): markers built in the browser from a compact
    array [lat, lon, popup, tooltip], clustered. #}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var data = {{ this.data|tojson }};
  var icon = L.divIcon({html: {{ this.icon_html|tojson }}, className: 'aid-marker',
                        iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -8]});
  var group = L.markerClusterGroup({maxClusterRadius: 40, disableClusteringAtZoom: 15,
    showCoverageOnHover: false,
    iconCreateFunction: function (c) {
      return L.divIcon({html: '<div style="background:{{ this.colour }}">' + c.getChildCount()
        + '</div>', className: 'aid-cluster', iconSize: [30, 30]});
    }});
  for (var i = 0; i < data.length; i++) {
    var m = L.marker([data[i][0], data[i][1]], {icon: icon});
    {% if this.texts_index is none %}m.bindPopup(data[i][2], aid_popup(280));
    m.bindTooltip(data[i][3]);{% else %}m.bindPopup(aid_i18n.texter('a', {{ this.texts_index }}, i), aid_popup(280));
    m.bindTooltip(aid_i18n.texter('at', {{ this.texts_index }}, i));{% endif %}
    group.addLayer(m);
  }
  return group;
})();
{% endmacro %}
