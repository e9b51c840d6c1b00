"""Cost of the differentially private survey release (privacy/release.py) on 1e5 respondents.

A seeded synthetic survey: 1e5 respondents over 2,000 tracts (skewed, as outreach is), the need
question and the five connection/engagement questions of data/raw/forms/connectedness.xlsx.
Times a fresh release (OpenDP measurement + ledger write), a rerun that reuses the ledger, and the
exact suppression-only aggregation it replaces (need.survey_by_tract, need question only), and
reports the error the noise adds. `python bench/dp.py` or `python bench/run.py --only dp`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CONNECTION = [
    {"column": "keys_with_neighbour", "kind": "yes_no", "theme": "connection"},
    {"column": "knows_neighbours", "kind": "scale", "min": 1, "max": 5, "theme": "connection"},
    {"column": "helped_neighbour", "kind": "yes_no", "theme": "connection"},
    {"column": "helped_by_neighbour", "kind": "yes_no", "theme": "connection"},
    {"column": "community_group", "kind": "yes_no", "theme": "engagement"},
]


def synthetic_survey(n_respondents: int, n_tracts: int, seed: int = 2026
                     ) -> tuple[pd.DataFrame, pd.Series]:
    """Answers (tract id, need, five connection answers, a few blanks) and the tract ids."""
    rng = np.random.default_rng(seed)
    ids = pd.Series([f"{i:06d}" for i in range(n_tracts)], name="geoid")
    weight = rng.lognormal(0.0, 1.0, n_tracts)
    tract = rng.choice(n_tracts, n_respondents, p=weight / weight.sum())
    answers = pd.DataFrame({"geoid": ids.to_numpy()[tract],
                            "unmet_need": rng.random(n_respondents) < 0.3})
    for spec in CONNECTION:
        if spec["kind"] == "scale":
            values = rng.integers(1, 6, n_respondents).astype(str)
        else:
            values = rng.choice(["yes", "no"], n_respondents)
        answers[spec["column"]] = np.where(rng.random(n_respondents) < 0.05, "", values)
    return answers, ids


def median_time(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def measure(n_respondents: int = 100_000, n_tracts: int = 2_000, repeats: int = 3
            ) -> dict[str, float]:
    """Seconds for a fresh release, a reusing rerun and the exact aggregation; noise error."""
    from aiddeserts.method.need import survey_by_tract
    from aiddeserts.privacy.release import questions_from_config, release_survey

    answers, ids = synthetic_survey(n_respondents, n_tracts)
    questions = questions_from_config(CONNECTION)
    with tempfile.TemporaryDirectory() as folder:
        count = iter(range(10**6))

        def fresh() -> object:
            return release_survey(answers, ids, questions, id_col="geoid", region="bench",
                                  epsilon=1.0, epsilon_lifetime=5.0, min_respondents=11,
                                  ledger_path=Path(folder) / f"{next(count)}.json", reuse="region",
                                  margin_z=0.0)

        fresh_s, result = median_time(fresh, repeats)
        ledger = Path(folder) / "reuse.json"

        def rerun() -> object:
            return release_survey(answers, ids, questions, id_col="geoid", region="bench",
                                  epsilon=1.0, epsilon_lifetime=5.0, min_respondents=11,
                                  ledger_path=ledger, reuse="region", margin_z=0.0)

        rerun()
        reuse_s, again = median_time(rerun, repeats)
        assert again.run["status"] == "reused"
        ledger_mb = ledger.stat().st_size / 2**20
    exact_s, exact = median_time(lambda: survey_by_tract(answers, "geoid", ids, 11), repeats)
    true_n = ids.map(answers.groupby("geoid").size()).fillna(0)
    true_rate = ids.map(answers.groupby("geoid")["unmet_need"].mean())
    shown = result.table["survey_unmet_rate"].notna()
    return {
        "respondents": n_respondents, "tracts": n_tracts, "questions": len(questions),
        "fresh_s": fresh_s, "reuse_s": reuse_s, "exact_s": exact_s, "ledger_mb": ledger_mb,
        "count_mae": float((result.estimates["respondents"] - true_n).abs().mean()),
        "rate_mae_shown": float((result.table["survey_unmet_rate"] - true_rate)[shown].abs()
                                .mean()),
        "shown_share": float(shown[true_n >= 11].mean()),
        "exact_shown_share": float(exact["survey_unmet_rate"].notna()[true_n >= 11].mean()),
    }


def bench(repeats: int, absolute: Callable[..., None], info: Callable[..., None]) -> None:
    """bench/run.py entry: records the DP release's cost as absolute targets."""
    print("DP survey release: 1e5 respondents, 2,000 tracts, 6 questions, ε = 1", flush=True)
    m = measure(repeats=max(repeats, 1))
    absolute("dp release, fresh (1e5 respondents)", m["fresh_s"], 10.0, "s",
             f"exact suppression-only aggregation {m['exact_s']:.3f} s")
    absolute("dp release, rerun reusing the ledger", m["reuse_s"], 5.0, "s",
             f"ledger {m['ledger_mb']:.2f} MB")
    info("dp release, noise", f"mean abs. error of n̂ {m['count_mae']:.2f}; of the rate where "
         f"shown {m['rate_mae_shown']:.3f}; need layer shown in {m['shown_share']:.0%} of tracts "
         f"with ≥ 11 respondents (suppression only: {m['exact_shown_share']:.0%})")


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
