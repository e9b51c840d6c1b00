{#- The shared legend box (bottom left) and aid_fit, which keeps it clear of the title panel. #}
{% macro script(this, kwargs) %}
var aid_legends = (function () {
  var control = L.control({position: 'bottomleft'});
  control.onAdd = function () {
    var div = L.DomUtil.create('div', 'aid-legends');
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  control.addTo({{ this.map.get_name() }});
  return control.getContainer();
})();
/* Keep the legend box clear of the title panel above it, whatever the screen size. */
function aid_fit() {
  var map = {{ this.map.get_name() }}.getContainer().getBoundingClientRect();
  var title = document.querySelector('.aid-title');
  var top = title ? title.getBoundingClientRect().bottom : map.top;
  aid_legends.style.maxHeight = Math.max(90, map.bottom - top - 70) + 'px';
}
window.addEventListener('resize', aid_fit);
{% endmacro %}
