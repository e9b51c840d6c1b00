"""The page's own folium/branca elements: text put on the page as it is, scripts rendered from
the JavaScript templates of ``maps/templates/``, and the tract and asset layers."""

from __future__ import annotations

import re
from typing import Any

import branca
import folium

from aiddeserts.maps.rendering import js_template

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Text(branca.element.Element):
    """Text put on the page as it is. branca compiles the text of every element, and the output
    of every macro, as a Jinja template: a `{{ ... }}` in an asset name, note or story would
    then run as template code (and the 1e5-marker array of a metro would be tokenised again).
    This element is never compiled; it renders what Jinja renders for text without template
    syntax (line breaks as ``\\n``, one trailing line break dropped)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        lines = _LINE_BREAK.split(text)
        if lines[-1] == "":
            del lines[-1]
        self.text = "\n".join(lines)

    def render(self, **kwargs: Any) -> str:
        return self.text


class TextMacro(branca.element.MacroElement):
    """A MacroElement whose rendered `header`, `html` and `script` macros go on the page as
    :class:`Text` (branca's own `render` compiles them again as templates)."""

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        macros = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html),
                             ("script", figure.script)):
            if macros.get(part) is not None:
                target.add_child(Text(macros[part](self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class LayerControl(folium.LayerControl, TextMacro):
    """folium's layer control; its layer names (asset types) are not compiled as templates."""


class Script(TextMacro):
    """A script block: the `script` macro of the template `template_name`, with `data` as the
    attributes of ``this`` (data goes into the script through ``tojson``)."""

    def __init__(self, template_name: str, **data: Any) -> None:
        super().__init__()
        self._name = "AidScript"
        self._template = js_template(template_name)
        for key, value in data.items():
            setattr(self, key, value)


class TractLayer(folium.map.Layer, TextMacro):
    """Tracts drawn from the shared GeoJSON (`aid_tracts`) in one of three styles: `filter_js`
    and `style_js` are JavaScript expressions of the feature `f`, `popup_key` the property
    holding the popup."""

    _template = js_template("tract_layer.js")

    def __init__(self, name: str, *, filter_js: str, style_js: str, popup_key: str,
                 tooltip: bool = False, show: bool = True) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "TractLayer"
        self.filter_js, self.style_js = filter_js, style_js
        self.popup_key, self.tooltip = popup_key, tooltip
        self.multilingual = False  # popups and tooltips from aid_i18n (languages.js)


class AssetLayer(folium.map.Layer, TextMacro):
    """Assets of one type: markers built in the browser from a compact array, clustered.
    `extras` (maps/ui.py): per asset its tract position and status letter, for the tools."""

    _template = js_template("asset_layer.js")

    def __init__(self, name: str, data: list[list[Any]], icon_html: str, colour: str,
                 show: bool = True, extras: dict[str, Any] | None = None) -> None:
        from aiddeserts.maps.styles import text_colour

        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "AssetLayer"
        self.data, self.icon_html, self.colour = data, icon_html, colour
        self.text_colour = text_colour(colour)
        self.extras = extras or {"t": [], "s": ""}
        self.texts_index: int | None = None  # popups and tooltips from aid_i18n (languages.js)
