"""How a multilingual map packs its per-language texts (gzipped JSON in base64), and how to
read them back: kept apart from :mod:`aiddeserts.maps.webmap` so the privacy audit reads a
page's packed texts without importing folium."""

from __future__ import annotations

import base64
import gzip
import json
import re
from typing import Any


def gzip_base64(data: Any) -> str:
    """`data` as compact JSON, gzipped (no timestamp: same bytes every run), in base64."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return base64.b64encode(gzip.compress(raw.encode("utf-8"), compresslevel=9, mtime=0)
                            ).decode("ascii")


_PACKED = re.compile(r"var aid_i18n = \(function \(\) \{\s*var cfg = (\{.*?\});\n", re.S)


def unpacked_texts(page: str) -> str:
    """The packed per-language texts of a map page (:func:`embed_languages`) as plain JSON
    text, one language per line ("" for a page without them): what the privacy audit reads."""
    found = _PACKED.search(page)
    if not found:
        return ""
    texts = json.loads(found.group(1)).get("texts", {})
    return "\n".join(gzip.decompress(base64.b64decode(texts[lang])).decode("utf-8")
                     for lang in sorted(texts))
