{#- One layer's legend (this.html: maps/templates/legends.html), in the legend box while the
    layer is on the map, in the order this.order. #}
{% macro script(this, kwargs) %}
(function () {
  var order = {{ this.order }};
  var div = document.createElement('div');
  div.className = 'aid-panel aid-legend';
  div.setAttribute('data-order', order);
  div.setAttribute('data-layer', {{ this.layer_label|tojson }});
  {% if this.html is mapping %}var html = {{ this.html|tojson }};
  div.innerHTML = html[aid_i18n.lang()];
  aid_i18n.on(function (lang) { div.innerHTML = html[lang]; });{% else %}div.innerHTML = {{ this.html|tojson }};{% endif %}
  function show() {
    var before = null;
    for (var i = 0; i < aid_legends.children.length; i++) {
      if (+aid_legends.children[i].getAttribute('data-order') > order) {
        before = aid_legends.children[i]; break;
      }
    }
    aid_legends.insertBefore(div, before);
    aid_fit();
  }
  var layer = {{ this.layer.get_name() }}, map = {{ this.map.get_name() }};
  layer.on('add', show);
  layer.on('remove', function () { if (div.parentNode) { div.parentNode.removeChild(div); } });
  if (map.hasLayer(layer)) { show(); }
})();
{% endmacro %}
