{#- The SVG patterns tract fills refer to as url(#id) (styles.fill_js): each draws its kind of
    marks (hatch, dots) over its colour, in a zero-size SVG of the page. #}
{% macro script(this, kwargs) %}
(function () {
  var ns = 'http://www.w3.org/2000/svg', patterns = {{ this.patterns|tojson }};
  var svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', '0');
  svg.setAttribute('height', '0');
  svg.setAttribute('aria-hidden', 'true');
  svg.style.position = 'absolute';
  var defs = document.createElementNS(ns, 'defs');
  function el(name, attrs) {
    var e = document.createElementNS(ns, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    return e;
  }
  patterns.forEach(function (p) {
    var pattern = el('pattern', {id: p.id, patternUnits: 'userSpaceOnUse', width: 6, height: 6,
                                 patternTransform: p.kind === 'hatch' ? 'rotate(45)' : ''});
    pattern.appendChild(el('rect', {width: 6, height: 6, fill: p.colour}));
    pattern.appendChild(p.kind === 'hatch'
      ? el('rect', {width: 1.6, height: 6, fill: '#000', 'fill-opacity': 0.6})
      : el('circle', {cx: 3, cy: 3, r: 1.1, fill: '#000', 'fill-opacity': 0.7}));
    defs.appendChild(pattern);
  });
  svg.appendChild(defs);
  document.body.appendChild(svg);
})();
{% endmacro %}
