"""Load and validate the configuration against its JSON schema, and resolve per-region settings."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from aiddeserts.errors import InputError
from aiddeserts.i18n import check_languages

#: Files published under outputs/<region>/ (a public contract: extend, never rename).
PRODUCTS = ("density.tif", "tracts.gpkg", "map.html", "summary.json", "rejects.csv", "map.png",
            "map.pdf", "datawalk.pdf", "assets.csv", "tract_classes.csv", "changes.csv",
            "hsds/datapackage.json", "hsds/organizations.csv", "hsds/services.csv",
            "hsds/locations.csv", "hsds/service_at_location.csv", "manifest.json")
#: Staged files the privacy audit examines: the products and the consented stories.
AUDITED = (*PRODUCTS, "stories.csv")
#: The audit's parts, each started as soon as its files exist (the rest: the part "tables").
#: The inventory's files exist before the classes: their part runs beside the maps.
AUDIT_PARTS = {"map": ("map.html",), "figure": ("map.png", "map.pdf"),
               "datawalk": ("datawalk.pdf",), "manifest": ("manifest.json",),
               "inventory": ("assets.csv", *(p for p in PRODUCTS if p.startswith("hsds/")))}
AUDIT_PARTS["tables"] = tuple(p for p in AUDITED
                              if not any(p in files for files in AUDIT_PARTS.values()))
SECTIONS = ("density", "classification", "survey_rules", "privacy", "map", "inventory", "history")


@cache
def load_schema() -> dict[str, Any]:
    """The configuration schema shipped with the package."""
    text = resources.files("aiddeserts").joinpath("schemas/config.schema.yaml").read_text()
    # libyaml's loader when PyYAML has it (the same values; the pure-Python one takes ~0.1 s of
    # every Snakemake start and every job that validates a configuration).
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506


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
    elif (error.validator == "type" and "boolean" in _as_list(error.validator_value)
          and isinstance(error.instance, str)
          and error.instance.lower() in ("true", "false", "yes", "no", "on", "off")):
        # Snakemake's --config reads only True and False (capitalised) as booleans.
        message += ("; on the command line (--config) write True or False, with a capital "
                    "letter, or set it in a config file")
    elif error.validator == "oneOf" and error.context:
        deepest = max(error.context, key=lambda e: len(e.absolute_path))
        return _error_message(deepest, source)
    return f"{source}: config key '{key}': {message}"


def validate_config(config: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
    """Validate `config` against the schema and return it resolved, defaults filled in.

    Every default comes from the schema, once: each region ends up with complete `density`,
    `classification`, `survey_rules`, `privacy` and `map` sections (schema default < top-level
    section < the region's own keys), asset sources as a list and need variables as mappings,
    so the code reads validated config and never repeats a default. Raises
    :class:`InputError` naming the key and, for choices, the allowed values.
    """
    raw = _dates_as_text(copy.deepcopy(dict(config)))
    _reject_non_finite(raw, source)
    filled = copy.deepcopy(raw)
    validator = _DefaultFillingValidator(load_schema())
    errors = sorted(validator.iter_errors(filled), key=lambda e: list(e.absolute_path))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        raise InputError(
            _error_message(best, source),
            fix="correct the key as described (see config/README.md for every key).",
        )
    for name, region in filled["regions"].items():
        own = raw["regions"][name]
        for section in SECTIONS:
            # The validator filled the region's section with schema defaults, which must not
            # hide the top-level section: only the keys the region wrote override it.
            region[section] = {**filled[section], **(own.get(section) or {})}
        region["assets"] = [dict(a) for a in _as_list(region["assets"])]
        region["corrections"] = [dict(c) for c in _as_list(region.get("corrections") or [])]
        if "need" in region["tracts"]:
            region["tracts"]["need"] = [_need_spec(item) for item in region["tracts"]["need"]]
        check_languages(region["map"], f"{source}: region '{name}'")
        _check_network_download(region.get("network"), f"{source}: region '{name}'", name)
    return filled


#: What a downloaded extract may be saved as (its format is read from the name).
DOWNLOAD_SUFFIXES = ("osm.pbf", "osm", "osm.gz", "osm.bz2")


def _check_network_download(network: Mapping[str, Any] | None, source: str, region: str) -> None:
    """With `network.url`, `network.path` must be where the retrieve_network rule saves it."""
    from aiddeserts import paths

    if not network or not network.get("url"):
        return
    allowed = [paths.for_region(paths.retrieved(f"network.{suffix}"), region)
               for suffix in DOWNLOAD_SUFFIXES]
    if Path(network["path"]).as_posix() not in allowed:
        raise InputError(
            f"{source}: config key 'network.path' is {network['path']!r}, but with 'network.url' "
            f"the extract is downloaded to {allowed[0]!r} (or, for an XML export, "
            f"{allowed[1]!r}).",
            fix=f"set network.path to {allowed[0]} for an .osm.pbf download, {allowed[1]} for "
                ".osm XML (.osm.gz, .osm.bz2 if compressed), or drop network.url and give a "
                "local path.")


def _reject_non_finite(value: Any, source: str, key: str = "") -> None:
    """`.nan` and `.inf` pass JSON-schema bounds (every comparison with NaN is false): refuse
    them here, naming the key."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{source}: config key '{key or '(top level)'}': {value!r} is not a "
                         "finite number.", fix="give a number (see config/README.md).")
    if isinstance(value, dict):
        for name, item in value.items():
            _reject_non_finite(item, source, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_non_finite(item, source, f"{key}.{index}")


def _dates_as_text(config: dict[str, Any]) -> dict[str, Any]:
    """`map.sources[].date` as text: YAML reads an unquoted 2020 as a number, 2020-10-26 as a
    date; both are what the user meant to show."""
    regions = config.get("regions")
    maps = [config.get("map")] + [r.get("map") for r in regions.values()
                                  if isinstance(r, dict)] if isinstance(regions, dict) else []
    for section in maps:
        for source in (section or {}).get("sources") or [] if isinstance(section, dict) else []:
            if isinstance(source, dict) and isinstance(source.get("date"), int | float | date):
                value = source["date"]
                source["date"] = value.isoformat() if isinstance(value, date) else f"{value:g}"
    return config


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _need_spec(item: str | Mapping[str, Any]) -> dict[str, Any]:
    """A need variable as a mapping; a plain column name takes the schema's defaults."""
    if isinstance(item, str):
        item = {"column": item}
    spec = dict(item)
    props = load_schema()["$defs"]["need_variable"]["oneOf"][1]["properties"]
    for key, prop in props.items():
        if "default" in prop:
            spec.setdefault(key, copy.deepcopy(prop["default"]))
    return spec


#: Nodes a config may expand to once YAML aliases are followed (a real config has hundreds).
MAX_CONFIG_NODES = 100_000


def _expanded_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many nodes `node` stands for with every alias expanded (shared nodes counted once
    per use, computed once each, so an alias bomb is measured without being expanded)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = MAX_CONFIG_NODES + 1  # a cycle (a self-referencing alias) counts as too many
    if isinstance(node, yaml.SequenceNode):
        total = 1 + sum(_expanded_nodes(item, memo) for item in node.value)
    elif isinstance(node, yaml.MappingNode):
        total = 1 + sum(_expanded_nodes(k, memo) + _expanded_nodes(v, memo)
                        for k, v in node.value)
    else:
        total = 1
    memo[key] = min(total, MAX_CONFIG_NODES + 1)
    return memo[key]


def read_yaml_config(path: str | Path) -> Any:
    """A YAML config, refusing aliases that expand beyond :data:`MAX_CONFIG_NODES` nodes (an
    "alias bomb" would otherwise grow without bound while being read and validated)."""
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found.", path=path, fix="check the path.")
    if not path.is_file():
        raise InputError("the config path is a directory, not a file.", path=path,
                         fix="give the path of a YAML file.")
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid YAML ({exc}).", path=path, fix="fix the YAML syntax.") from exc
    except OSError as exc:
        raise InputError(f"the config cannot be read ({exc.strerror}).", path=path,
                         fix="check the file's permissions.") from exc
    if node is not None and _expanded_nodes(node, {}) > MAX_CONFIG_NODES:
        raise InputError(f"YAML aliases expand to more than {MAX_CONFIG_NODES:,} values.",
                         path=path, fix="write the values out instead of nesting aliases (&/*).")
    return yaml.safe_load(text)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it."""
    data = read_yaml_config(path)
    if not isinstance(data, dict):
        raise InputError("the config must be a mapping with a 'regions' key.", path=path)
    return validate_config(data, source=str(path))


def schema_defaults(section: str) -> dict[str, Any]:
    """The schema's defaults of one section (what a region gets when it sets none)."""
    props = load_schema()["$defs"][section]["properties"]
    return {key: copy.deepcopy(spec["default"]) for key, spec in props.items() if "default" in spec}


def region_settings(config: Mapping[str, Any], region: str, section: str) -> dict[str, Any]:
    """Settings of one stage for one region, as resolved by :func:`validate_config`."""
    if section not in SECTIONS:
        raise KeyError(section)
    return config["regions"][region][section]


def asset_sources(region_config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The region's asset sources as a list (the config allows one source or a list)."""
    return [dict(a) for a in _as_list(region_config["assets"])]


def need_variables(tracts_config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Need variables as mappings with `column`, `higher_is_worse` and optional `moe`."""
    return [_need_spec(item) for item in tracts_config.get("need") or []]
