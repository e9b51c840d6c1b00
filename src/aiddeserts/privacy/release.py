"""Differentially private release of survey aggregates per tract, with a lifetime budget ledger.

Privacy unit: one respondent (all of their answers); neighbouring surveys differ by adding or
removing one respondent. Every question is released as a histogram per tract over its answer
levels plus "no answer" (each respondent falls in exactly one cell of each question, repeated
`weight` times), all questions in ONE OpenDP measurement: `count_by_categories` over the public
keys tract × question × level, then the discrete Laplace mechanism (`laplace` on integers),
with OpenDP's accountant proving ε-differential privacy (pure DP, `MaxDivergence`) for a
respondent contributing Σ weight rows. The histogram covers every tract at once and each
respondent is in one tract, so ε holds per respondent whatever the number of tracts. Every
published survey number — counts, shares, means, smoothed rates, disparity — is computed from
these noisy counts only (post-processing), and inherits the guarantee.

Reruns: each tract's exact inputs are fingerprinted (keyed BLAKE2b, key stored in the ledger);
unchanged inputs reuse the last released noisy counts (no budget spent, same bytes): all
tracts when none changed (`reuse="region"`), or each unchanged tract (`reuse="tract"`).
Fresh noise comes from OpenDP's OS-backed sampler and is not reproducible, by design: the ledger
is what makes reruns deterministic. docs/privacy.md states the guarantee and its limits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aiddeserts.errors import InputError
from aiddeserts.io.columns import NO, YES

LEDGER_FORMAT = "aiddeserts-survey-ledger/1"
KINDS = ("yes_no", "scale")
THEMES = ("need", "connection", "engagement")
#: Most answer levels a scale question may have (max − min + 1): noise grows with the levels.
MAX_LEVELS = 21
REUSE_SCOPES = ("region", "tract")


class LedgerError(InputError):
    """The privacy ledger is missing, corrupt or older than the published release."""


# ----------------------------------------------------------------------------------- questions
def slugify(text: str) -> str:
    """Lower-case ASCII words joined by underscores ("Knows neighbours?" → "knows_neighbours")."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "question"


@dataclass(frozen=True)
class Question:
    """One survey question released per tract: share answering yes, or mean of a 1..n scale.

    `weight` (a positive integer) is the question's share of ε relative to the others: the
    respondent's cell is counted `weight` times, so its noise is `weight` times smaller.
    """

    column: str
    label: str = ""
    kind: str = "yes_no"
    minimum: int = 0
    maximum: int = 1
    theme: str = "need"
    weight: int = 1
    output: str = ""

    def __post_init__(self) -> None:
        where = f"survey question '{self.column}'"
        if self.kind not in KINDS:
            raise InputError(f"{where}: kind {self.kind!r} is not one of {', '.join(KINDS)}.",
                             fix="use yes_no or scale.")
        if self.theme not in THEMES:
            raise InputError(f"{where}: theme {self.theme!r} is not one of {', '.join(THEMES)}.",
                             fix="use need, connection or engagement.")
        if self.kind == "yes_no" and (self.minimum, self.maximum) != (0, 1):
            raise InputError(f"{where}: a yes_no question has no min/max.",
                             fix="remove min and max, or make it a scale question.")
        if not (float(self.minimum).is_integer() and float(self.maximum).is_integer()
                and self.minimum < self.maximum
                and self.maximum - self.minimum + 1 <= MAX_LEVELS):
            raise InputError(f"{where}: a scale needs whole-number min < max with at most "
                             f"{MAX_LEVELS} levels (got {self.minimum}..{self.maximum}).",
                             fix="use a scale such as 1..5 or 0..10; ask counts in bands.")
        if int(self.weight) != self.weight or self.weight < 1:
            raise InputError(f"{where}: weight must be a whole number ≥ 1.", fix="use 1, 2, …")

    @property
    def name(self) -> str:
        """Published column: `output` when given, else `survey_<slug of column>`."""
        return self.output or f"survey_{slugify(self.column)}"

    @property
    def levels(self) -> int:
        return int(self.maximum - self.minimum + 1)

    @property
    def key(self) -> str:
        """What the released histogram depends on; a change means a fresh release."""
        return f"{self.column}|{self.kind}|{int(self.minimum)}|{int(self.maximum)}|{self.weight}"

    @classmethod
    def from_config(cls, spec: Mapping[str, Any]) -> Question:
        """From a `survey.questions` item: {column, label, kind, min, max, theme, weight}."""
        # Validated config carries kind and theme (schema defaults); absent keys take the
        # dataclass's defaults.
        names = {"kind": "kind", "min": "minimum", "max": "maximum", "theme": "theme",
                 "weight": "weight"}
        given = {attr: spec[key] for key, attr in names.items() if key in spec}
        for attr in ("minimum", "maximum", "weight"):
            if attr in given:
                given[attr] = int(given[attr])
        return cls(column=str(spec["column"]), label=str(spec.get("label") or spec["column"]),
                   **given)


def need_question(column: str = "unmet_need", weight: int = 1) -> Question:
    """`survey.need` as a question, published under its public name `survey_unmet_rate`."""
    return Question(column=column, label="Unmet need", kind="yes_no", theme="need",
                    weight=weight, output="survey_unmet_rate")


def questions_from_config(specs: Sequence[Mapping[str, Any]], need_column: str = "unmet_need"
                          ) -> list[Question]:
    """The need question first, then `survey.questions`. The need question drives the map's
    classification, so by default it gets half of ε (weight = number of other questions)."""
    others = [Question.from_config(s) for s in specs]
    questions = [need_question(need_column, weight=max(1, sum(q.weight for q in others))),
                 *others]
    names = [q.name for q in questions]
    if len(set(names)) < len(names) or len({q.column for q in questions}) < len(questions):
        raise InputError("survey questions repeat a column or a published name.",
                         fix="list every survey column once in survey.questions.")
    return questions


def answer_levels(values: pd.Series, question: Question) -> np.ndarray:
    """Answers as level indices 0..levels−1, `levels` meaning no answer. Yes/no text or booleans
    for yes_no (no = 0, yes = 1); numbers for a scale, clamped to min..max and rounded half up."""
    none = question.levels
    if question.kind == "yes_no":
        if pd.api.types.is_bool_dtype(values.dtype):
            answered = values.notna().to_numpy()
            yes = values.fillna(False).to_numpy(dtype=bool)
            return np.where(answered, yes.astype(np.int64), none)
        text = values.astype("string").str.strip().str.lower()
        return np.select([text.isin(YES).fillna(False).to_numpy(dtype=bool),
                          text.isin(NO).fillna(False).to_numpy(dtype=bool)], [1, 0], none)
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    clamped = np.clip(numbers, question.minimum, question.maximum)
    level = np.floor(clamped - question.minimum + 0.5)
    return np.where(np.isfinite(level), level, none).astype(np.int64)


# --------------------------------------------------------------------------------- the ledger
def _checksum(content: Mapping[str, Any]) -> str:
    body = {k: v for k, v in content.items() if k != "checksum"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def new_ledger(region: str, epsilon_lifetime: float) -> dict[str, Any]:
    """An empty ledger: a random salt for fingerprints and a random id for release names."""
    return {"format": LEDGER_FORMAT, "region": region, "ledger_id": secrets.token_hex(4),
            "salt": secrets.token_hex(16), "epsilon_lifetime": float(epsilon_lifetime),
            "epsilon_spent": 0.0, "releases": [], "tracts": {}}


def write_ledger(ledger: dict[str, Any], path: str | Path) -> None:
    """Key-sorted JSON with its checksum, written atomically (never half a ledger)."""
    from aiddeserts.io.files import write_json

    ledger["checksum"] = _checksum(ledger)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    write_json(ledger, path)


def _recovery_fix(path: Path, region: str, published: Mapping[str, Any] | None) -> str:
    spent = published.get("epsilon_spent") if published else None
    release_id = published.get("release_id") if published else None
    return (f"restore {path} from a backup. If it is lost for good, run `python -m "
            f"aiddeserts.privacy.release recover --ledger {path} --region {region} "
            f"--epsilon-spent {f'{spent:g}' if spent is not None else '<epsilon_spent>'} "
            f"--release-id {release_id or '<release_id>'}` with the values of "
            f"outputs/{region}/summary.json (privacy.survey_release): it carries the spent "
            f"budget over, and the next run releases every tract afresh, spending ε again.")


def load_ledger(path: str | Path, region: str, published: Mapping[str, Any] | None = None
                ) -> dict[str, Any]:
    """The region's ledger, or a new one when there is none and nothing was published before.

    `published` is the previous release's marker kept in outputs/<region>/summary.json
    (`{"release_id": ..., "epsilon_spent": ...}`). A missing ledger while the marker says budget
    was spent, a corrupt ledger, or a ledger older than the marker raises :class:`LedgerError`:
    starting afresh would silently reset the lifetime budget.
    """
    path = Path(path)
    spent = float(published.get("epsilon_spent") or 0.0) if published else 0.0
    if not path.exists():
        if spent > 0:
            raise LedgerError(
                f"the privacy ledger is missing, but the published release "
                f"{published.get('release_id')!r} already spent ε = {spent:g}; a new ledger "
                f"would reset the lifetime budget.", path=path,
                fix=_recovery_fix(path, region, published))
        return new_ledger(region, 0.0)
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
        valid = (isinstance(ledger, dict) and ledger.get("format") == LEDGER_FORMAT
                 and ledger.get("checksum") == _checksum(ledger))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        valid = False
    if not valid:
        raise LedgerError("the privacy ledger is corrupt (unreadable, edited or truncated); "
                          "its spent budget cannot be trusted.", path=path,
                          fix=_recovery_fix(path, region, published))
    if ledger["region"] != region:
        raise LedgerError(f"the privacy ledger belongs to region {ledger['region']!r}, not "
                          f"{region!r}.", path=path,
                          fix=f"keep each region's ledger under data/processed/{region}/.")
    known = {r["release_id"] for r in ledger["releases"]}
    marker = published.get("release_id") if published else None
    if ledger["epsilon_spent"] < spent - 1e-9 or (marker and marker not in known):
        raise LedgerError(f"the privacy ledger (ε spent {ledger['epsilon_spent']:g}) is older "
                          f"than the published release {marker!r} (ε spent {spent:g}).",
                          path=path, fix=_recovery_fix(path, region, published))
    return ledger


def recover_ledger(path: str | Path, region: str, epsilon_spent: float,
                   epsilon_lifetime: float | None = None, release_id: str = "recovered"
                   ) -> None:
    """Replace a lost ledger by one that carries `epsilon_spent` over (no tract values: the next
    release is fresh for every tract). Refuses to overwrite a readable ledger."""
    path = Path(path)
    if path.exists():
        try:
            load_ledger(path, region)
        except LedgerError:
            pass
        else:
            raise LedgerError("the privacy ledger is readable; recovery would discard it.",
                              path=path, fix="keep it; nothing to recover.")
    ledger = new_ledger(region, epsilon_lifetime or 0.0)
    ledger["epsilon_spent"] = float(epsilon_spent)
    ledger["releases"].append({"release_id": release_id, "epsilon": float(epsilon_spent),
                               "recovered": True})
    write_ledger(ledger, path)


def _fingerprint(salt: str, seed_material: bytes, keys: Sequence[str], counts: np.ndarray
                 ) -> str:
    digest = hashlib.blake2b(key=bytes.fromhex(salt), digest_size=16)
    digest.update(seed_material)
    digest.update("\x1f".join(keys).encode())
    digest.update(np.ascontiguousarray(counts, dtype="<i8").tobytes())
    return digest.hexdigest()


# -------------------------------------------------------------------------------- the release
@dataclass
class SurveyRelease:
    """The release: `table` (publishable, per tract), `estimates` (unsuppressed noisy estimates
    for post-processing: smoothing, disparity, totals), `record` (for summary.json: the same
    bytes on every rerun with unchanged inputs) and `run` (what this run did; log it)."""

    table: pd.DataFrame
    estimates: pd.DataFrame
    record: dict[str, Any]
    run: dict[str, Any]
    questions: list[Question] = field(default_factory=list)


def _noisy_histogram(codes: np.ndarray, n_cells: int, contributions: int, epsilon: float
                     ) -> tuple[np.ndarray, float]:
    """ε-DP counts of `codes` over the public categories 0..n_cells−1 for a respondent
    contributing at most `contributions` rows: OpenDP `count_by_categories` (1-stable from the
    symmetric distance to L1) chained with `laplace` on integers (the discrete Laplace
    mechanism), pure DP. OpenDP's privacy map checks the chain; returns (counts, scale)."""
    # The modules themselves, not opendp.prelude: the prelude also imports opendp.extras, which
    # loads scikit-learn and scipy.stats when installed (1.4 s of the job's start).
    from opendp import measurements, transformations
    from opendp.domains import atom_domain, vector_domain
    from opendp.metrics import symmetric_distance
    from opendp.mod import binary_search_param, enable_features
    from opendp.typing import i64

    enable_features("contrib")
    space = vector_domain(atom_domain(T=i64)), symmetric_distance()
    histogram = space >> transformations.then_count_by_categories(
        categories=list(range(n_cells)), null_category=False, TOA=i64)
    scale = contributions / epsilon
    measurement = histogram >> measurements.then_laplace(scale)
    if measurement.map(contributions) > epsilon:  # float rounding: OpenDP's exact search
        scale = binary_search_param(lambda s: histogram >> measurements.then_laplace(s),
                                    d_in=contributions, d_out=epsilon)
        measurement = histogram >> measurements.then_laplace(scale)
    if measurement.map(contributions) > epsilon:
        raise RuntimeError("the measurement does not meet its ε (OpenDP privacy map)")
    data = np.ascontiguousarray(codes, dtype=np.int64)  # numpy: OpenDP copies it in one go
    return np.asarray(measurement(data), dtype=np.int64), float(scale)


def laplace_variance(scale: float | np.ndarray) -> float | np.ndarray:
    """Variance of the discrete Laplace distribution of `scale`: 2α/(1 − α)², α = e^(−1/scale)."""
    alpha = np.exp(-1.0 / np.asarray(scale, dtype=float))
    return 2.0 * alpha / (1.0 - alpha) ** 2


def _estimates(cells: Sequence[Mapping[str, Sequence[int]] | None],
               questions: Sequence[Question], index: pd.Index, scales: np.ndarray
               ) -> pd.DataFrame:
    """Post-processing of every tract's noisy histograms: `respondents` (the inverse-variance
    mean of every question's total, rounded, ≥ 0; unrounded in `respondents:raw`), and per
    question `<name>:answered` (its noisy answered count) and `<name>:value` (share yes, or
    mean, from the counts clipped at 0). `:sd` columns are the noise's standard deviations,
    known from the mechanism (`scales`: each tract's noise scale), not from the data. Tracts
    without a release for every question get NaN."""
    have = np.array([c is not None and all(q.key in c for q in questions) for c in cells],
                    dtype=bool)
    out: dict[str, np.ndarray] = {}
    totals, precision = [], []
    cell_variance = laplace_variance(scales)
    for q in questions:
        width = q.levels + 1
        noisy = np.full((len(cells), width), np.nan)
        if have.any():
            noisy[have] = np.array([c[q.key] for c, h in zip(cells, have, strict=True) if h],
                                   dtype=float).reshape(-1, width)
        noisy /= q.weight
        totals.append(noisy.sum(axis=1))
        precision.append(q.weight**2 / width)
        answered = noisy[:, :-1]
        out[f"{q.name}:answered"] = np.maximum(np.floor(answered.sum(axis=1) + 0.5), 0.0)
        out[f"{q.name}:answered:sd"] = np.sqrt(cell_variance * q.levels) / q.weight
        clipped = np.clip(answered, 0.0, None)
        mass = clipped.sum(axis=1)
        levels = np.arange(q.levels) + q.minimum
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{q.name}:value"] = np.where(mass > 0, clipped @ levels / mass, np.nan)
    mean_total = np.dot(np.column_stack(totals), precision) / np.sum(precision)
    respondents = np.maximum(np.floor(mean_total + 0.5), 0.0)
    frame = pd.DataFrame({"respondents": respondents, "respondents:raw": mean_total,
                          "respondents:sd": np.sqrt(cell_variance / np.sum(precision)), **out},
                         index=index)
    return frame.where(pd.Series(have, index=index), axis=0)


def release_survey(answers: pd.DataFrame, tract_ids: pd.Series, questions: Sequence[Question],
                   *, id_col: str, region: str, epsilon: float, epsilon_lifetime: float,
                   ledger_path: str | Path, min_respondents: int,
                   published: Mapping[str, Any] | None = None,
                   seed_material: bytes | str = b"", reuse: str,
                   margin_z: float) -> SurveyRelease:
    """Release every question per tract with ε-differential privacy, spending the budget once
    per fresh release, and reusing the ledger's noisy values when the inputs did not change.

    `answers`: one row per respondent, `id_col` and each question's column. Respondents outside
    `tract_ids` are not released. `published`: the marker of the last published release
    (summary.json's `survey_release`), so a lost ledger raises instead of resetting the budget.
    `seed_material`: bytes bound into every fingerprint (e.g. the tracts' vintage): when they
    change, every tract is released afresh. It does not seed the noise (nothing can). `reuse`:
    `region` (default) releases every tract afresh when any tract's inputs changed, so which
    tracts changed is not disclosed; `tract` refreshes only the changed tracts (fewer bytes
    change between runs, but the map then shows which tracts had new or changed answers).

    When the lifetime budget cannot pay ε, nothing new is released: every tract keeps its last
    released values (tracts never released show nothing) and the record says
    `budget_exhausted`. Suppression is on the noisy counts: a tract with 0 < n̂ < k respondents
    shows nothing; complementary suppression is not needed (docs/privacy.md). `margin_z` > 0
    shows a tract only when n̂ − margin_z·sd ≥ k (sd: the noise's, known from the mechanism),
    so tracts with few true respondents rarely show noise (1.645: 95 % one-sided).
    """
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise InputError(f"survey_rules.epsilon must be a positive number (got {epsilon}).",
                         fix="use the default 1.0 (docs/privacy.md).")
    if epsilon_lifetime < epsilon:
        raise InputError(f"survey_rules.epsilon_lifetime ({epsilon_lifetime:g}) is smaller than "
                         f"one release's epsilon ({epsilon:g}): nothing could ever be released.",
                         fix="make epsilon_lifetime a multiple of epsilon (default 5 × 1.0).")
    if reuse not in REUSE_SCOPES:
        raise InputError(f"reuse {reuse!r} is not one of {', '.join(REUSE_SCOPES)}.")
    if not questions:
        raise InputError("no survey question to release.", fix="give survey.need.")
    questions = list(questions)
    missing = [c for c in [id_col, *(q.column for q in questions)] if c not in answers.columns]
    if missing:
        raise InputError(f"the survey has no column {', '.join(map(repr, missing))}.",
                         fix="check survey.questions against the survey export's header.")
    ids = tract_ids.astype(str).to_numpy()
    if len(set(ids)) < len(ids):
        raise InputError("tract ids repeat: the release needs each tract once.")
    if isinstance(seed_material, str):
        seed_material = seed_material.encode()
    ledger_path = Path(ledger_path)
    ledger = load_ledger(ledger_path, region, published)
    keys = [q.key for q in questions]
    position = pd.Series(np.arange(len(ids)), index=pd.Index(ids))
    tract = answers[id_col].astype("string").map(position).to_numpy(dtype=float)
    inside = np.isfinite(tract)
    tract = tract[inside].astype(np.int64)

    # Exact histograms per tract (only for fingerprints and the measurement's input).
    offsets = np.cumsum([0] + [len(ids) * (q.levels + 1) for q in questions])
    level_codes = []
    for q, offset in zip(questions, offsets, strict=False):
        levels = answer_levels(answers[q.column], q)[inside]
        level_codes.append(offset + tract * (q.levels + 1) + levels)
    exact = np.bincount(np.concatenate(level_codes), minlength=int(offsets[-1]))
    per_tract = np.concatenate([exact[offsets[i]:offsets[i + 1]].reshape(len(ids), -1)
                                for i in range(len(questions))], axis=1)
    fingerprints = [_fingerprint(ledger["salt"], seed_material, keys, per_tract[i])
                    for i in range(len(ids))]
    stored = ledger["tracts"]
    changed = np.array([stored.get(t, {}).get("fingerprint") != f
                        for t, f in zip(ids, fingerprints, strict=True)])
    fresh = changed.copy() if reuse == "tract" else np.full(len(ids), bool(changed.any()))
    contributions = int(sum(q.weight for q in questions))
    remaining = epsilon_lifetime - float(ledger["epsilon_spent"])
    exhausted = bool(fresh.any()) and remaining < epsilon - 1e-12
    spent_now = 0.0
    if fresh.any() and not exhausted:
        # One measurement over the fresh tracts' cells: tract × question × level (+ no answer).
        fresh_index = np.full(len(ids), -1)
        fresh_index[fresh] = np.arange(int(fresh.sum()))
        n_fresh = int(fresh.sum())
        widths = [q.levels + 1 for q in questions]
        fresh_offsets = np.cumsum([0] + [n_fresh * w for w in widths])
        codes = []
        keep = fresh[tract]
        for i, q in enumerate(questions):
            local = level_codes[i][keep] - offsets[i]
            row, level = np.divmod(local, widths[i])
            code = fresh_offsets[i] + fresh_index[row] * widths[i] + level
            codes.append(np.repeat(code, q.weight))
        noisy, scale = _noisy_histogram(np.concatenate(codes), int(fresh_offsets[-1]),
                                           contributions, epsilon)
        release_id = f"{ledger['ledger_id']}-{len(ledger['releases']) + 1:04d}"
        for t in np.flatnonzero(fresh):
            j = fresh_index[t]
            cells = {q.key: noisy[fresh_offsets[i] + j * widths[i]:
                                  fresh_offsets[i] + (j + 1) * widths[i]].tolist()
                     for i, q in enumerate(questions)}
            stored[ids[t]] = {"fingerprint": fingerprints[t], "release_id": release_id,
                              "cells": cells}
        spent_now = float(epsilon)
        ledger["epsilon_spent"] = float(ledger["epsilon_spent"]) + spent_now
        ledger["epsilon_lifetime"] = float(epsilon_lifetime)
        ledger["releases"].append({
            "release_id": release_id, "epsilon": float(epsilon), "tracts": n_fresh,
            "noise_scale": scale, "contributions": contributions, "questions": keys,
            "reuse": reuse, "library": f"opendp {_opendp_version()}"})
        write_ledger(ledger, ledger_path)

    scale_of = {r["release_id"]: r.get("noise_scale", math.nan) for r in ledger["releases"]}
    scales = np.array([scale_of.get(stored.get(t, {}).get("release_id"), math.nan)
                       for t in ids], dtype=float)
    estimates = _estimates([stored.get(t, {}).get("cells") for t in ids], questions,
                           tract_ids.index, scales)
    released_ids = {t: stored[t]["release_id"] for t in ids if t in stored
                    and all(k in stored[t]["cells"] for k in keys)}
    stale = int(sum(1 for t, c in zip(ids, changed, strict=True) if c and t in released_ids))
    unreleased = int(len(ids) - len(released_ids))
    table = publishable(estimates, questions, min_respondents, margin_z)
    last_id = ledger["releases"][-1]["release_id"] if ledger["releases"] else None
    spent = float(ledger["epsilon_spent"])
    record = {
        "release_id": last_id,
        "epsilon": float(epsilon),
        "epsilon_spent": spent,
        "epsilon_lifetime": float(epsilon_lifetime),
        "epsilon_remaining": max(float(epsilon_lifetime) - spent, 0.0),
        "epsilon_per_answer": {q.name: 2.0 * epsilon * q.weight / contributions
                               for q in questions},
        "budget_exhausted": exhausted,
        "stale_tracts": stale if exhausted else 0,
        "unreleased_tracts": unreleased,
        "mechanism": "discrete Laplace on per-tract answer histograms (OpenDP), pure ε-DP, "
                     "privacy unit one respondent (added or removed)",
        "min_respondents": int(min_respondents),
        "margin_z": float(margin_z),
        # Unbiased: the unrounded, unclipped estimates (clipping at 0 would inflate the total).
        "respondents_total": int(np.floor(np.nansum(estimates["respondents:raw"]) + 0.5)),
        "questions": [q.name for q in questions],
    }
    if exhausted:
        record["message"] = (
            f"Privacy budget exhausted: a new release needs ε = {epsilon:g} but only "
            f"{max(remaining, 0.0):g} of the lifetime {epsilon_lifetime:g} is left. The map "
            f"keeps the survey values last released ({last_id or 'none'}); new answers are "
            f"not shown.")
    n_fresh_now = int(fresh.sum()) if spent_now else 0
    n_stale = stale if exhausted else 0
    run = {"status": "budget_exhausted" if exhausted else ("released" if spent_now else "reused"),
           "epsilon_spent_this_run": spent_now, "fresh_tracts": n_fresh_now,
           "reused_tracts": len(released_ids) - n_fresh_now - n_stale,
           "stale_tracts": n_stale, "unreleased_tracts": unreleased}
    return SurveyRelease(table=table, estimates=estimates, record=record, run=run,
                         questions=questions)


def _opendp_version() -> str:
    from importlib.metadata import version

    return version("opendp")


def publishable(estimates: pd.DataFrame, questions: Sequence[Question], min_respondents: int,
                margin_z: float) -> pd.DataFrame:
    """The public columns: `survey_respondents`, `survey_suppressed`, then per question its value
    (`survey_unmet_rate` for need, `survey_<slug>` else) and `<that>_respondents`. Suppression
    uses the noisy counts only: the tract is hidden when 0 < n̂ − z·sd < k, a question's value
    when its noisy answered count (less z·sd) is below k; z = `margin_z`, sd the noise's."""
    n = estimates["respondents"]
    lower = n - margin_z * estimates["respondents:sd"].fillna(0.0)
    shown = lower >= min_respondents
    out = pd.DataFrame(index=estimates.index)
    out["survey_respondents"] = n.where(shown).astype("Int64")
    out["survey_suppressed"] = ((n > 0) & ~shown).astype(bool)
    for q in questions:
        answered = estimates[f"{q.name}:answered"]
        sd = estimates[f"{q.name}:answered:sd"].fillna(0.0)
        visible = shown & (answered - margin_z * sd >= min_respondents)
        out[q.name] = estimates[f"{q.name}:value"].where(visible).round(4)
        out[f"{q.name}_respondents"] = answered.where(visible).astype("Int64")
    return out


# ----------------------------------------------------------------- derived numbers (post-proc.)
def smoothed_rate(release: SurveyRelease, min_respondents: int,
                  name: str = "survey_unmet_rate") -> tuple[pd.Series, float, float]:
    """What need.survey_smoothed computes, from the noisy release only: the empirical-Bayes
    rate of question `name` (events = share × answered, trials = answered, every released tract
    in the regional prior), shown where the tract's noisy count is at least k.

    Returns (rates rounded to 4 decimals, regional rate, prior strength m)."""
    from aiddeserts.method.need import empirical_bayes_rate

    answered = release.estimates[f"{name}:answered"].fillna(0.0)
    events = (release.estimates[f"{name}:value"] * answered).fillna(0.0)
    rate, p_bar, strength = empirical_bayes_rate(events, answered)
    shown = release.table[name].notna()
    return rate.where(shown).round(4), p_bar, strength


def released_disparity(release: SurveyRelease, population: pd.Series) -> pd.DataFrame:
    """confidence.response_disparity from the noisy respondent counts: numbers where the tract's
    count is shown, `survey_bias_flag` everywhere (all of it post-processing)."""
    from aiddeserts.method.confidence import response_disparity

    n = release.estimates["respondents"].fillna(0.0)
    bias = response_disparity(n, population)
    numbers = ["survey_disparity", "survey_disparity_low", "survey_disparity_high"]
    shown = release.table["survey_respondents"].notna()
    bias[numbers] = bias[numbers].round(6).where(shown)
    return bias


# ------------------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> None:
    """`python -m aiddeserts.privacy.release recover --ledger P --region R --epsilon-spent X
    --release-id ID`: replace a lost ledger (see :func:`recover_ledger`)."""
    parser = argparse.ArgumentParser(prog="python -m aiddeserts.privacy.release")
    sub = parser.add_subparsers(dest="command", required=True)
    recover = sub.add_parser("recover", help="replace a lost ledger, carrying the spent ε over")
    recover.add_argument("--ledger", required=True, type=Path)
    recover.add_argument("--region", required=True)
    recover.add_argument("--epsilon-spent", required=True, type=float,
                         help="privacy.survey_release.epsilon_spent of outputs/<region>/summary.json")
    recover.add_argument("--release-id", default="recovered",
                         help="privacy.survey_release.release_id of outputs/<region>/summary.json")
    args = parser.parse_args(argv)
    recover_ledger(args.ledger, args.region, args.epsilon_spent, release_id=args.release_id)
    print(f"{args.ledger}: new ledger, ε spent {args.epsilon_spent:g} carried over.")


if __name__ == "__main__":
    main()
