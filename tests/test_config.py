"""Config validation: defaults filled, errors name the key and the allowed values."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aiddeserts.config import load_config, region_settings, validate_config
from aiddeserts.errors import InputError

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"regions": {"r": {"tracts": {"path": "t.gpkg", "id": "GEOID", "population": "pop",
                                        "need": ["poverty"]},
                             "assets": {"path": "a.csv"}}}}


def test_default_config_is_valid_and_documented():
    config = load_config(REPO / "config" / "config.yaml")
    assert "nyc" in config["regions"]
    readme = (REPO / "config" / "README.md").read_text()
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    for section in ("density", "classification", "survey_rules"):
        for key in schema["$defs"][section]["properties"]:
            assert f"`{key}`" in readme, f"{section}.{key} is not documented in config/README.md"


def test_defaults_are_filled_and_region_overrides_win():
    raw = {**MINIMAL, "density": {"bandwidth_m": 500}}
    raw["regions"]["r"]["density"] = {"kernel": "gaussian"}
    config = validate_config(raw)
    assert config["classification"]["need_threshold"] == 0.75
    settings = region_settings(config, "r", "density")
    assert settings == {"kernel": "gaussian", "bandwidth_m": 500, "cell_size_m": 50}


def test_enum_error_lists_allowed_values():
    with pytest.raises(InputError, match=r"density\.kernel.*allowed values: 'quartic'"):
        validate_config({**MINIMAL, "density": {"kernel": "box"}})


def test_missing_required_key_is_named():
    bad = {"regions": {"r": {"assets": {"path": "a.csv"}}}}
    with pytest.raises(InputError, match=r"regions\.r.*'tracts' is a required property"):
        validate_config(bad)


def test_misspelled_key_lists_allowed_keys():
    with pytest.raises(InputError, match=r"bandwith_m.*allowed keys here: bandwidth_m"):
        validate_config({**MINIMAL, "density": {"bandwith_m": 100}})


def test_survey_k_can_not_go_below_five():
    with pytest.raises(InputError, match="survey_rules.min_respondents"):
        validate_config({**MINIMAL, "survey_rules": {"min_respondents": 3}})


def test_a_downloaded_network_must_be_read_where_it_is_saved():
    """network.url saves the extract at data/raw/<region>/retrieved/network.osm.pbf: another
    network.path is refused at validation (naming the key and the path), not a missing input."""
    import copy

    good = copy.deepcopy(MINIMAL)
    good["regions"]["r"]["network"] = {"url": "http://example.invalid/x.osm.pbf",
                                       "path": "data/raw/r/retrieved/network.osm.pbf"}
    assert validate_config(good)["regions"]["r"]["network"]["mode"] == "walk"
    bad = copy.deepcopy(good)
    bad["regions"]["r"]["network"]["path"] = "data/raw/r/city.osm.pbf"
    with pytest.raises(InputError, match=r"network\.path.*data/raw/r/retrieved/network\.osm\.pbf"):
        validate_config(bad)
    xml = copy.deepcopy(good)
    xml["regions"]["r"]["network"]["path"] = "data/raw/r/retrieved/network.osm"
    assert validate_config(xml)["regions"]["r"]["network"]["path"].endswith("network.osm")
    local = copy.deepcopy(bad)
    del local["regions"]["r"]["network"]["url"]
    assert validate_config(local)["regions"]["r"]["network"]["path"] == "data/raw/r/city.osm.pbf"


def test_a_lowercase_boolean_from_the_command_line_says_how_to_write_it():
    """Snakemake's --config turns only True/False into booleans: `warm_start=false` arrives as
    the text 'false', and the error says how to write it."""
    from snakemake.cli import parse_config

    from_command_line = parse_config(["warm_start=false"])
    assert from_command_line == {"warm_start": "false"}
    with pytest.raises(InputError, match=r"'warm_start'.*write True or False") as caught:
        validate_config({**MINIMAL, **from_command_line})
    assert "config/README.md" in caught.value.fix
    assert validate_config({**MINIMAL, **parse_config(["warm_start=False"])})["warm_start"] is False
