{#- The language switcher (several languages in one page, languages.js): a labelled select;
    the choice goes in the URL (#lang=es) and renames the layer control's layers. #}
{% macro script(this, kwargs) %}
(function () {
  var cfg = aid_i18n.config, map = {{ this.map.get_name() }}, control = {{ this.control.get_name() }};
  {% if not this.shown %}aid_i18n.use(aid_i18n.lang());
  return;{% endif %}
  var box = L.control({position: 'topright'});
  var select, label;
  box.onAdd = function () {
    var div = L.DomUtil.create('div', 'aid-panel aid-language');
    label = L.DomUtil.create('label', '', div);
    label.setAttribute('for', 'aid-language');
    select = L.DomUtil.create('select', '', div);
    select.id = 'aid-language';
    cfg.languages.forEach(function (lang) {
      var option = document.createElement('option');
      option.value = lang;
      option.lang = lang;
      option.textContent = cfg.names[lang];
      select.appendChild(option);
    });
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.on(select, 'change', function () {
      history.replaceState(null, '', location.pathname + location.search.replace(/[?&]lang=[^&]*/, '') + '#lang=' + select.value);
      map.closePopup();
      aid_i18n.use(select.value);
    });
    return div;
  };
  box.addTo(map);
  function relabel(lang) {
    label.textContent = cfg.label[lang] + ' ';
    select.value = lang;
    control._layers.forEach(function (entry) {
      cfg.layers.forEach(function (named) {
        if (window[named[0]] === entry.layer) { entry.name = named[1][lang]; }
      });
    });
    control._update();
  }
  aid_i18n.on(relabel);
  relabel(aid_i18n.lang());
  aid_i18n.use(aid_i18n.lang());
})();
{% endmacro %}
