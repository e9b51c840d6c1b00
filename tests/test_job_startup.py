"""What a pipeline job pays before and beside its work (issue 20): imports it does not need,
and renders of the static figure nobody saves."""

from __future__ import annotations

import subprocess
import sys

import matplotlib.pyplot as plt
from conftest import REPO
from matplotlib.backends.backend_agg import FigureCanvasAgg
from test_webmap import CLASSIFICATION, tiny_inputs

from aiddeserts.maps import figure, legends


def test_static_figure_is_rendered_once_per_saved_format(tmp_path, monkeypatch):
    """geopandas' plot() asks the canvas to redraw after each class layer; on a pyplot figure
    that is a full Agg render per layer. The figure lives outside pyplot, so only savefig
    renders: one Agg draw for the PNG (the PDF has its own renderer)."""
    draws = []
    original = FigureCanvasAgg.draw

    def counted(self, *args, **kwargs):
        draws.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(FigureCanvasAgg, "draw", counted)
    before = set(plt.get_fignums())
    tracts, *_ = tiny_inputs()
    assert tracts["desert_class"].nunique() >= 4  # several layers, each a plot() call
    fig = figure.classification_figure(tracts, title="Tiny", sources=["List"], credit="",
                                       definitions=legends.definitions_for(CLASSIFICATION))
    assert draws == []
    assert set(plt.get_fignums()) == before  # no pyplot figure left open
    figure.save_figure(fig, tmp_path / "a.png", tmp_path / "a.pdf")
    assert len(draws) == 1
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"


def test_json_and_manifest_helpers_load_no_geospatial_stack():
    """The manifest job and every JSON/CSV writer import aiddeserts.io.files; geopandas,
    pyogrio, rasterio and pandas (≈0.3 s of CPU per job) load only where a function uses them."""
    code = ("import sys\nimport aiddeserts.io.files, aiddeserts.manifest, aiddeserts.logs\n"
            "print(' '.join(sorted(m for m in ('geopandas', 'pyogrio', 'rasterio', 'pandas',"
            " 'pyproj') if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.strip()
    assert out == ""
