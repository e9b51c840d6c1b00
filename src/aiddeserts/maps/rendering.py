"""Escaping, and the package files the map is made of: Jinja templates, static CSS, Leaflet.

Two template environments, both reading ``maps/templates/`` with :mod:`importlib.resources`:

* :func:`js_template`: JavaScript macros (no HTML escaping: the values they take are the map's
  own code, and data goes in through ``tojson``, which escapes ``<``, ``>``, ``&`` and ``'``, so
  no text can close a ``<script>`` element). ``tojson`` keeps non-ASCII text as is and writes
  compact JSON with sorted keys.
* :func:`html_macros`: HTML macros with autoescaping. Every ``{{ value }}`` goes through
  :func:`esc` (unless it is markup built by another macro), so the page escapes exactly as
  :func:`esc` does, and a template cannot forget to. Line breaks and the indentation after
  them are template layout, not output: a template is written one element per line and renders
  on one line, as the page always had it (user text is untouched: only the template's own source
  is joined). Prose that breaks across lines writes the space at the break as ``{{ " " }}``.
  Text a reader sees is in ``{% trans %}`` blocks (Jinja's i18n extension, with the current
  language of :mod:`aiddeserts.i18n`); a value inside one is given as ``name=value|escaped``.
"""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FunctionLoader, StrictUndefined, Template
from jinja2.ext import Extension
from markupsafe import Markup

from aiddeserts import i18n

LEAFLET_CDN = {
    "js": ["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js",
           "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/leaflet.markercluster.js"],
    "css": ["https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css",
            "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/MarkerCluster.css",
            "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.4.1/dist/MarkerCluster.Default.css"],
}
_PACKAGE = "aiddeserts.maps"


def esc(value: Any) -> str:
    """HTML-escape any user-provided value for a popup, tooltip or legend (None, NaN: "")."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if value is pd.NA:
        return ""
    return html.escape(str(value), quote=True)


def safe_url(url: Any) -> str:
    """The URL if it is http(s) (so a link cannot run script), else ""."""
    text = str(url or "").strip()
    return text if re.match(r"https?://", text, re.IGNORECASE) else ""


def package_text(folder: str, name: str) -> str:
    """The text of a file shipped in ``aiddeserts/maps/<folder>/``."""
    return resources.files(_PACKAGE).joinpath(folder, name).read_text(encoding="utf-8")


def static_text(name: str) -> str:
    """A file of ``maps/static/``, put on the page as it is."""
    return package_text("static", name)


class _JoinLines(Extension):
    """Removes each line break of a template's source and the indentation after it."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"\r?\n[ \t]*", "", source)


def _escape_as_esc(value: Any) -> Markup:
    """`finalize` of the HTML templates: a value is escaped by :func:`esc` (markup is kept)."""
    return value if isinstance(value, Markup) else Markup(esc(value))


def _loader() -> FunctionLoader:
    return FunctionLoader(lambda name: package_text("templates", name))


_JS = Environment(loader=_loader(), undefined=StrictUndefined)
_JS.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False,
                                     "separators": (",", ":")}
_HTML = Environment(loader=_loader(), undefined=StrictUndefined, autoescape=True,
                    finalize=_escape_as_esc, extensions=[_JoinLines, "jinja2.ext.i18n"])
_HTML.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
_HTML.filters["escaped"] = _escape_as_esc


def js_template(name: str) -> Template:
    """A template of ``maps/templates/`` holding a ``script`` macro (see :mod:`.elements`)."""
    return _JS.get_template(name)


def html_macros(name: str) -> Any:
    """The macros of an HTML template of ``maps/templates/`` (each returns escaped markup)."""
    return _HTML.get_template(name).module


@cache
def leaflet_inline() -> tuple[str, str]:
    """Leaflet + Leaflet.markercluster JS and CSS from the installed XStatic packages."""
    import xstatic.pkg.leaflet as xleaflet
    import xstatic.pkg.leaflet_markercluster as xcluster

    base, cluster = Path(xleaflet.BASE_DIR), Path(xcluster.BASE_DIR)
    js = "\n".join(re.sub(r"//# sourceMappingURL=\S+", "", p.read_text(encoding="utf-8"))
                   for p in (base / "leaflet.js", cluster / "leaflet.markercluster.js"))
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    css += "\n" + (cluster / "MarkerCluster.css").read_text(encoding="utf-8")
    css += "\n" + (cluster / "MarkerCluster.Default.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise RuntimeError("bundled Leaflet text would close its HTML element")
    return js, css
