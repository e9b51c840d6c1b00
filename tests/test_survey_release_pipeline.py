"""The differentially private survey release, played through real Snakemake runs.

Each test runs the whole workflow on a small synthetic city and reads only what a partner sees
(outputs/<region>/), as an attacker would: the differencing attack across two runs, the 12/4/20
complementary case, a rerun without new answers, an exhausted budget and a lost ledger.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from conftest import X0, Y0, grid_tracts, points_lonlat, run_snakemake
from scipy.stats import binom

N_SIDE = 6
SIZE = 1000.0
QUESTIONS = [
    {"column": "keys_with_neighbour", "label": "Would leave keys with a neighbour",
     "kind": "yes_no", "theme": "connection"},
    {"column": "knows_neighbours", "label": "Knows neighbours", "kind": "scale", "min": 1,
     "max": 5, "theme": "connection"},
]


def city(root: Path, per_tract: dict[int, int], *, seed: int = 3, survey_rules: dict | None = None
         ) -> tuple[dict, pd.DataFrame]:
    """A 6×6 km city (36 tracts of 1 km²) with `per_tract[i]` respondents in tract i, the
    connection questions configured; returns (config, the survey as written)."""
    raw = root / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    tracts = grid_tracts(N_SIDE, SIZE)
    tracts.to_file(raw / "tracts.gpkg", layer="tracts")
    xy = [(X0 + 500 + 900 * k, Y0 + 400 + 700 * (k % 4)) for k in range(6)]
    lat, lon = points_lonlat(xy)
    pd.DataFrame({"lat": lat, "lon": lon, "name": [f"Fridge {k}" for k in range(6)],
                  "type": "fridge"}).to_csv(raw / "assets.csv", index=False)
    rng = np.random.default_rng(seed)
    rows = []
    for tract, n in per_tract.items():
        i, j = tract % N_SIDE, tract // N_SIDE
        x = X0 + i * SIZE + rng.uniform(50, SIZE - 50, n)
        y = Y0 + j * SIZE + rng.uniform(50, SIZE - 50, n)
        rows += [{"x": a, "y": b, "tract": tract} for a, b in zip(x, y, strict=True)]
    frame = pd.DataFrame(rows)
    slat, slon = points_lonlat(list(zip(frame["x"], frame["y"], strict=True)))
    n = len(frame)
    survey = pd.DataFrame({
        "lat": np.round(slat, 6), "lon": np.round(slon, 6), "tract": frame["tract"],
        "need": rng.choice(["yes", "no"], n),
        "keys_with_neighbour": rng.choice(["yes", "no"], n),
        "knows_neighbours": rng.integers(1, 6, n),
        "email": [f"canary{i}@example.invalid" for i in range(n)]})
    write_survey(survey, raw / "survey.csv")
    config = {
        "regions": {"tiny": {
            "title": "Tiny test city",
            "tracts": {"path": str(raw / "tracts.gpkg"), "layer": "tracts", "id": "TRACT_CODE",
                       "population": "pop", "need": ["poverty"]},
            "assets": {"path": str(raw / "assets.csv"), "lat": "lat", "lon": "lon",
                       "name": "name", "type": "type"},
            "survey": {"path": str(raw / "survey.csv"), "lat": "lat", "lon": "lon",
                       "need": "need", "questions": QUESTIONS},
        }},
        "density": {"bandwidth_m": 800, "cell_size_m": 50},
        "classification": {"min_population": 10, "bootstrap_runs": 10, "need_draws": 10,
                           "cold_spots": False},
        "survey_rules": survey_rules or {},
    }
    return config, survey


def write_survey(survey: pd.DataFrame, path: Path) -> None:
    survey.drop(columns="tract").to_csv(path, index=False)


def published_tracts(work: Path) -> pd.DataFrame:
    tracts = gpd.read_file(work / "outputs/tiny/tracts.gpkg", layer="tracts")
    return tracts.drop(columns="geometry").set_index("TRACT_CODE")


def release_record(work: Path) -> dict:
    summary = json.loads((work / "outputs/tiny/summary.json").read_text())
    return summary["privacy"]["survey_release"]


def published_bytes(work: Path) -> dict[str, bytes]:
    """Every published file but the manifest (it records the run's time) and the history."""
    root = work / "outputs/tiny"
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "manifest.json"
            and not p.relative_to(root).as_posix().startswith("history/")}


def ok(result) -> None:
    assert result.returncode == 0, result.stderr[-3000:]


def yes_counts(tracts: pd.DataFrame) -> pd.Series:
    """What an attacker reads off the map: share × respondents of the need question."""
    return tracts["survey_unmet_rate"] * tracts["survey_unmet_rate_respondents"].astype(float)


def test_differencing_attack_across_two_runs_does_no_better_than_the_dp_bound(tmp_path):
    epsilon = 0.5
    surveyed = {t: 80 for t in range(30)}  # 6 tracts without respondents
    config, survey = city(tmp_path / "raw_a", surveyed,
                          survey_rules={"epsilon": epsilon, "epsilon_lifetime": 5.0})
    work = tmp_path / "work"
    ok(run_snakemake(work, config))
    first = published_tracts(work)
    record = release_record(work)
    assert record["epsilon_spent"] == epsilon and not record["budget_exhausted"]
    ledger = work / "data/processed/tiny/survey_ledger.json"
    assert ledger.stat().st_mode & 0o077 == 0  # private

    # A rerun without new answers: no budget spent, not one published byte changed.
    before, ledger_before = published_bytes(work), ledger.read_bytes()
    ok(run_snakemake(work, config, extra=("--forcerun", "classify_tracts")))
    assert published_bytes(work) == before
    assert ledger.read_bytes() == ledger_before
    assert "epsilon spent this run 0" in (work / "logs/tiny/classify_tracts.log").read_text()

    # One respondent in each of the 30 surveyed tracts changes their need answer.
    rng = np.random.default_rng(11)
    changed = survey.copy()
    secret = {}
    for tract in range(30):
        row = changed.index[changed["tract"] == tract][int(rng.integers(0, 80))]
        new = "no" if changed.at[row, "need"] == "yes" else "yes"
        changed.at[row, "need"] = new
        secret[f"T{tract:02d}"] = new
    write_survey(changed, Path(config["regions"]["tiny"]["survey"]["path"]))
    ok(run_snakemake(work, config))
    second = published_tracts(work)
    assert release_record(work)["epsilon_spent"] == 2 * epsilon

    # The attacker: "yes" when the published yes-count went up. On exact counts (what
    # suppression alone publishes above the threshold) this is right every time.
    exact = {f"T{t:02d}": int((changed.loc[changed["tract"] == t, "need"] == "yes").sum())
             - int((survey.loc[survey["tract"] == t, "need"] == "yes").sum()) for t in range(30)}
    assert all((exact[t] > 0) == (secret[t] == "yes") for t in secret)
    diff = (yes_counts(second) - yes_counts(first)).reindex(list(secret))
    guesses = {t: ("yes" if d > 0 else "no") if np.isfinite(d) else rng.choice(["yes", "no"])
               for t, d in diff.items()}
    right = sum(guesses[t] == secret[t] for t in secret)
    # The bound: the secret answer enters both releases, each ε_answer-DP (a changed answer
    # costs ε_answer = record["epsilon_per_answer"]); no attacker guesses a fair coin's side
    # better than e^x/(1 + e^x) with x = 2·ε_answer. 99.9 % binomial slack over 30 guesses.
    per_answer = release_record(work)["epsilon_per_answer"]["survey_unmet_rate"]
    bound = math.exp(2 * per_answer) / (1 + math.exp(2 * per_answer))
    assert bound < 0.75
    assert right <= binom.ppf(0.999, len(secret), bound), (right, bound)

    # The survey layer is still shown in most surveyed tracts, in both runs.
    surveyed_ids = [f"T{t:02d}" for t in range(30)]
    for tracts in (first, second):
        assert tracts.loc[surveyed_ids, "survey_unmet_rate"].notna().mean() >= 0.8
        assert tracts.loc[surveyed_ids, "survey_keys_with_neighbour"].notna().mean() >= 0.8
    html = (work / "outputs/tiny/map.html").read_text()
    assert "Community connections" in html and "Would leave keys with a neighbour" in html
    connections_layer_shows_in_chromium(work / "outputs/tiny/map.html", len(surveyed_ids))


def connections_layer_shows_in_chromium(html: Path, surveyed: int) -> None:
    """Real Chromium, network blocked: the layer toggles on, draws most surveyed tracts, shows
    its legend, and its popup says what was asked."""
    import time

    import pytest
    from browser import chromium, page_errors, skip_reason
    from selenium.webdriver.common.by import By

    if skip_reason():
        pytest.skip(skip_reason())
    with chromium() as driver:
        driver.get(html.resolve().as_uri())
        time.sleep(1.5)
        assert page_errors(driver) == []
        labels = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
        box = next(label.find_element(By.TAG_NAME, "input") for label in labels
                   if "Community connections" in label.text)
        assert not box.is_selected()
        box.click()
        time.sleep(0.5)
        legends = " ".join(e.text for e in driver.find_elements(By.CSS_SELECTOR, ".aid-legend"))
        assert "Community connections" in legends and "never makes a tract a desert" in legends
        drawn = driver.execute_script("""
            var n = 0, popup = null;
            var m = Object.values(window).find(v => v instanceof L.Map);
            m.eachLayer(function (layer) {
              if (layer.feature && layer.feature.properties.cn !== undefined
                  && layer.options && layer.options.fillColor) {
                n += 1; popup = popup || layer.feature.properties.cp;
              }
            });
            return [n, popup];""")
        assert drawn[0] >= 0.8 * surveyed
        assert "Would leave keys with a neighbour" in drawn[1]


def test_12_4_20_publishes_nothing_from_which_the_hidden_count_follows(tmp_path):
    config, survey = city(tmp_path / "raw", {0: 12, 1: 4, 2: 20},
                          survey_rules={"margin_z": 0.0})
    config["regions"]["tiny"]["survey"]["questions"] = []
    work = tmp_path / "work"
    ok(run_snakemake(work, config))
    tracts = published_tracts(work)
    survey_columns = [c for c in tracts.columns if c.startswith("survey_")
                      and c not in ("survey_suppressed", "survey_bias_flag")]
    # The small tract shows no survey number at all.
    assert tracts.loc["T01", survey_columns].isna().all()
    summary = json.loads((work / "outputs/tiny/summary.json").read_text())
    # No exact survey count anywhere: not the rows read (36), nor any survey reject.
    assert set(summary["inputs"]["survey"]) == {"configured", "respondents_released"}
    rejects = pd.read_csv(work / "outputs/tiny/rejects.csv")
    assert not rejects["source"].astype(str).str.startswith("survey:").any()
    # total − shown is a difference of noisy counts: it is not the hidden count but noise
    # around it (the released total differs from the exact 36 unless noise cancels out).
    record = summary["privacy"]["survey_release"]
    assert record["respondents_total"] == summary["inputs"]["survey"]["respondents_released"]
    assert "discrete Laplace" in record["mechanism"]
    shown = tracts["survey_respondents"].dropna()
    ledger = json.loads((work / "data/processed/tiny/survey_ledger.json").read_text())
    cells = ledger["tracts"]["T01"]["cells"]
    exact = np.bincount(np.where(survey.loc[survey["tract"] == 1, "need"] == "yes", 1, 0),
                        minlength=3)
    assert len(cells) == 1 and len(next(iter(cells.values()))) == 3
    # What was released for the hidden tract is the noisy histogram, never the exact one
    # copied into the outputs: the published files hold no T01 number to compare with.
    assert exact.sum() == 4 and "T01" not in shown.index


def test_exhausted_budget_keeps_last_values_and_a_lost_ledger_stops_the_run(tmp_path):
    config, survey = city(tmp_path / "raw", {t: 60 for t in range(12)},
                          survey_rules={"epsilon": 1.0, "epsilon_lifetime": 1.0})
    work = tmp_path / "work"
    ok(run_snakemake(work, config))
    first = published_tracts(work)
    survey_columns = [c for c in first.columns if c.startswith("survey_")
                      and not c.startswith("survey_disparity")]
    changed = survey.copy()
    changed.loc[changed.index[:30], "need"] = "yes"
    write_survey(changed, Path(config["regions"]["tiny"]["survey"]["path"]))
    ok(run_snakemake(work, config))
    second = published_tracts(work)
    pd.testing.assert_frame_equal(first[survey_columns], second[survey_columns])
    record = release_record(work)
    assert record["budget_exhausted"] is True and record["epsilon_spent"] == 1.0
    assert "Privacy budget exhausted" in record["message"]
    assert "Privacy budget exhausted" in (work / "logs/tiny/classify_tracts.log").read_text()

    # The ledger is lost: the run stops (exit 3 in the job), names the file and the fix, and
    # the published outputs stay as they were.
    before = published_bytes(work)
    ledger = work / "data/processed/tiny/survey_ledger.json"
    shutil.move(ledger, tmp_path / "ledger.bak")
    result = run_snakemake(work, config, extra=("--forcerun", "classify_tracts"))
    assert result.returncode != 0
    log = (work / "logs/tiny/classify_tracts.log").read_text()
    assert "privacy ledger is missing" in log and "survey_ledger.json" in log
    assert "aiddeserts.privacy.release recover" in log
    assert "Traceback" not in log
    assert not any(email in log for email in survey["email"])
    assert published_bytes(work) == before


def test_ingest_keeps_question_columns_and_never_quotes_answers(tiny_region):
    import pytest

    from aiddeserts.config import validate_config
    from aiddeserts.errors import InputError
    from aiddeserts.io.survey import read_survey, survey_allow_list
    from aiddeserts.io.tracts import load_tracts

    path = Path(tiny_region["regions"]["tiny"]["survey"]["path"])
    raw = pd.read_csv(path)
    raw["keys_with_neighbour"] = np.where(np.arange(len(raw)) % 3 == 0, "Yes", "no")
    raw.loc[5, "keys_with_neighbour"] = "Canary answer"  # unreadable: no answer, not quoted
    raw["knows_neighbours"] = (np.arange(len(raw)) % 5 + 1).astype(str)
    raw.loc[7, "knows_neighbours"] = "n/a"
    raw.to_csv(path, index=False)
    tiny_region["regions"]["tiny"]["survey"]["questions"] = QUESTIONS
    region = validate_config(tiny_region)["regions"]["tiny"]
    tracts, _, _ = load_tracts(region["tracts"])
    survey, rejects, _ = read_survey(region["survey"], tracts, "TRACT_CODE", 11)
    assert {"keys_with_neighbour", "knows_neighbours"} <= set(survey.columns)
    assert "name" not in survey.columns and "email" not in survey.columns
    assert survey["keys_with_neighbour"].isna().sum() == 1
    assert survey["knows_neighbours"].isna().sum() == 1
    assert survey["knows_neighbours"].dropna().between(1, 5).all()
    assert "knows_neighbours" in survey_allow_list(region["survey"])
    assert not rejects["reason"].astype(str).str.contains("Canary").any()

    region["survey"]["questions"] = [*QUESTIONS, {"column": "missing_q", "kind": "yes_no",
                                                  "theme": "connection"}]
    with pytest.raises(InputError) as error:
        read_survey(region["survey"], tracts, "TRACT_CODE", 11)
    message = str(error.value)
    assert "missing_q" in message and "Canary" not in message and "email" not in message


def test_connection_layer_scores_strength_and_speaks_spanish():
    from aiddeserts.i18n import use_language
    from aiddeserts.maps import connections

    tracts = pd.DataFrame({"survey_keys_with_neighbour": [0.9, 0.1, np.nan],
                           "survey_knows_neighbours": [5.0, 1.0, np.nan],
                           "survey_unmet_rate": [0.9, 0.1, 0.5]})
    score = connections.connection_score(tracts, QUESTIONS)
    assert score.iloc[0] == 0.95 and score.iloc[1] == 0.05 and np.isnan(score.iloc[2])
    props = [{"c": 1}, {"c": 2}, {"c": 3}]
    assert connections.add_properties(props, tracts, ["A", "B", "C"], QUESTIONS)
    assert [p.get("cn") for p in props] == [3, 0, None]
    assert [p["c"] for p in props] == [1, 2, 3]  # the classes are not touched
    with use_language("es"):
        legend = connections.connections_legend_html(QUESTIONS)
        about = connections.about_html(QUESTIONS)
    assert "Vínculos comunitarios" in legend and "nunca convierte" in legend
    assert "Would leave keys with a neighbour" in about and "privacidad diferencial" in about
