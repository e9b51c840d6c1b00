"""Differentially private survey release: attacks bounded, budget ledger, reuse, question set."""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from aiddeserts.errors import InputError
from aiddeserts.io.survey import read_survey
from aiddeserts.method.confidence import response_disparity
from aiddeserts.method.need import survey_by_tract, survey_smoothed
from aiddeserts.privacy.release import (
    LedgerError,
    Question,
    answer_levels,
    main,
    need_question,
    questions_from_config,
    release_survey,
    released_disparity,
    smoothed_rate,
)

REPO = Path(__file__).resolve().parents[1]
FORM = REPO / "data" / "raw" / "forms" / "connectedness.xlsx"
ID = "geoid"
K = 11


def survey(counts: list[int], rng: np.random.Generator, p_need: float = 0.4) -> pd.DataFrame:
    """`counts[i]` respondents in tract t<i>, random need and key answers."""
    tract = np.repeat([f"t{i}" for i in range(len(counts))], counts)
    return pd.DataFrame({ID: tract, "unmet_need": rng.random(len(tract)) < p_need,
                         "keys": rng.choice(["yes", "no", ""], len(tract))})


def tract_ids(n: int) -> pd.Series:
    return pd.Series([f"t{i}" for i in range(n)], name=ID)


KEYS = [{"column": "keys", "label": "Would leave keys with a neighbour", "kind": "yes_no",
         "theme": "connection"}]


def release(answers: pd.DataFrame, ids: pd.Series, ledger: Path, epsilon: float = 1.0,
            lifetime: float = 100.0, questions: list[Question] | None = None, **kwargs):
    kwargs = {"reuse": "region", "margin_z": 0.0, **kwargs}
    return release_survey(answers, ids, questions or questions_from_config(KEYS), id_col=ID,
                          region="test", epsilon=epsilon, epsilon_lifetime=lifetime,
                          ledger_path=ledger, min_respondents=K, **kwargs)


def marker(result) -> dict:
    return {"release_id": result.record["release_id"],
            "epsilon_spent": result.record["epsilon_spent"]}


def guess_answers(before: pd.DataFrame, after: pd.DataFrame, rate: str, respondents: str
                  ) -> np.ndarray:
    """The differencing attack: the yes count grew more than the no count → "yes"."""
    yes = lambda t: (t[rate] * t[respondents].astype(float)).to_numpy()  # noqa: E731
    no = lambda t: ((1 - t[rate]) * t[respondents].astype(float)).to_numpy()  # noqa: E731
    return ((yes(after) - yes(before)) - (no(after) - no(before))) > 0


def bound(epsilon: float, trials: int) -> float:
    """Best accuracy of any test between two ε-neighbours (equal priors), plus 3 s.e."""
    p = math.exp(epsilon) / (1 + math.exp(epsilon))
    return p + 3 * math.sqrt(p * (1 - p) / trials)


# ------------------------------------------------------------------------- the attacks
@pytest.mark.parametrize("reuse", ["region", "tract"])
def test_differencing_attack_guesses_no_better_than_the_bound(tmp_path, reuse):
    rng = np.random.default_rng(7)
    counts, targets, epsilon, trials = [30] * 12, np.arange(8), 0.5, 120
    base = survey(counts, rng)
    ids = tract_ids(len(counts))
    hits, shown, eligible = 0.0, 0, 0
    per_answer = None
    for trial in range(trials):
        secret = rng.random(len(targets)) < 0.5
        newcomers = pd.DataFrame({ID: [f"t{t}" for t in targets], "unmet_need": secret,
                                  "keys": rng.choice(["yes", "no"], len(targets))})
        ledger = tmp_path / f"{trial}.json"
        first = release(base, ids, ledger, epsilon, reuse=reuse)
        second = release(pd.concat([base, newcomers], ignore_index=True), ids, ledger, epsilon,
                         reuse=reuse, published=marker(first))
        assert second.run["status"] == "released"
        per_answer = second.record["epsilon_per_answer"]["survey_unmet_rate"]
        both = pd.concat([first.table, second.table])
        shown += int(both["survey_unmet_rate"].notna().sum())
        eligible += len(both)
        a, b = first.table.iloc[targets], second.table.iloc[targets]
        usable = (a["survey_unmet_rate"].notna() & b["survey_unmet_rate"].notna()).to_numpy()
        guess = guess_answers(a, b, "survey_unmet_rate", "survey_unmet_rate_respondents")
        # A hidden value leaves the attacker a coin flip.
        hits += float(((guess == secret) & usable).sum() + 0.5 * (~usable).sum())
    accuracy = hits / (trials * len(targets))
    # One answer changed in one question: 2·ε·weight/Σweights of the per-run ε (OpenDP map).
    assert per_answer == pytest.approx(epsilon)
    assert accuracy <= bound(per_answer, trials * len(targets))
    assert shown / eligible >= 0.9  # the layer still shows in the tracts with 30 respondents

    # The same attack on the suppression-only release of before recovers every answer.
    first = survey_by_tract(base, ID, ids, K)
    second = survey_by_tract(pd.concat([base, newcomers], ignore_index=True), ID, ids, K)
    exact = guess_answers(first.iloc[targets], second.iloc[targets], "survey_unmet_rate",
                          "survey_respondents")
    assert (exact == secret).all()


def test_complementary_case_publishes_no_hidden_count(tmp_path):
    """12/4/20 with k = 11: nothing published lets anyone tell 4 from 5 in the small tract,
    and no tract is hidden only to protect another one."""
    rng = np.random.default_rng(3)
    ids = tract_ids(3)
    need_only = [need_question()]
    trials, epsilon, hits, derived = 300, 1.0, 0, set()
    for trial in range(trials):
        secret = bool(rng.random() < 0.5)
        counts = [12, 5 if secret else 4, 20]
        answers = survey(counts, rng)
        result = release(answers, ids, tmp_path / f"{trial}.json", epsilon,
                         questions=need_only)
        n = result.estimates["respondents"]
        table = result.table
        assert table["survey_suppressed"].tolist() == ((n > 0) & (n < K)).tolist()
        assert table["survey_respondents"].isna().tolist() == (n < K).tolist()
        assert table.loc[table["survey_suppressed"], "survey_unmet_rate"].isna().all()
        # The strongest attacker knows the other tracts exactly: 12 + 20 = 32.
        hidden = result.record["respondents_total"] - 32
        derived.add(hidden)
        hits += int((hidden >= 4.5) == secret)
    assert hits / trials <= bound(epsilon, trials)
    assert len(derived) >= 5  # what one can derive is noise, not the count


# -------------------------------------------------------------------- reruns and budget
def test_unchanged_inputs_spend_nothing_and_keep_every_byte(tmp_path):
    rng = np.random.default_rng(1)
    answers, ids, ledger = survey([30, 12, 4, 20, 0], rng), tract_ids(5), tmp_path / "l.json"
    first = release(answers, ids, ledger, lifetime=5)
    saved = ledger.read_bytes()
    shuffled = answers.sample(frac=1.0, random_state=2).assign(unrelated="x")
    second = release(shuffled, ids, ledger, lifetime=5, published=marker(first))
    assert second.run == {"status": "reused", "epsilon_spent_this_run": 0.0, "fresh_tracts": 0,
                          "reused_tracts": 5, "stale_tracts": 0, "unreleased_tracts": 0}
    assert second.table.to_csv() == first.table.to_csv()
    assert json.dumps(second.record) == json.dumps(first.record)
    assert ledger.read_bytes() == saved
    assert first.record["epsilon_spent"] == second.record["epsilon_spent"] == 1.0


def test_changed_tract_is_released_afresh(tmp_path):
    rng = np.random.default_rng(4)
    answers, ids = survey([40, 40, 40, 40], rng), tract_ids(4)
    extra = pd.DataFrame({ID: ["t2"], "unmet_need": [True], "keys": ["yes"]})
    changed = pd.concat([answers, extra], ignore_index=True)
    by_tract = tmp_path / "tract.json"
    first = release(answers, ids, by_tract, reuse="tract")
    second = release(changed, ids, by_tract, reuse="tract", published=marker(first))
    assert second.run["fresh_tracts"] == 1 and second.run["reused_tracts"] == 3
    kept = [0, 1, 3]
    assert second.estimates.iloc[kept].equals(first.estimates.iloc[kept])
    assert second.record["epsilon_spent"] == 2.0
    by_region = tmp_path / "region.json"
    first = release(answers, ids, by_region)
    second = release(changed, ids, by_region, published=marker(first))
    assert second.run["fresh_tracts"] == 4  # the map does not tell which tract changed
    assert second.record["epsilon_spent"] == 2.0


def test_exhausted_budget_keeps_the_last_release_and_says_so(tmp_path):
    rng = np.random.default_rng(5)
    ids, ledger = tract_ids(3), tmp_path / "l.json"
    answers = survey([30, 30, 30], rng)
    first = release(answers, ids, ledger, lifetime=2.0)
    answers = pd.concat([answers, survey([1, 0, 0], rng)], ignore_index=True)
    second = release(answers, ids, ledger, lifetime=2.0, published=marker(first))
    assert second.record["epsilon_remaining"] == 0.0 and not second.record["budget_exhausted"]
    saved = ledger.read_bytes()
    answers = pd.concat([answers, survey([0, 2, 0], rng)], ignore_index=True)
    more = pd.Series([*ids, "t3"], name=ID)  # and a tract never released
    third = release(answers, more, ledger, lifetime=2.0, published=marker(second))
    assert third.run["status"] == "budget_exhausted"
    assert third.record["budget_exhausted"] is True
    assert third.record["epsilon_spent"] == 2.0 and third.record["release_id"] == \
        second.record["release_id"]
    assert "budget exhausted" in third.record["message"].lower()
    assert third.record["stale_tracts"] == 1 and third.record["unreleased_tracts"] == 1
    assert third.table.iloc[:3].equals(second.table)
    assert third.table.iloc[3].isna().drop("survey_suppressed").all()
    assert ledger.read_bytes() == saved
    again = release(answers, more, ledger, lifetime=2.0, published=marker(third))
    assert json.dumps(again.record) == json.dumps(third.record)
    with pytest.raises(InputError, match="epsilon_lifetime"):
        release(answers, ids, tmp_path / "new.json", epsilon=1.0, lifetime=0.5)


def test_lost_or_corrupt_ledger_raises_instead_of_resetting_the_budget(tmp_path):
    rng = np.random.default_rng(6)
    answers, ids, ledger = survey([30, 30], rng), tract_ids(2), tmp_path / "ledger.json"
    first = release(answers, ids, ledger, lifetime=3.0)
    backup = ledger.read_bytes()
    second = release(pd.concat([answers, survey([1, 1], rng)], ignore_index=True), ids, ledger,
                     lifetime=3.0, published=marker(first))
    good = ledger.read_bytes()

    ledger.unlink()
    with pytest.raises(LedgerError, match=r"missing.*Fix: restore .*recover") as error:
        release(answers, ids, ledger, lifetime=3.0, published=marker(second))
    fix = f"--epsilon-spent 2 --release-id {second.record['release_id']}"
    assert str(ledger) in str(error.value) and fix in str(error.value)

    ledger.write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(LedgerError, match="corrupt"):
        release(answers, ids, ledger, lifetime=3.0)
    content = json.loads(good)
    content["epsilon_spent"] = 0.0  # edited by hand
    ledger.write_text(json.dumps(content))
    with pytest.raises(LedgerError, match="corrupt"):
        release(answers, ids, ledger, lifetime=3.0, published=marker(second))
    ledger.write_bytes(backup)  # a backup older than what was published
    with pytest.raises(LedgerError, match="older than the published release"):
        release(answers, ids, ledger, lifetime=3.0, published=marker(second))

    ledger.unlink()
    main(["recover", "--ledger", str(ledger), "--region", "test", "--epsilon-spent", "2",
          "--release-id", second.record["release_id"]])
    third = release(answers, ids, ledger, lifetime=3.0, published=marker(second))
    assert third.run["status"] == "released" and third.run["fresh_tracts"] == 2
    assert third.record["epsilon_spent"] == 3.0 and third.record["epsilon_remaining"] == 0.0
    with pytest.raises(LedgerError, match="readable"):
        main(["recover", "--ledger", str(ledger), "--region", "test", "--epsilon-spent", "0"])


# ---------------------------------------------------------------- values and derived numbers
def test_released_values_and_derived_numbers_track_the_exact_ones(tmp_path):
    """With a large ε the noisy release agrees with the exact computations it replaces, and
    the derived numbers are shown only where the noisy count is."""
    rng = np.random.default_rng(8)
    counts = [200, 150, 300, 5, 250, 180]
    answers, ids = survey(counts, rng), tract_ids(len(counts))
    answers["knows"] = rng.integers(1, 6, len(answers)).astype(str)
    answers.loc[::7, "knows"] = "9"  # clamped to 5
    questions = questions_from_config([*KEYS, {"column": "knows", "kind": "scale", "min": 1,
                                               "max": 5, "theme": "connection"}])
    result = release(answers, ids, tmp_path / "l.json", epsilon=60.0, questions=questions)
    table = result.table
    big = [0, 1, 2, 4, 5]
    assert (table["survey_respondents"].iloc[big] - pd.Series(counts).iloc[big]).abs().max() <= 2
    exact = answers.groupby(ID)["unmet_need"].mean()
    assert np.allclose(table["survey_unmet_rate"].iloc[big], exact.iloc[big], atol=0.02)
    # Suppression-only hid t1 (150 respondents) as a complement of t3; the release need not.
    assert survey_by_tract(answers, ID, ids, K)["survey_suppressed"].iloc[[1, 3]].all()
    assert table["survey_suppressed"].tolist() == [False, False, False, True, False, False]
    knows = answers["knows"].astype(float).clip(1, 5).groupby(answers[ID]).mean()
    assert np.allclose(table["survey_knows"].iloc[big], knows.iloc[big], atol=0.05)
    assert table.iloc[3].drop("survey_suppressed").isna().all() and table["survey_suppressed"].iloc[3]
    smoothed, p_bar, _ = smoothed_rate(result, K)
    reference, p_ref, _ = survey_smoothed(answers, ID, ids, K)
    assert p_bar == pytest.approx(p_ref, abs=0.02)
    # (The exact path also hides complementary-suppressed tracts; compare where it shows one.)
    shown = reference.iloc[big].notna().to_numpy()
    assert shown.any()
    assert np.allclose(smoothed.iloc[big][shown], reference.iloc[big][shown], atol=0.03)
    assert np.isnan(smoothed.iloc[3])
    population = pd.Series([4000, 3000, 5000, 2000, 4500, 3500])
    disparity = released_disparity(result, population)
    n_exact = pd.Series(counts, dtype=float)
    reference = response_disparity(n_exact, population)
    assert np.allclose(disparity["survey_disparity"].iloc[big],
                       reference["survey_disparity"].iloc[big], atol=0.005)
    assert np.isnan(disparity["survey_disparity"].iloc[3])
    assert set(disparity["survey_bias_flag"]) <= {"under", "over", "none"}


def test_answers_become_levels_and_bad_questions_are_refused():
    yes_no = Question("keys")
    text = pd.Series(["Yes", " no", "sí", "", None, "maybe", "1", "0"])
    assert answer_levels(text, yes_no).tolist() == [1, 0, 1, 2, 2, 2, 1, 0]
    assert answer_levels(pd.Series([True, False]), yes_no).tolist() == [1, 0]
    scale = Question("knows", kind="scale", minimum=1, maximum=5, theme="connection")
    numbers = pd.Series(["1", "2.5", "7", "-3", "", "x", "4.49"])
    assert answer_levels(numbers, scale).tolist() == [0, 2, 4, 0, 5, 5, 3]
    assert need_question().name == "survey_unmet_rate"
    assert Question("Knows neighbours?", theme="connection").name == "survey_knows_neighbours"
    questions = questions_from_config([*KEYS, {"column": "b"}, {"column": "c"}])
    assert questions[0].weight == 3  # the need question gets half of ε
    for bad in ({"column": "a", "kind": "likert"}, {"column": "a", "theme": "wealth"},
                {"column": "a", "kind": "scale", "min": 0, "max": 50},
                {"column": "a", "kind": "scale", "min": 5, "max": 1}):
        with pytest.raises(InputError):
            Question.from_config(bad)
    with pytest.raises(InputError, match="repeat"):
        questions_from_config([{"column": "unmet_need"}])


# ------------------------------------------------------------------------ the question set
def xlsx_sheets(path: Path) -> dict[str, list[list[str]]]:
    """Rows of every sheet of an .xlsx (standard library only)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as archive:
        strings = [si.findtext("m:t", namespaces=ns) or "" for si in ElementTree.fromstring(
            archive.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        names = [s.get("name") for s in book.find("m:sheets", ns)]
        sheets = {}
        for i, name in enumerate(names, start=1):
            root = ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{i}.xml"))
            rows = []
            for row in root.iter(f"{{{ns['m']}}}row"):
                cells = {}
                for cell in row.findall("m:c", ns):
                    column = re.match(r"[A-Z]+", cell.get("r")).group()
                    cells[ord(column) - 65] = strings[int(cell.findtext("m:v", namespaces=ns))]
                rows.append([cells.get(c, "") for c in range(max(cells) + 1)])
            sheets[name] = rows
    return sheets


def test_the_xlsform_and_its_kobo_export_read_as_is(tmp_path):
    sheets = xlsx_sheets(FORM)
    header, *rows = sheets["survey"]
    questions = {r[header.index("name")]: r for r in rows}
    choices = {r[0] for r in sheets["choices"][1:]}
    for row in rows:
        if row[0].startswith("select_one"):
            assert row[0].split()[1] in choices
    assert {"location", "unmet_need", "story", "consent_to_share"} <= set(questions)
    connection = ["keys_with_neighbour", "knows_neighbours", "helped_neighbour",
                  "helped_by_neighbour", "community_group"]
    assert set(connection) <= set(questions)
    assert questions["location"][0] == "geopoint"
    assert sheets["settings"][1][1] == "community_connections"

    # A KoboToolbox CSV export ("XML values and headers", ';' separated) of three squares.
    tracts = gpd.GeoDataFrame({ID: ["a", "b", "c"]}, geometry=[
        shapely.box(-73.99 + i * 0.01, 40.70, -73.98 + i * 0.01, 40.71) for i in range(3)],
        crs=4326).to_crs(32618)
    rng = np.random.default_rng(9)
    n = 60
    lon = -73.985 + rng.integers(0, 3, n) * 0.01 + rng.uniform(-0.004, 0.004, n)
    lat = 40.705 + rng.uniform(-0.004, 0.004, n)
    export = pd.DataFrame({
        "start": "2026-11-30T10:00:00.000-05:00", "end": "2026-11-30T10:04:00.000-05:00",
        "location": [f"{y:.6f} {x:.6f} 0 5" for x, y in zip(lon, lat, strict=True)],
        "_location_latitude": [f"{y:.6f}" for y in lat],
        "_location_longitude": [f"{x:.6f}" for x in lon],
        "_location_altitude": "0", "_location_precision": "5",
        "unmet_need": rng.choice(["yes", "no"], n),
        "keys_with_neighbour": rng.choice(["yes", "no", ""], n),
        "knows_neighbours": rng.choice(["1", "2", "3", "4", "5", ""], n),
        "helped_neighbour": rng.choice(["yes", "no"], n),
        "helped_by_neighbour": rng.choice(["yes", "no"], n),
        "community_group": rng.choice(["yes", "no"], n),
        "story": "", "consent_to_share": "",
        "_id": np.arange(1000, 1000 + n), "_uuid": [f"uuid-{i:04d}-kobo" for i in range(n)],
        "_submission_time": "2026-11-30T15:04:00", "_validation_status": "", "_notes": "",
        "_status": "submitted_via_web", "_submitted_by": "", "__version__": "v1", "_tags": "",
        "_index": np.arange(1, n + 1)})
    path = tmp_path / "kobo.csv"
    export.to_csv(path, sep=";", index=False)
    config = {"path": str(path), "need": "unmet_need", "story": "story",
              "consent": "consent_to_share"}
    read, rejects, total = read_survey(config, tracts, ID, 11)
    assert total == n and len(read) == n and rejects.empty
    expected = np.array(["a", "b", "c"])[np.floor((lon + 73.99) / 0.01).astype(int)]
    assert read[ID].tolist() == expected.tolist()
    assert "keys_with_neighbour" not in read.columns  # the lead keeps them (see report)

    # Its answers (in file order: every row was read) release per tract.
    answers = pd.concat([read[[ID, "unmet_need"]], export[connection]], axis=1)
    specs = [{"column": "knows_neighbours", "kind": "scale", "min": 1, "max": 5,
              "theme": "connection"}] + [
        {"column": c, "kind": "yes_no", "theme": "engagement" if c == "community_group"
         else "connection"} for c in connection if c != "knows_neighbours"]
    result = release_survey(answers, tracts[ID], questions_from_config(specs), id_col=ID,
                            region="kobo", epsilon=1.0, epsilon_lifetime=5.0,
                            ledger_path=tmp_path / "ledger.json", min_respondents=5,
                            reuse="region", margin_z=0.0)
    assert {"survey_keys_with_neighbour", "survey_knows_neighbours",
            "survey_community_group_respondents"} <= set(result.table.columns)
    per_answer = result.record["epsilon_per_answer"]
    assert per_answer["survey_unmet_rate"] == pytest.approx(1.0)  # need: half of ε, both ways
    assert per_answer["survey_keys_with_neighbour"] == pytest.approx(0.2)


def test_seed_material_and_question_changes_release_afresh(tmp_path):
    rng = np.random.default_rng(10)
    answers, ids, ledger = survey([30, 30], rng), tract_ids(2), tmp_path / "l.json"
    first = release(answers, ids, ledger, seed_material="tracts-2010")
    same = release(answers, ids, ledger, seed_material=b"tracts-2010", published=marker(first))
    assert same.run["status"] == "reused"
    vintage = release(answers, ids, ledger, seed_material="tracts-2020", published=marker(same))
    assert vintage.run["status"] == "released" and vintage.record["epsilon_spent"] == 2.0
    more = questions_from_config([*KEYS, {"column": "extra", "theme": "engagement"}])
    with pytest.raises(InputError, match="'extra'"):
        release(answers, ids, ledger, questions=more, published=marker(vintage))
    answers["extra"] = rng.choice(["yes", "no"], len(answers))
    added = release(answers, ids, ledger, questions=more, seed_material="tracts-2020",
                    published=marker(vintage))
    assert added.run["fresh_tracts"] == 2 and "survey_extra" in added.table.columns


def test_noise_has_the_scale_opendp_certifies(tmp_path):
    """Every released cell of an empty survey is pure discrete Laplace noise of scale W/ε
    (here 2/1): its mean absolute value is 2α/(1 − α²), α = e^(−1/scale)."""
    ids, ledger = tract_ids(2000), tmp_path / "l.json"
    empty = pd.DataFrame({ID: pd.Series([], dtype=str), "unmet_need": pd.Series([], dtype=bool),
                          "keys": pd.Series([], dtype=str)})
    result = release(empty, ids, ledger)
    content = json.loads(ledger.read_text())
    (entry,) = content["releases"]
    assert entry["noise_scale"] == 2.0 and entry["contributions"] == 2
    cells = np.array([c for t in content["tracts"].values() for v in t["cells"].values()
                      for c in v], dtype=float)
    assert set().union(*(t.keys() for t in content["tracts"].values())) == {
        "fingerprint", "release_id", "cells"}  # no answers, only noisy counts
    alpha = math.exp(-1 / 2.0)
    assert np.abs(cells).mean() == pytest.approx(2 * alpha / (1 - alpha**2), rel=0.05)
    assert abs(cells.mean()) < 0.1
    assert result.table["survey_respondents"].isna().mean() > 0.99
    # The standard deviation the release reports is the noise's.
    raw = result.estimates["respondents:raw"]
    assert raw.std() == pytest.approx(result.estimates["respondents:sd"].iloc[0], rel=0.1)
    assert abs(result.record["respondents_total"]) < 4 * raw.std() * math.sqrt(len(raw))


def test_margin_keeps_sparse_tracts_from_showing_noise(tmp_path):
    """2,000 tracts of 1 or 2 respondents and 20 of 60: with k alone, noise shows some small
    tracts; with a 95 % margin on the noise, next to none, and the large ones still show."""
    rng = np.random.default_rng(11)
    counts = [1, 2] * 1000 + [60] * 20
    answers, ids = survey(counts, rng), tract_ids(len(counts))
    plain = release(answers, ids, tmp_path / "plain.json")
    margin = release(answers, ids, tmp_path / "margin.json", margin_z=1.645)
    small = np.array(counts) < K
    shown_plain = plain.table["survey_respondents"].notna().to_numpy()
    shown_margin = margin.table["survey_respondents"].notna().to_numpy()
    assert shown_plain[small].sum() > 3 * max(shown_margin[small].sum(), 1)
    assert shown_margin[small].mean() < 0.005
    assert shown_margin[~small].mean() >= 0.9
    assert margin.record["margin_z"] == 1.645
