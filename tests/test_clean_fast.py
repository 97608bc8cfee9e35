"""Each speed-up of the clean stage gives what the plain version it replaces gives (hypothesis).

``analysis.clean_fast`` keeps, beside every vectorised function ``f``, a short
reference ``f_plain`` in pandas or Python. These properties are the reason a
speed-up may stay: on generated inputs with the awkward cases (missing values,
blanks, whitespace and case variants, Unicode, ties, several chunks) both agree.
"""

import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import clean, clean_fast as fast
from analysis.clean import _code_items, _outcomes, code_label, normalise_key
from analysis.codebook import Scale, Variable
from analysis.io import ROW, SOURCE

SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 60)), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# Characters that make cells awkward: whitespace of several kinds (ASCII, controls Python calls
# whitespace, no-break and ideographic spaces), quotes and backslashes, accents, an astral character.
AWKWARD = " \t\n\r\x0b\x0c\x1c\x1f\x85\u00a0\u2003\u3000\"'\\,;/:é\u00c9\u0130ß\U0001F600"
CELL = st.one_of(
    st.sampled_from(["", " ", "Agree", " agree ", "AGREE", "Eens", "eens\u00a0", "Ann@X.org", " ann@x.org",
                     "ANN@X.ORG ", "AB  12\u00a0cd", "Weet ik niet", "3 - Agree", "7", "Straße", "STRASSE"]),
    st.text(alphabet=st.sampled_from("aAbB01 @." + AWKWARD), max_size=8))
CELLS = st.lists(st.one_of(CELL, st.none()), max_size=30)


def text_series(cells: list, cuts: list = ()) -> pd.Series:
    """A ``str`` column of ``cells`` held as several pyarrow chunks (cut at ``cuts``), as readers make them."""
    bounds = [0, *sorted({c % (len(cells) + 1) for c in cuts}), len(cells)]
    chunks = [pa.array(cells[a:b], type=pa.large_string()) for a, b in zip(bounds, bounds[1:])]
    return pd.Series(pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype="str"))


CUTS = st.lists(st.integers(0, 30), max_size=3)


@SETTINGS
@given(cells=CELLS, cuts=CUTS)
def test_factorize_is_pandas_factorize(cells, cuts):
    values = text_series(cells, cuts)
    codes, uniques = fast.factorize(values)
    plain_codes, plain_uniques = fast.factorize_plain(values)
    assert codes.tolist() == plain_codes.tolist() and uniques == plain_uniques


@SETTINGS
@given(cells=CELLS, as_object=st.booleans())
def test_map_distinct_is_a_map_of_every_row(cells, as_object):
    table = {"agree": "tool-first", "eens": "strategy-first"}

    def entry(w):  # as the entry-point map: a folded answer, or missing
        return table.get(w.strip().casefold()) or pd.NA

    values = pd.Series(cells, dtype=object) if as_object else text_series(cells)
    pd.testing.assert_series_equal(fast.map_distinct(values, entry), fast.map_distinct_plain(values, entry))


@SETTINGS
@given(cells=CELLS, cuts=CUTS)
def test_normalise_keys_is_normalise_key_of_every_value(cells, cuts):
    values = text_series(cells, cuts)
    pd.testing.assert_series_equal(fast.normalise_keys(values, normalise_key),
                                   fast.normalise_keys_plain(values, normalise_key))


@SETTINGS
@given(cells=st.lists(st.one_of(st.sampled_from(["a", "b", "B", "é", "\uffff", "\U0001F600", ""]), st.none(),
                                CELL), max_size=30),
       as_object=st.booleans())
def test_key_order_is_a_stable_sort_by_code_point(cells, as_object):
    keys = pd.Series(cells, dtype=object) if as_object else text_series(cells)
    codes, order = fast.key_order(keys)
    plain_codes, plain_order = fast.key_order_plain(keys)
    assert codes.tolist() == plain_codes.tolist() and order.tolist() == plain_order.tolist()


@SETTINGS
@given(rows=st.lists(st.tuples(st.integers(-1, 4), st.booleans(), st.integers(0, 2), st.integers(0, 2)),
                     max_size=40))
def test_repeats_keep_the_same_row_as_the_plain_choice(rows):
    # few distinct values: groups of several rows, and ties on every preference
    group = np.array([r[0] for r in rows], dtype=np.int64)
    preference = [np.array([r[k] for r in rows], dtype=t) for k, t in ((1, bool), (2, np.int64), (3, np.int64))]
    dup, keeper = fast.repeats(group, preference)
    plain_dup, plain_keeper = fast.repeats_plain(group, preference)
    assert dup.tolist() == plain_dup.tolist() and keeper.tolist() == plain_keeper.tolist()


@SETTINGS
@given(cells=CELLS, cuts=CUTS, sliced=st.booleans())
def test_stripped_text_is_strip_with_blanks_missing(cells, cuts, sliced):
    values = text_series(cells, cuts)
    if sliced and len(values) > 1:  # a column that starts inside its first chunk
        values = values.iloc[1:].reset_index(drop=True)
    if not values.isna().any():  # also without a missing value: the path that shares the bytes
        pd.testing.assert_series_equal(fast.stripped_text(values), fast.stripped_text_plain(values))
    filled = values.fillna("")
    pd.testing.assert_series_equal(fast.stripped_text(filled), fast.stripped_text_plain(filled))


@SETTINGS
@given(cells=st.lists(st.one_of(st.sampled_from(["pre", "post", "follow-up", "é"]), st.none()), max_size=20))
def test_as_text_of_a_categorical_is_astype_str(cells):
    values = pd.Series(cells, dtype=object).astype(pd.CategoricalDtype(pd.Index(["pre", "post", "follow-up", "é"],
                                                                                 dtype="str")))
    pd.testing.assert_series_equal(fast.as_text(values), fast.as_text_plain(values))


@SETTINGS
@given(table=st.lists(st.lists(st.sampled_from(["", " ", "\u00a0", "\t", "x", " y "]), min_size=3, max_size=3),
                      max_size=20))
def test_any_filled_is_any_cell_not_blank(table):
    frame = pd.DataFrame(table, columns=["a", "b", "c"], dtype="str")
    assert fast.any_filled(frame, ["a", "b", "c"]).tolist() == fast.any_filled_plain(frame, ["a", "b", "c"]).tolist()


@SETTINGS
@given(cells=st.lists(st.one_of(CELL, st.none()), min_size=1, max_size=30), cuts=CUTS, data=st.data())
def test_take_by_blocks_is_pyarrow_take(monkeypatch, cells, cuts, data):
    monkeypatch.setattr(fast, "_TAKE_BLOCK", 4)  # several blocks on small data
    text = pa.array(text_series(cells, cuts).array)
    rows = np.array(data.draw(st.lists(st.integers(0, len(cells) - 1), max_size=40)), dtype=np.int64)
    assert fast.take(text, rows).to_pylist() == fast.take_plain(text, rows).to_pylist()


@SETTINGS
@given(changes=st.lists(st.tuples(st.sampled_from(["a.csv", "b.csv", "c.csv"]), st.integers(2, 8)), max_size=20),
       data=st.lists(st.tuples(st.sampled_from(["a.csv", "b.csv"]), st.integers(2, 8)), max_size=20))
def test_among_is_membership_of_source_and_row(changes, data):
    changes = pd.DataFrame(changes, columns=["source", "source_row"])
    data = pd.DataFrame(data, columns=["source", "source_row"])
    assert fast.among(changes, data).tolist() == fast.among_plain(changes, data).tolist()


@SETTINGS
@given(numbers=st.sets(st.integers(2, 60), min_size=1, max_size=30), shuffled=st.booleans(), data=st.data())
def test_positions_is_get_indexer(numbers, shuffled, data):
    row_numbers = np.array(sorted(numbers))
    if shuffled:
        row_numbers = np.array(data.draw(st.permutations(row_numbers.tolist())))
    wanted = np.array(data.draw(st.lists(st.sampled_from(row_numbers.tolist()), max_size=20)), dtype=np.int64)
    assert fast.positions(row_numbers, wanted).tolist() == fast.positions_plain(row_numbers, wanted).tolist()


def _two(n: int, pad: bool) -> str:
    return f"{n:02d}" if pad else str(n)


# Google Forms times as they come and as they should not: any month, day and time with or without
# leading zeros, 29-31 of short months, years at and beyond the ends of the fast shape (inside the
# range of nanosecond timestamps, which the plain reading needs), and the
# other ways a time is written (ISO 8601, English and Dutch month names).
GOOGLE_TIME = st.builds(
    lambda m, d, y, h, mi, s, pad: f"{_two(m, pad)}/{_two(d, pad)}/{y} {_two(h, pad)}:{_two(mi, pad)}:{_two(s, pad)}",
    st.integers(0, 13), st.integers(0, 32), st.sampled_from([1679, 1799, 1800, 2000, 2024, 2026, 2199, 2200, 2261]),
    st.integers(0, 24), st.integers(0, 60), st.integers(0, 60), st.booleans())
TIME_CELL = st.one_of(GOOGLE_TIME, st.sampled_from([
    "2026-03-01 09:05:07", "2026-03-01T09:05:07+01:00", "1 March 2026 9:05", "1 maart 2026 9:05",
    "March 1, 2026", "3/1/26 9:05:07", "3/1/2026 9:05", "3/1/2026  9:05:07", "yesterday", "13/1/2026 9:05:07"]))


@SETTINGS
@given(cells=st.lists(st.one_of(TIME_CELL, st.none()), max_size=30))
def test_times_of_format_read_what_pandas_reads(cells):
    fmt = "%m/%d/%Y %H:%M:%S"
    stripped = text_series(cells)
    got = fast.times_of_format(stripped, fmt)
    plain = fast.times_of_format_plain(stripped, fmt)
    read = got.notna()
    # where the fast pass reads a time it is pandas' time; the rest pandas reads after it
    pd.testing.assert_series_equal(got[read], plain[read])
    # and it reads every value of the usual shape: Google Forms' own times
    usual = stripped.str.fullmatch(r"\d{1,2}/\d{1,2}/20[0-2]\d \d{1,2}:[0-5]?\d:[0-5]?\d", na=False) & plain.notna()
    usual &= ~((plain.dt.month == 2) & (plain.dt.day == 29))
    assert read[usual].all()


def test_times_of_format_of_another_format_reads_nothing():
    stripped = text_series(["2026-03-01 09:05:07"])
    assert fast.times_of_format(stripped, "%Y-%m-%d %H:%M:%S").isna().all()
    assert fast.times_of_format_plain(stripped, "%Y-%m-%d %H:%M:%S").notna().all()


@SETTINGS
@given(table=st.lists(st.lists(st.one_of(CELL, st.sampled_from(['say "hi"', "a\\b", "\x00\x07", "line\nbreak"])),
                               min_size=2, max_size=2), min_size=1, max_size=20),
       names=st.sampled_from([["a", "b"], ['"quoted"', "é \\ x"]]), data=st.data())
def test_json_rows_is_json_dumps_of_each_row(monkeypatch, table, names, data):
    monkeypatch.setattr(fast, "_JSON_BATCH", 3)  # several batches on small data
    frame = pd.DataFrame(table, columns=names, dtype="str")
    rows = np.array(data.draw(st.lists(st.integers(0, len(table) - 1), max_size=20)), dtype=np.int64)
    got = list(fast.json_rows(frame, names, rows))
    assert got == fast.json_rows_plain(frame, names, rows)
    assert [json.loads(g) for g in got] == [dict(zip(names, table[r])) for r in rows]


AGREE = Scale("agree3", tuple((k, {"en": e, "nl": n}) for k, (e, n) in enumerate(
    [("Disagree", "Oneens"), ("Neutral", "Neutraal"), ("Agree", "Eens")], 1)),
    {"dont_know": ("I don't know", "Weet ik niet")})
ANSWER = st.one_of(st.sampled_from(["Disagree", "Neutral", "Agree", "Oneens", "Neutraal", "Eens", "agree",
                                    " AGREE ", "eens\u00a0", "3 - Agree", "1 - Agree", "2", "7", "I don't know",
                                    "weet ik niet", "", " ", "maybe"]), CELL)


@SETTINGS
@given(cells=st.lists(ANSWER, max_size=30), reverse=st.booleans())
def test_items_coded_by_distinct_answer_as_cell_by_cell(cells, reverse):
    """clean codes each distinct answer once: the same outcome and log as code_label on every cell."""
    var = Variable("q1", "item", ("pre",), scale=AGREE, reverse=reverse)
    values = text_series(cells)
    prov = pd.DataFrame({SOURCE: "pre.csv", ROW: np.arange(2, len(cells) + 2)})
    logged = []
    got = _code_items(values, var, prov, logged)["q1"]
    outcomes = _outcomes(var)
    coded = [code_label(v, AGREE) for v in cells]
    position = [next(k for k, o in enumerate(outcomes) if (o.missing is None and o.code == c.code)
                     or (o.missing is not None and c.missing == o.missing)) for c in coded]
    assert got.tolist() == position
    # the log: one row per changed cell, grouped by answer in order of first appearance
    plain = [(row, cells[k], AGREE.labels[coded[k].code - 1] if coded[k].missing is None else None, coded[k].rule)
             for k, row in enumerate(prov[ROW]) if coded[k].rule is not None]
    first = {v: k for k, v in reversed(list(enumerate(cells)))}
    plain.sort(key=lambda r: first[r[1]])
    log = pd.concat(logged) if logged else pd.DataFrame(columns=["source_row", "old", "new", "rule"])
    assert [(int(r.source_row), r.old, None if pd.isna(r.new) else r.new, r.rule)
            for r in log.itertuples()] == plain


def test_cleaning_changes_no_process_wide_state(tiny_study):
    from analysis.codebook import load_study

    before = (dict(os.environ), np.geterr(), pd.get_option("display.width"))
    clean.clean_study(load_study(tiny_study))
    assert (dict(os.environ), np.geterr(), pd.get_option("display.width")) == before


@pytest.mark.parametrize("module", [clean, fast])
def test_comments_explain_rules_not_past_timings(module):
    text = Path(module.__file__).read_text(encoding="utf-8")
    timing = re.compile(r"\b\d+(\.\d+)?\s?(s|ms|MB|GB|seconds)\b|times faster|x faster|[0-9] ?% (faster|less)")
    assert [line for line in text.splitlines() if timing.search(line)] == []
