"""The audit's prepared value matcher finds exactly what the former per-file scan found."""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from aiddeserts.privacy.audit import (
    STRETCH_SPACING,
    EscapedText,
    ValueMatcher,
    text_variants,
    tokens,
    words,
)
from aiddeserts.privacy.rules import TOKEN

NYC = Path(__file__).resolve().parents[1] / "data" / "raw" / "nyc"


def reference_find_values_by_kind(texts: Sequence[str], values_by_kind: Mapping[str, Sequence[str]]
                                  ) -> dict[str, int]:
    """The scan the audit used before the matcher: values re-tokenised per call, texts
    tokenised with TOKEN.findall, every position of a start token examined."""
    exact: dict[str, set[str]] = {}
    folded: dict[str, dict[int, dict[tuple[str, ...], set[str]]]] = {}
    for kind, values in values_by_kind.items():
        for value in values:
            words = tuple(TOKEN.findall(value))
            if len(words) == 1 and words[0].isalpha():
                exact.setdefault(words[0], set()).add(kind)
            elif words:
                low = tuple(t.lower() for t in words)
                folded.setdefault(low[0], {}).setdefault(len(low), {}).setdefault(
                    low, set()).add(kind)
    found: dict[str, set[tuple[str, ...]]] = {}
    for text in texts:
        sequence = TOKEN.findall(text)
        for i, token in enumerate(sequence):
            for kind in exact.get(token, ()):
                found.setdefault(kind, set()).add(("=", token))
            for n, wanted in folded.get(token.lower(), {}).items():
                window = tuple(t.lower() for t in sequence[i:i + n])
                for kind in wanted.get(window, ()):
                    found.setdefault(kind, set()).add(window)
    return {kind: len(hits) for kind, hits in found.items()}


def nyc_values() -> dict[str, list[str]]:
    """Personal values of the NYC demo survey (synthetic), by column, plus surnames alone."""
    survey = pd.read_csv(NYC / "survey_synthetic.csv", dtype=str, keep_default_na=False)
    values = {f"column {c}": sorted(set(survey[c])) for c in ("respondent_id", "name", "phone",
                                                               "email")}
    values["one word"] = ["Synthetic", "Person", "White", "Pantry", "Nowhere"]
    return values


def planted_page(values: dict[str, list[str]]) -> str:
    """A map-like page: the demo's real asset files as embedded data, with survey values
    planted in many disguises (case, separators, escapes, inside e-mail addresses)."""
    rng = random.Random(20)
    pantries = (NYC / "food_pantries.geojson").read_text(encoding="utf-8")
    fridges = (NYC / "community_fridges.csv").read_text(encoding="utf-8")
    planted = []
    for column in values.values():
        for value in rng.sample(column, min(40, len(column))):
            planted += [value, value.upper(), value.replace(" ", "-"), value.replace("-", " "),
                        html.escape(value), json.dumps(value)[1:-1].replace("@", "\\u0040"),
                        f"x.{value}@mail.example", f"{value}@", f"@{value}", f"{value}.{value}"]
    return (f"<html><script>var pantries = {pantries};</script><pre>{fridges}</pre><p>"
            + " | ".join(planted) + "</p></html>")


def test_matcher_agrees_with_the_former_scan_on_nyc_data_with_planted_values():
    values = nyc_values()
    page = planted_page(values)
    texts = text_variants(page)
    matcher = ValueMatcher(values)
    found = matcher.count(texts)
    assert found == reference_find_values_by_kind(texts, values)
    assert set(found) == set(values)  # every kind was planted, so every kind is found
    # The real survey file holds every value; the real asset file alone holds none of them.
    survey = (NYC / "survey_synthetic.csv").read_text(encoding="utf-8")
    assert matcher.count([survey]) == reference_find_values_by_kind([survey], values)
    pantries = (NYC / "food_pantries.geojson").read_text(encoding="utf-8")
    assert matcher.count([pantries]) == reference_find_values_by_kind([pantries], values)
    assert ValueMatcher({}).count(texts) == {}
    # The page read once, its variants only where they differ from it: the same finds.
    assert matcher.count([EscapedText(texts[0])]) == found


#: Pieces of a fuzzed page: words of the values below, separators, cuts, e-mail parts, and
#: the escapes of the variants (character references, JSON escapes of letters and markup).
_PIECES = ["jane", "Jane", "doe", "DOE", "555", "0101", "white", "White", "x", " ", " ", "\n",
           "-", ".", ",", "@", "mail", "example", "&amp;", "&#32;", "&#106;", "&lt;b&gt;",
           "&jane", "&#x64;oe", "\\u006a", "\\u0020", "\\u003cb\\u003e", "\\/", "\\u0026#106;",
           "&#92;u0064", "\t", "<b>", "&nbsp;", "&"]


def test_escaped_text_finds_what_every_variant_whole_finds():
    """Scanning the text and the stretches where a variant differs finds exactly what
    scanning the three variants whole finds: values of one to four words, matched across
    escapes, cuts and e-mail tokens, variants read whole or by stretches."""
    rng = random.Random(11)
    values = {"name": ["Jane Doe", "doe jane x doe"], "phone": ["555-0101"], "one": ["White"],
              "email": ["jane.doe@mail.example"], "pair": ["x jane"],
              "long words": [f"{'a' * 40} {'b' * 40} {'c' * 40} doe"]}
    matcher = ValueMatcher(values)
    assert matcher.context == 3
    by_stretches = whole = 0
    for _ in range(3000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 60)))
        expected = reference_find_values_by_kind(text_variants(text), values)
        found = matcher.count([EscapedText(text)])
        assert found == expected, repr(text)
        if sum(map(text.count, "&\\")) * STRETCH_SPACING > len(text):
            whole += 1
        else:
            by_stretches += 1
    assert whole > 100
    # A long page with few escapes takes the stretches. Its words are no value; values are
    # planted with an escape in their first, middle or last word, so that only a variant
    # holds them, alone or a few words apart (their stretches then overlap).
    hidden = ["&#106;ane doe", "jane &#x64;oe", "\\u006aane doe", "jane\\u0020doe", "&#87;hite",
              "\\u0057hite", "doe jane x &#100;oe", "&#100;oe jane x doe", "doe &#106;ane x doe",
              "555&#45;0101", "jane.doe&#64;mail.example", "jane.doe\\u0040mail.example",
              "x &#106;ane", "x\\u0020jane", "&#106;ane&#32;doe", "\\u0026#106;ane doe",
              "&#106;ane &#x64;oe", "&#100;oe jane x &#100;oe", "\\u006aane \\u0064oe",
              f"{'a' * 40} {'b' * 40} {'c' * 40} &#100;oe"]
    kinds_found: set[str] = set()
    for trial in range(400):
        words = [rng.choice(["y", "z", "q", "doe", "jane"]) for _ in range(3000)]
        at = rng.randrange(len(words) - 20)
        for _ in range(rng.randint(1, 4)):
            words[at] = rng.choice(hidden)
            at = min(at + rng.randint(1, 6), len(words) - 1)
        if trial % 5 == 0:  # one at the very start or end of the text
            words[0 if trial % 10 else -1] = rng.choice(hidden)
        text = (" " if trial % 2 else "\n").join(words)
        assert sum(map(text.count, "&\\")) * STRETCH_SPACING <= len(text)
        found = matcher.count([EscapedText(text)])
        assert found == reference_find_values_by_kind(text_variants(text), values), trial
        kinds_found |= set(found)
        by_stretches += 1
    assert kinds_found == set(values)
    assert by_stretches > 300


def test_tokens_equal_token_findall():
    rng = random.Random(7)
    alphabet = "ab1_.+-@ ,:éİ\u0307\n"
    # Letters, digits and numbers of other scripts (words); spaces, marks, dashes, controls,
    # a lone surrogate and a zero-width space (separators): split as re's \w splits them.
    other = "²٣ǅß\xa0\u2028\u3000\x1f\x85—°·\u200b\ud800€\U0001f600𝟙_\t"
    for trial in range(20_000):
        chars = alphabet if trial % 2 else alphabet + other
        text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 40)))
        assert tokens(text) == TOKEN.findall(text), repr(text)
        assert words(text) == re.findall(r"\w+", text), repr(text)
    page = planted_page(nyc_values())
    for text in text_variants(page):
        assert tokens(text) == TOKEN.findall(text)


def test_near_with_a_bounded_search_equals_the_full_nearest_neighbour_test():
    """The k-d tree search stops beyond the widest tolerance: the same answer as comparing
    every point's true nearest distance, also for points exactly at their tolerance."""
    from scipy.spatial import cKDTree

    from aiddeserts.privacy.audit import _near

    rng = np.random.default_rng(3)
    targets = rng.random((5000, 2)) * 10_000
    points = np.concatenate([rng.random((20_000, 2)) * 14_000 - 2_000,
                             targets[:500] + [[3.0, 4.0]]])  # 5 m from a target
    nearest = cKDTree(targets).query(points, k=1)[0]
    # The last 500 points sit exactly at their tolerance (their own nearest distance).
    tolerance = np.concatenate([rng.choice([0.5, 5.0, 50.0], 20_000), nearest[-500:]])
    expected = nearest <= tolerance
    got = _near(points, tolerance, targets)
    assert (got == expected).all() and got[-500:].all() and not got[:20_000].all()
    below = np.nextafter(nearest[-500:], 0)  # a hair short of each one's nearest target
    assert not _near(points[-500:], below, targets).any()


def reference_table_pairs(table: pd.DataFrame):
    """`table_pairs` before the finite-number prefilter: every cell through `pd.to_numeric`
    (inf kept as a value until the pairing drops it)."""
    from aiddeserts.privacy.audit import Candidates, _decimals, column_pairs

    out = Candidates()
    numeric = []
    for column in table.columns:
        text = table[column].astype("string").str.strip()
        values = pd.to_numeric(text, errors="coerce")
        if values.notna().any():
            keep = values.notna().to_numpy()
            numeric.append((np.where(keep, values.to_numpy(dtype=float, na_value=np.nan), np.nan),
                            np.where(keep, _decimals(text.fillna("")), 0)))
    column_pairs(numeric, out)  # the pairing itself is unchanged
    return out.arrays()


def test_table_pairs_equal_parsing_every_cell():
    """The same pairs (values, decimals, order) as parsing every cell, on odd numeric texts
    (signs, exponents, inf, nan, huge and 2^53+ integers, hex, commas, Unicode digits, line
    breaks inside a value) mixed
    with ids and names as published tables hold them."""
    from aiddeserts.privacy.audit import Candidates, finite_numbers, table_pairs

    odd = ["1e5", " 5", "5 ", "+.5", "-0", "5.", ".5", "00012", "1E+05", "-73.98765", "40.7",
           "inf", "-Inf", "infinity", "nan", "NaN", "", " ", "0x10", "1,5", "1_000", "١٢٣", "１２",
           "1e", "e5", "+-1", "1.2.3", "--5", "12345678901234567890", "9007199254740993",
           "-9223372036854775809", "1e400", "-1e-400", "3f2a9c1e-0b7d-5e1a-9f00-1a2b3c4d5e6f",
           "Fridge 12", "12 Main St", "2026-12-01", "1.5f", "True", "4e-3", "0.125",
           "12\n34", "x\n5.5", "5.5\nx", "\n", "7\n"]
    rng = random.Random(7)
    for trial in range(60):
        rows = rng.randrange(0, 40)
        table = pd.DataFrame({
            f"c{k}": [rng.choice(odd) if rng.random() < 0.6 else
                      f"{rng.uniform(-200, 200):.{rng.randrange(0, 8)}f}" for _ in range(rows)]
            for k in range(rng.randrange(1, 6))})
        if trial % 7 == 0 and rows:  # a whole column of one kind of text
            table["same"] = rng.choice(odd)
        ours = Candidates()
        table_pairs(table, ours)
        for got, want in zip(ours.arrays(), reference_table_pairs(table), strict=True):
            assert np.array_equal(got, want), table
    text = pd.Series(odd, dtype="string")
    want = pd.to_numeric(text.str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    got = finite_numbers(text.str.strip())
    assert np.array_equal(got, np.where(np.isfinite(want), want, np.nan), equal_nan=True)


def test_text_pairs_parse_numbers_as_float_does():
    from aiddeserts.privacy.audit import NUMBER_PAIR, Candidates, text_pairs

    rng = random.Random(3)
    text = ", ".join(f"{rng.uniform(-1e6, 1e6):.{rng.randrange(0, 17)}f}" for _ in range(3000))
    text += " 9007199254740993 -0 00012 12345678901234567890123"
    found = NUMBER_PAIR.findall(text)
    out = Candidates()
    text_pairs(text, out)
    a, b, decimals = out.arrays()
    assert len(a) == len(found) > 3000
    assert a.tolist() == [float(f[0]) for f in found]
    assert b.tolist() == [float(f[2]) for f in found]
    assert decimals.tolist() == [min(len(f[1]), len(f[3])) for f in found]


def regex_pairs(text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    """What the audit's number-pair regex finds: first numbers, second numbers, decimals."""
    from aiddeserts.privacy.audit import NUMBER_PAIR

    found = NUMBER_PAIR.findall(text)
    return ([f[0] for f in found], [f[2] for f in found], [len(f[1]) for f in found],
            [len(f[3]) for f in found])


def found_pairs(text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    from aiddeserts.privacy.audit import number_pairs

    first, second, first_decimals, second_decimals = number_pairs(text)
    return first, second, first_decimals.tolist(), second_decimals.tolist()


#: Pieces of the random texts: what numbers and separators are made of, and characters the
#: regex classes treat in their own ways (\s holds \x1c-\x1f, \x85 and U+2028; \w holds é, ß,
#: Ⅻ and ², not U+0301 nor a lone surrogate; \d holds the fullwidth and Arabic-Indic digits).
PAIR_PIECES = [*"0123456789" * 4, *".-,; \t\n\r\"':=_aZ", "lng", '"lat": ', ", 'x'=", "\x1c",
               "\x1f", "\x0b", "\xa0", "\x85", "\u2028", "\u3000", "é", "ß", "—", "\u0301",
               "\ud800", "\U0001f600", "Ⅻ", "²"]
OTHER_DIGITS = ["\uff13", "\u0663"]


def test_number_pairs_equal_the_regex_on_random_text(monkeypatch):
    from aiddeserts.privacy import audit

    rng = random.Random(11)
    for trial in range(3000):
        pieces = PAIR_PIECES + (OTHER_DIGITS if trial % 10 == 0 else [])
        text = "".join(rng.choice(pieces) if rng.random() < 0.9 else chr(rng.randrange(128, 0x110000))
                       for _ in range(rng.randrange(0, 90)))
        # Blocks of a few bytes: numbers and separators meet every kind of cut.
        monkeypatch.setattr(audit, "NUMBER_BLOCK_BYTES", rng.choice([1, 2, 3, 5, 16, 1 << 20]))
        assert found_pairs(text) == regex_pairs(text), repr(text)


def test_number_pairs_equal_the_regex_on_the_demo_files(monkeypatch):
    from aiddeserts.privacy import audit

    texts = [path.read_text(encoding="utf-8") for path in sorted(NYC.iterdir())
             if path.suffix in (".csv", ".geojson")]
    pantries = json.loads((NYC / "food_pantries.geojson").read_text(encoding="utf-8"))
    texts.append(json.dumps(pantries, ensure_ascii=False, indent=1))  # spaced out
    texts.append("é " + texts[0])  # the same numbers, found through the UTF-8 offsets
    pairs = 0
    for block, length in ((1 << 20, None), (4096, None), (7, 20_000)):
        monkeypatch.setattr(audit, "NUMBER_BLOCK_BYTES", block)
        for text in (text[:length] for text in texts):
            want = regex_pairs(text)
            assert found_pairs(text) == want
            pairs += len(want[0])
    assert pairs > 3 * 1000  # the pantries' coordinates, at least


def regex_maybe_finite(text: pd.Series) -> np.ndarray:
    """The audit's number candidates before: the column searched as one text by the regex."""
    from aiddeserts.privacy.audit import _MAYBE_FINITE

    values = text.fillna("").tolist()
    starts = np.zeros(len(values), np.int64)
    np.cumsum(np.fromiter(map(len, values), np.int64, len(values))[:-1] + 1, out=starts[1:])
    hits = np.fromiter((m.start() for m in _MAYBE_FINITE.finditer("\n".join(values))), np.int64)
    maybe = np.zeros(len(values), bool)
    maybe[np.searchsorted(starts, hits, side="right") - 1] = True
    return maybe


def test_number_candidates_equal_the_regex_search():
    from aiddeserts.privacy.audit import _maybe_finite

    rng = random.Random(5)
    pieces = [*"0123456789.eE+-" * 3, *" \n\rax,", "é", "\u0663", "inf", "nan", "1\n2", ""]
    for _ in range(2000):
        values = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 8)))
                  for _ in range(rng.randrange(0, 30))] + ([None] if rng.random() < 0.2 else [])
        text = pd.Series(values, dtype="string")
        assert np.array_equal(_maybe_finite(text), regex_maybe_finite(text)), values
    survey = pd.read_csv(NYC / "survey_synthetic.csv", dtype=str, keep_default_na=False)
    for column in survey.columns:
        text = survey[column].astype("string").str.strip()
        assert np.array_equal(_maybe_finite(text), regex_maybe_finite(text)), column


def test_decimals_equal_the_regex_extract():
    from aiddeserts.privacy.audit import _decimals

    def extracted(text: pd.Series) -> np.ndarray:
        return text.str.extract(r"\.(\d+)", expand=False).str.len().fillna(0).to_numpy(dtype=int)

    rng = random.Random(9)
    pieces = [*"0123456789" * 3, *".e+-x\n ", "é", "\u0663"]
    for _ in range(2000):
        values = ["".join(rng.choice(pieces) for _ in range(rng.randrange(0, 10)))
                  for _ in range(rng.randrange(0, 25))] + ([None] if rng.random() < 0.2 else [])
        text = pd.Series(values, dtype="string")
        assert np.array_equal(_decimals(text), extracted(text)), values
