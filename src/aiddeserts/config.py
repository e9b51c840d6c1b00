"""Load and validate the configuration against its JSON schema, and resolve per-region settings."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from aiddeserts.errors import InputError

#: Files published under outputs/<region>/ (a public contract: extend, never rename).
PRODUCTS = ("density.tif", "tracts.gpkg", "map.html", "summary.json", "rejects.csv", "map.png",
            "map.pdf", "manifest.json")
SECTIONS = ("density", "classification", "survey_rules", "privacy")


@cache
def load_schema() -> dict[str, Any]:
    """The configuration schema shipped with the package."""
    text = resources.files("aiddeserts").joinpath("schemas/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _extend_with_default(validator_class: type) -> type:
    """A validator that fills in each property's `default` (the jsonschema FAQ recipe)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001, ANN202
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _extend_with_default(jsonschema.Draft202012Validator)


def _error_message(error: jsonschema.ValidationError, source: str) -> str:
    key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    message = error.message
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        message = f"{error.instance!r} is not allowed; allowed values: {allowed}"
    elif error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        message += f"; allowed keys here: {', '.join(allowed)}"
    elif error.validator == "oneOf" and error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        return _error_message(deepest, source)
    return f"{source}: config key '{key}': {message}"


def validate_config(config: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate `config` against the schema and return a copy with defaults filled in.

    Raises :class:`InputError` naming the key and, for choices, the allowed values.
    """
    raw = copy.deepcopy(dict(config))
    filled = copy.deepcopy(raw)
    validator = _DefaultFillingValidator(load_schema())
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise InputError(
            _error_message(best, source),
            fix="correct the key as described (see config/README.md for every key).",
        )
    filled["_raw"] = raw
    return filled


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it."""
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found.", path=path, fix="check the path.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({exc}).", path=path, fix="fix the YAML syntax.") from exc
    if not isinstance(data, dict):
        raise InputError("the config must be a mapping with a 'regions' key.", path=path)
    return validate_config(data, source=str(path))


def _section_defaults(section: str) -> dict[str, Any]:
    props = load_schema()["$defs"][section]["properties"]
    return {key: copy.deepcopy(spec["default"]) for key, spec in props.items() if "default" in spec}


def region_settings(config: Mapping[str, Any], region: str, section: str) -> dict[str, Any]:
    """Settings of one stage for one region: schema defaults < top-level section < region's own."""
    if section not in SECTIONS:
        raise KeyError(section)
    raw = config.get("_raw", config)
    settings = _section_defaults(section)
    settings.update(raw.get(section) or {})
    settings.update(raw["regions"][region].get(section) or {})
    return settings


def asset_sources(region_config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The region's asset sources as a list (the config allows one source or a list)."""
    assets = region_config["assets"]
    return [dict(a) for a in (assets if isinstance(assets, list) else [assets])]


def need_variables(tracts_config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Need variables as dicts with `column`, `higher_is_worse` and optional `moe`."""
    out = []
    for item in tracts_config["need"]:
        spec = {"column": item} if isinstance(item, str) else dict(item)
        spec.setdefault("higher_is_worse", True)
        out.append(spec)
    return out
