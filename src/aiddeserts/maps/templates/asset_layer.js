{#- The assets of one type (elements.AssetLayer): markers built in the browser from a compact
    array [lat, lon, popup, tooltip], clustered. The group keeps its markers and data (and
    this.extras: per asset its tract position `t` and status letter `s`) for ui.js. #}
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = (function () {
  var data = {{ this.data|tojson }};
  var icon = L.divIcon({html: {{ this.icon_html|tojson }}, className: 'aid-marker',
                        iconSize: [18, 18], iconAnchor: [9, 9], popupAnchor: [0, -8]});
  var group = L.markerClusterGroup({maxClusterRadius: 40, disableClusteringAtZoom: 15,
    showCoverageOnHover: false, chunkedLoading: true,
    iconCreateFunction: function (c) {
      return L.divIcon({html: '<div style="background:{{ this.colour }};color:{{ this.text_colour }}">'
        + c.getChildCount() + '</div>', className: 'aid-cluster', iconSize: [30, 30]});
    }});
  var markers = [];
  for (var i = 0; i < data.length; i++) {
    {% if this.texts_index is none %}var m = L.marker([data[i][0], data[i][1]], {icon: icon, title: aid_text(data[i][3])});
    m.bindPopup(data[i][2], aid_popup(280));
    m.bindTooltip(data[i][3]);{% else %}var m = L.marker([data[i][0], data[i][1]], {icon: icon});
    m.bindPopup(aid_i18n.texter('a', {{ this.texts_index }}, i), aid_popup(280));
    m.bindTooltip(aid_i18n.texter('at', {{ this.texts_index }}, i));{% endif %}
    markers.push(m);
  }
  group.addLayers(markers);
  group.aidData = data;
  group.aidMarkers = markers;
  group.aidExtras = {{ this.extras|tojson }};
  group.aidTexts = {{ this.texts_index|tojson }};  // packed texts' layer index, or null
  return group;
})();
{% endmacro %}
