{#- Find, filter and list (maps/ui.py): search box, type/status filters, "near me", the list view
    beside the map, panels that collapse to buttons, the print footer. Our own small template
    rather than folium's Search / TagFilterButton / LocateControl: Leaflet.Search indexes one
    layer and has no ARIA combobox or accent-insensitive matching, TagFilterButton is a modal
    without fieldsets and fights markercluster, and Leaflet's own map.locate() is all "near me"
    needs; this file reads the data the layers already carry and adds nothing to download.
    Text comes from this.messages (translated in Python). -#}
{% macro script(this, kwargs) %}
(function () {
  /* Several languages in one page (ui.embed_languages): each text per language; the tools
     speak the language the page opened in (switching it later relabels the map, not them). */
  var multilingual = {{ this.multilingual|tojson }};
  var opened = multilingual ? aid_i18n.lang() : null;
  function inLanguage(value) { return multilingual ? value[opened] : value; }
  var map = {{ this.map.get_name() }}, M = inLanguage({{ this.messages|tojson }});
  var classes = inLanguage({{ this.classes|tojson }}), lang = inLanguage({{ this.language|tojson }});
  var notesPrefix = inLanguage({{ this.notes_prefix|tojson }});
  var classLayer = {{ this.class_layer.get_name() }};
  var layers = [{% for a in this.asset_layers %}{group: {{ a.layer.get_name() }},
    label: inLanguage({{ a.label|tojson }}), closed: {{ a.closed|tojson }}},{% endfor %}];
  var container = map.getContainer(), scratch = document.createElement('template');
  var collator = new Intl.Collator(lang, {sensitivity: 'base', numeric: true});
  var compact = window.matchMedia('(max-width: 640px)').matches;
  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function fold(s) {
    return String(s).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }
  function parse(html) { scratch.innerHTML = html; return scratch.content; }
  if (!document.documentElement.lang) { document.documentElement.lang = lang; }
  container.setAttribute('role', 'region');
  container.setAttribute('aria-label', M.map_label);
  var live = el('div', {'class': 'aid-sr', role: 'status', 'aria-live': 'polite'});
  document.body.appendChild(live);
  function say(text) { live.textContent = ''; setTimeout(function () { live.textContent = text; }, 50); }

  /* ------------------------------------------------------------------ the data, shared */
  var tractLayers = classLayer.getLayers(), tractCache = [];
  /* A map in another language, or several, packs its popups and tooltips (webmap.embed_languages):
     they are read from aid_i18n in the shown language instead of the layers' data. */
  function packed(kind, i, j) { return typeof aid_i18n === 'undefined' ? '' : aid_i18n.text(kind, i, j); }
  function tractPopup(p) { return p.p !== undefined ? p.p : packed('p', p.i); }
  function assetText(l, i, column, kind) {
    var t = l.group.aidTexts;
    return t === null || t === undefined ? l.group.aidData[i][column] : packed(kind, t, i);
  }
  function assetName(a) { return aid_text(assetText(layers[a.li], a.i, 3, 'at')); }
  function tract(i) {
    if (i < 0 || i >= aid_tracts.features.length) { return null; }
    if (!tractCache[i]) {
      var p = aid_tracts.features[i].properties, doc = parse(tractPopup(p));
      var b = doc.querySelector('b'), why = doc.querySelector('i');
      tractCache[i] = {heading: b ? b.textContent : '', c: p.c,
                       why: why ? why.textContent : ''};
    }
    return tractCache[i];
  }
  var assets = [], statuses = {};
  layers.forEach(function (l, li) {
    var d = l.group.aidData, x = l.group.aidExtras;
    for (var i = 0; i < d.length; i++) {
      var s = l.closed ? 'c' : (x.s ? x.s.charAt(i) : '');
      if (s) { statuses[s] = true; }
      assets.push({li: li, i: i, type: l.label, status: s,
                   tract: x.t.length ? x.t[i] : -1});
    }
  });
  function notes(a) {
    var lines = assetText(layers[a.li], a.i, 2, 'a').split('<br>');
    for (var k = 1; k < lines.length; k++) {
      if (notesPrefix && lines[k].indexOf(notesPrefix) === 0) {
        return parse(lines[k].slice(notesPrefix.length)).textContent;
      }
    }
    return '';
  }

  /* ------------------------------------------------------------------ showing on the map */
  var focusPopup = false;
  map.on('popupopen', function (e) {
    if (!focusPopup) { return; }
    focusPopup = false;
    var content = e.popup.getElement().querySelector('.leaflet-popup-content');
    content.setAttribute('tabindex', '-1');
    content.focus({preventScroll: true});
  });
  function showAsset(a) {
    var l = layers[a.li], m = l.group.aidMarkers[a.i];
    if (!map.hasLayer(l.group)) { map.addLayer(l.group); }
    if (a.status && statusBoxes[a.status] && !statusBoxes[a.status].checked) {
      statusBoxes[a.status].checked = true;
      applyFilters();
    }
    focusPopup = true;
    l.group.zoomToShowLayer(m, function () { m.openPopup(); });
  }
  function showTract(i) {
    var layer = tractLayers[i];
    if (!layer) { return; }
    if (!map.hasLayer(classLayer)) { map.addLayer(classLayer); }
    map.fitBounds(layer.getBounds(), {maxZoom: 15, animate: false});
    focusPopup = true;
    layer.openPopup();
  }
  function showType(li) {
    var g = layers[li].group;
    if (!map.hasLayer(g)) { map.addLayer(g); }
    if (g.getLayers().length) { map.fitBounds(g.getBounds(), {maxZoom: 15}); }
    say(layers[li].label);
  }

  /* ------------------------------------------------------------------ the toolbar control */
  var bar = L.control({position: 'topright'}), box = L.DomUtil.create('div', 'aid-tools');
  bar.onAdd = function () {
    L.DomEvent.disableClickPropagation(box);
    L.DomEvent.disableScrollPropagation(box);
    return box;
  };
  bar.addTo(map);

  /* Search: an ARIA 1.2 combobox over assets, asset types and tracts, accent-insensitive. */
  var search = el('div', {'class': 'aid-panel aid-search', role: 'search'});
  var label = el('label', {'for': 'aid-q', 'class': 'aid-sr'}, M.search_label);
  var input = el('input', {id: 'aid-q', type: 'search', role: 'combobox', autocomplete: 'off',
                           'aria-autocomplete': 'list', 'aria-expanded': 'false',
                           'aria-controls': 'aid-results', placeholder: M.search_placeholder});
  var list = el('ul', {id: 'aid-results', role: 'listbox', 'aria-label': M.search});
  list.hidden = true;
  search.appendChild(label); search.appendChild(input); search.appendChild(list);
  box.appendChild(search);
  var index = null, found = [], active = -1;
  if (typeof aid_i18n !== 'undefined') {
    aid_i18n.on(function () { tractCache = []; index = null; });  // names in the new language
  }
  function buildIndex() {
    index = [];
    layers.forEach(function (l, li) {
      if (!l.closed) { index.push({kind: 'type', li: li, label: l.label, sub: M.col_type}); }
    });
    assets.forEach(function (a) {
      var t = tract(a.tract);
      index.push({kind: 'asset', a: a, label: assetName(a), sub: a.type + (t ? ' · ' + t.heading : '')});
    });
    aid_tracts.features.forEach(function (f, i) {
      index.push({kind: 'tract', i: i, label: tract(i).heading, sub: classes[f.properties.c].label});
    });
    index.forEach(function (item) {
      item.key = fold(item.label);
      item.all = item.key + ' ' + fold(item.sub);
    });
  }
  function close() {
    list.hidden = true; active = -1;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
  }
  function mark(k) {
    var options = list.children;
    for (var j = 0; j < options.length; j++) {
      options[j].setAttribute('aria-selected', j === k ? 'true' : 'false');
    }
    active = k;
    if (k >= 0 && options[k]) {
      input.setAttribute('aria-activedescendant', options[k].id);
      options[k].scrollIntoView({block: 'nearest'});
    }
  }
  function query() {
    if (!index) { buildIndex(); }
    var words = fold(input.value).trim().split(/\s+/).filter(Boolean);
    list.innerHTML = '';
    if (!words.length) { close(); return; }
    var q = words.join(' ');
    found = index.filter(function (item) {
      return words.every(function (w) { return item.all.indexOf(w) >= 0; });
    }).map(function (item) {
      var rank = item.key.indexOf(q) === 0 ? 0 : (item.key.indexOf(' ' + q) >= 0 ? 1 : 2);
      return {item: item, rank: rank + (item.kind === 'type' ? -1 : 0)};
    }).sort(function (x, y) {
      return x.rank - y.rank || collator.compare(x.item.label, y.item.label);
    }).slice(0, 8).map(function (r) { return r.item; });
    found.forEach(function (item, k) {
      var li = el('li', {id: 'aid-opt-' + k, role: 'option', 'aria-selected': 'false'});
      li.appendChild(el('span', {'class': 'aid-opt-label'}, item.label));
      li.appendChild(el('span', {'class': 'aid-opt-sub'}, item.sub));
      li.addEventListener('mousedown', function (e) { e.preventDefault(); });
      li.addEventListener('click', function () { pick(k); });
      list.appendChild(li);
    });
    if (!found.length) { list.appendChild(el('li', {'class': 'aid-none', role: 'option',
                                                    'aria-disabled': 'true'}, M.no_results)); }
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    active = -1;
    say(found.length ? fmt(M.results, {n: found.length}) : M.no_results);
  }
  function pick(k) {
    var item = found[k];
    if (!item) { return; }
    close();
    input.value = item.label;
    if (item.kind === 'asset') { showAsset(item.a); }
    else if (item.kind === 'tract') { showTract(item.i); }
    else { showType(item.li); }
  }
  input.addEventListener('input', query);
  input.addEventListener('keydown', function (e) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (list.hidden) { query(); }
      if (!found.length) { return; }
      var n = found.length;
      mark(e.key === 'ArrowDown' ? (active + 1) % n : (active <= 0 ? n - 1 : active - 1));
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (list.hidden) { query(); }
      pick(active >= 0 ? active : 0);
    } else if (e.key === 'Escape') {
      if (!list.hidden) { close(); } else { input.value = ''; }
    }
  });
  input.addEventListener('blur', function () { setTimeout(close, 150); });

  /* Buttons: each shows and hides one panel (on a phone the panels start collapsed). */
  var buttons = el('div', {'class': 'aid-buttons'});
  box.appendChild(buttons);
  var toggles = [];
  function toggle(name, panel, startOpen) {
    var button = el('button', {type: 'button', 'class': 'aid-button',
                               'aria-controls': panel.id}, M[name]);
    buttons.appendChild(button);
    function set(open) {
      panel.classList.toggle('aid-collapsed', !open);
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (typeof aid_fit === 'function') { aid_fit(); }
    }
    button.addEventListener('click', function () {
      var open = panel.classList.contains('aid-collapsed');
      if (open && compact) { toggles.forEach(function (t) { if (t.panel !== panel) { t.set(false); } }); }
      set(open);
    });
    set(startOpen);
    toggles.push({panel: panel, set: set});
    return button;
  }

  /* Filters: asset types (their layers) and inventory status (markers in the groups). */
  var filter = el('div', {id: 'aid-filter', 'class': 'aid-panel aid-filter'});
  box.appendChild(filter);
  var types = el('fieldset'), statusBoxes = {};
  types.appendChild(el('legend', {}, M.filter_types));
  filter.appendChild(types);
  layers.forEach(function (l, li) {
    if (l.closed) { return; }
    var id = 'aid-type-' + li, row = el('div', {'class': 'aid-check'});
    var check = el('input', {type: 'checkbox', id: id});
    check.checked = map.hasLayer(l.group);
    check.addEventListener('change', function () {
      if (check.checked) { map.addLayer(l.group); } else { map.removeLayer(l.group); }
    });
    l.group.on('add remove', function () { check.checked = map.hasLayer(l.group); count(); });
    row.appendChild(check);
    row.appendChild(el('label', {'for': id}, l.label + ' (' + l.group.aidData.length + ')'));
    types.appendChild(row);
  });
  if (statuses.s || statuses.c) {
    var byStatus = el('fieldset');
    byStatus.appendChild(el('legend', {}, M.filter_status));
    [['a', M.status_a], ['s', M.status_s], ['c', M.status_c]].forEach(function (s) {
      if (s[0] !== 'a' && !statuses[s[0]]) { return; }
      var id = 'aid-status-' + s[0], row = el('div', {'class': 'aid-check'});
      var check = el('input', {type: 'checkbox', id: id});
      statusBoxes[s[0]] = check;
      if (s[0] === 'c') {
        var closed = layers.filter(function (l) { return l.closed; })[0];
        check.checked = closed ? map.hasLayer(closed.group) : false;
        check.addEventListener('change', function () {
          if (!closed) { return; }
          if (check.checked) { map.addLayer(closed.group); } else { map.removeLayer(closed.group); }
        });
        if (closed) { closed.group.on('add remove', function () { check.checked = map.hasLayer(closed.group); count(); }); }
      } else {
        check.checked = true;
        check.addEventListener('change', applyFilters);
      }
      row.appendChild(check);
      row.appendChild(el('label', {'for': id}, s[1]));
      byStatus.appendChild(row);
    });
    filter.appendChild(byStatus);
  }
  function applyFilters() {
    layers.forEach(function (l) {
      if (l.closed || !l.group.aidExtras.s) { return; }
      var s = l.group.aidExtras.s, keep = [];
      l.group.aidMarkers.forEach(function (m, i) {
        var box = statusBoxes[s.charAt(i)];
        if (!box || box.checked) { keep.push(m); }
      });
      l.group.clearLayers();
      l.group.addLayers(keep);
    });
    count();
  }
  var counter = el('p', {'class': 'aid-count', role: 'status'});
  function count() {
    var shown = 0;
    layers.forEach(function (l) { if (map.hasLayer(l.group)) { shown += l.group.getLayers().length; } });
    counter.textContent = fmt(M.showing, {n: shown, total: assets.length});
  }
  var near = el('button', {type: 'button', 'class': 'aid-button aid-near'}, M.near_me);
  filter.appendChild(near);
  filter.appendChild(counter);
  count();

  /* Near me: the browser's geolocation, only when the reader allows it. */
  var here = null;
  near.addEventListener('click', function () {
    say(M.locating);
    map.locate({setView: true, maxZoom: 15, timeout: 10000});
  });
  map.on('locationfound', function (e) {
    if (here) { map.removeLayer(here); }
    here = L.circle(e.latlng, {radius: e.accuracy, color: '#0b5cad', weight: 2,
                               fillOpacity: 0.1}).bindTooltip(M.you_are_here).addTo(map);
    var best = null, bestD = Infinity;
    assets.forEach(function (a) {
      if (a.status === 'c') { return; }
      var d = layers[a.li].group.aidData[a.i];
      var metres = e.latlng.distanceTo([d[0], d[1]]);
      if (metres < bestD) { best = a; bestD = metres; }
    });
    var m = Math.round(e.accuracy);
    say(best ? fmt(M.located, {m: m, name: assetName(best),
                               d: bestD >= 1000 ? (bestD / 1000).toFixed(1) + ' km' : Math.round(bestD) + ' m'})
             : fmt(M.located_none, {m: m}));
  });
  map.on('locationerror', function () { say(M.no_location); });

  /* ------------------------------------------------------------------ the list view */
  var view = el('section', {id: 'aid-list', 'class': 'aid-list', role: 'region',
                            'aria-labelledby': 'aid-list-title'});
  view.hidden = true;
  var head = el('div', {'class': 'aid-list-head'});
  var title = el('h2', {id: 'aid-list-title', tabindex: '-1'}, M.list_title);
  var shut = el('button', {type: 'button', 'class': 'aid-button', 'aria-label': M.close_list}, M.close);
  head.appendChild(title); head.appendChild(shut); view.appendChild(head);
  document.body.appendChild(view);
  var listButton = null, built = false;
  function table(caption, columns, rows, showRow) {
    var t = el('table', {'class': 'aid-table'}), thead = el('thead'), tr = el('tr');
    var body = el('tbody'), state = {col: 0, dir: 1};
    t.appendChild(el('caption', {}, caption));
    columns.forEach(function (c, k) {
      var th = el('th', {scope: 'col'});
      var b = el('button', {type: 'button', 'class': 'aid-sort', title: fmt(M.sort_by, {column: c})}, c);
      b.addEventListener('click', function () {
        state.dir = state.col === k ? -state.dir : 1;
        state.col = k;
        sort();
        say(fmt(M.sorted, {column: c, order: state.dir > 0 ? M.ascending : M.descending}));
      });
      th.appendChild(b); tr.appendChild(th);
    });
    thead.appendChild(tr); t.appendChild(thead); t.appendChild(body);
    rows.forEach(function (r, n) {
      var row = el('tr'), th = el('th', {scope: 'row'});
      var b = el('button', {type: 'button', 'class': 'aid-link'}, r.cells[0]);
      b.addEventListener('click', function () { if (compact) { hide(false); } showRow(r); });
      th.appendChild(b); row.appendChild(th);
      r.cells.slice(1).forEach(function (text, k) {
        var td = el('td');
        if (r.swatch && k === 0) {
          td.appendChild(el('span', {'class': 'aid-swatch', 'aria-hidden': 'true',
                                     style: 'background:' + r.swatch}));
        }
        td.appendChild(document.createTextNode(text));
        row.appendChild(td);
      });
      r.tr = row;
    });
    function sort() {
      var sorted = rows.slice().sort(function (x, y) {
        return state.dir * collator.compare(x.cells[state.col], y.cells[state.col]);
      });
      var ths = tr.children;
      for (var k = 0; k < ths.length; k++) {
        if (k === state.col) { ths[k].setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending'); }
        else { ths[k].removeAttribute('aria-sort'); }
      }
      var frag = document.createDocumentFragment();
      sorted.forEach(function (r) { frag.appendChild(r.tr); });
      body.appendChild(frag);
    }
    sort();
    return t;
  }
  function build() {
    built = true;
    var withStatus = !!(statuses.s || statuses.c);
    var names = {a: M.status_a, s: M.status_s, c: M.status_c};
    var columns = [M.col_name, M.col_type, M.col_tract];
    if (withStatus) { columns.push(M.col_status); }
    columns.push(M.col_notes);
    view.appendChild(table(M.assets_caption, columns, assets.map(function (a) {
      var t = tract(a.tract), cells = [assetName(a), a.type, t ? t.heading : M.outside];
      if (withStatus) { cells.push(names[a.status] || names.a); }
      cells.push(notes(a));
      return {cells: cells, a: a};
    }), function (r) { showAsset(r.a); }));
    view.appendChild(table(M.tracts_caption, [M.col_tract, M.col_class, M.col_why],
      aid_tracts.features.map(function (f, i) {
        var t = tract(i);
        return {cells: [t.heading, classes[t.c].label, t.why], swatch: classes[t.c].swatch, i: i};
      }), function (r) { showTract(r.i); }));
  }
  function show() {
    if (!built) { build(); }
    view.hidden = false;
    document.body.classList.add('aid-list-open');
    listButton.setAttribute('aria-expanded', 'true');
    map.invalidateSize();
    title.focus();
  }
  function hide(refocus) {
    view.hidden = true;
    document.body.classList.remove('aid-list-open');
    listButton.setAttribute('aria-expanded', 'false');
    map.invalidateSize();
    if (refocus) { listButton.focus(); }
  }
  shut.addEventListener('click', function () { hide(true); });
  view.addEventListener('keydown', function (e) { if (e.key === 'Escape') { hide(true); } });

  /* The panels' buttons, once every control is on the page (the layer control comes last). */
  setTimeout(function () {
    var panels = [['filter', filter, false],
                  ['layers', document.querySelector('.leaflet-control-layers'), !compact],
                  ['legend', aid_legends, !compact],
                  ['about', document.querySelector('.aid-title'), !compact]];
    panels.forEach(function (p) {
      if (!p[1]) { return; }
      if (!p[1].id) { p[1].id = 'aid-panel-' + p[0]; }
      toggle(p[0], p[1], p[2]);
    });
    /* Scrollable panels take keyboard focus (to scroll them) and say what they are. */
    [[aid_legends, M.legend], [document.querySelector('.aid-about'), M.about]].forEach(function (p) {
      if (!p[0]) { return; }
      p[0].setAttribute('tabindex', '0');
      p[0].setAttribute('role', 'region');
      p[0].setAttribute('aria-label', p[1]);
    });
    listButton = el('button', {type: 'button', 'class': 'aid-button', 'aria-controls': 'aid-list',
                               'aria-expanded': 'false'}, M.list);
    listButton.addEventListener('click', function () { if (view.hidden) { show(); } else { hide(true); } });
    buttons.appendChild(listButton);
    if (compact) { container.classList.add('aid-compact'); }
    if (typeof aid_fit === 'function') { aid_fit(); }
  }, 0);

  /* Print: a footer with the sources under the map; panels as the stylesheet says. */
  var footer = el('div', {'class': 'aid-print-footer'});
  var sources = inLanguage({{ this.sources|tojson }});
  footer.innerHTML = (sources ? sources + ' · ' : '') + M.printed.replace(/</g, '&lt;');
  document.body.appendChild(footer);
  window.addEventListener('beforeprint', function () { map.invalidateSize(); });
  window.addEventListener('afterprint', function () { map.invalidateSize(); });
})();
{% endmacro %}
