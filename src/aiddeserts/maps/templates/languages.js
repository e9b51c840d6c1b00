{#- Several languages in one page (webmap.embed_languages): per language, the tracts' and
    assets' texts as a gzipped JSON table (unpacked in the browser, the shown language only),
    and layer names. The language comes from the URL (#lang=es or ?lang=es), else the default;
    aid_i18n.use(lang) switches and tells every listener (legends, title panel, layer control). #}
{% macro script(this, kwargs) %}
var aid_i18n = (function () {
  var cfg = {{ this.config|tojson }};
  var tables = {}, listeners = [];
  function fromUrl() {
    var found = /[#&?]lang=([A-Za-z-]+)/.exec(location.hash) || /[?&]lang=([A-Za-z-]+)/.exec(location.search);
    return found && cfg.languages.indexOf(found[1]) >= 0 ? found[1] : cfg['default'];
  }
  function unpack(lang) {
    if (tables[lang]) { return Promise.resolve(tables[lang]); }
    var bin = atob(cfg.texts[lang]), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Response(stream).json().then(function (table) { tables[lang] = table; return table; });
  }
  var api = {
    config: cfg, current: fromUrl(), ready: false,
    lang: function () { return api.current; },
    text: function (kind, i, j) {
      var table = tables[api.current];
      if (!table) { return ''; }
      var value = j === undefined ? table[kind][i] : table[kind][i][j];
      return value === null || value === undefined ? '' : value;
    },
    texter: function (kind, i, j) { return function () { return api.text(kind, i, j); }; },
    on: function (listener) { listeners.push(listener); },
    use: function (lang) {
      return unpack(lang).then(function () {
        api.current = lang;
        document.documentElement.lang = lang;
        listeners.forEach(function (listener) { listener(lang); });
        api.ready = true;
      });
    }
  };
  document.documentElement.lang = api.current;
  return api;
})();
{% endmacro %}
