"""Write the demo's SYNTHETIC survey (data/raw/nyc/survey_synthetic.csv). No real person is in it.

Respondents are concentrated in 40 outreach tracts chosen at random by population (30–120 each,
with a random outreach factor, so response is biased, as real surveys are): dense enough that the
differentially private release shows them. The chance of reporting unmet need rises with the
tract's poverty rate; the connectedness answers (data/raw/forms/connectedness.xlsx) share a random
tract effect. Names, phones and emails are fake (example.invalid) and exist
only so the pipeline's privacy path is exercised. Seeded: rerunning gives the same file.

    python scripts/make_synthetic_survey.py [--respondents 3000] [--tracts 40] [--seed 20261125]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd
from synthetic import synthetic_survey

RAW = Path(__file__).resolve().parents[1] / "data" / "raw" / "nyc"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=3000)
    parser.add_argument("--tracts", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--out", type=Path, default=RAW / "survey_synthetic.csv")
    args = parser.parse_args()
    tracts = gpd.read_file(RAW / "nyc_tracts_2010.gpkg", layer="tracts")
    acs = pd.read_csv(RAW / "nyc_tract_acs_2013_2017.csv", dtype={"geoid": str})
    tracts = tracts.merge(acs, on="geoid", how="left")
    survey = synthetic_survey(tracts, tracts["pop_total_est"], tracts["pop_inpov_pct_est"],
                              args.respondents, seed=args.seed, n_tracts=args.tracts)
    survey.to_csv(args.out, index=False, lineterminator="\n")
    print(f"wrote {len(survey)} synthetic respondents to {args.out}")


if __name__ == "__main__":
    main()
