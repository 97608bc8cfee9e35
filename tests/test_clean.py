"""Cleaning: conservation, coding of labels, duplicates, consent, linking, change log."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.clean import clean_study, code_label, normalise_key
from analysis.summarise import missingness, source_table, wave_table
from analysis.codebook import load_study

from conftest import TINY_POST, TINY_PRE, write_tiny_study


def _conserved(result):
    for s in result.summary["sources"]:
        assert s["rows_in"] == s["rows_clean"] + s["rows_quarantined"]
        assert s["rows_quarantined"] == sum(s["quarantined_by_reason"].values())
    kept = set(zip(result.data["source"], result.data["source_row"]))
    set_aside = set(zip(result.quarantine["source"], result.quarantine["source_row"]))
    assert not kept & set_aside
    every = {(raw.name, r) for raw in result.raws for r in raw.frame["_row"]}
    assert kept | set_aside == every


def test_sample_conserves_every_row(sample_clean):
    _conserved(sample_clean)


def test_sample_quarantine_matches_planted_dirt(sample_clean, sample_truth):
    by = {s["wave"]: s["quarantined_by_reason"] for s in sample_clean.summary["sources"]}
    dirt = sample_truth["dirt"]
    assert by["pre"] == {"duplicate": dirt["pre"]["duplicates"], "empty": dirt["pre"]["empty"],
                         "no consent": dirt["pre"]["no_consent"], "test submission": dirt["pre"]["tests"]}
    assert by["post"] == {"duplicate": dirt["post"]["duplicates"] + dirt["post"]["incomplete_then_complete"],
                          "preview": dirt["post"]["preview"]}
    assert by["followup"] == {"duplicate": dirt["followup"]["duplicates"], "empty": dirt["followup"]["empty"],
                              "test submission": dirt["followup"]["tests"]}


def test_sample_one_row_per_participant_and_wave(sample_clean, sample_truth):
    data = sample_clean.data
    assert not data.duplicated(["key", "wave"]).any()
    waves = data.groupby("wave", observed=True)["key"].nunique().to_dict()
    planted = pd.Series([w for p in sample_truth["participants"].values() for w in p["waves"]]).value_counts()
    assert waves == planted.to_dict()
    assert data["entry_point"].notna().all()


def test_label_variants_are_logged_and_invalid_values_become_missing(sample_clean, sample_truth):
    rules = sample_clean.changes["rule"].value_counts()
    assert rules["not on scale"] == sample_truth["dirt"]["pre"]["out_of_range"]
    invalid = sample_clean.changes[sample_clean.changes["rule"] == "not on scale"]
    assert set(invalid["old"]) == {"6", "0"} and invalid["new"].isna().all()
    # every planted variant in a kept row is logged; quarantined rows are not in the log
    assert 0 < rules["label variant"] <= sample_truth["dirt"]["pre"]["variants"] + sample_truth["dirt"]["post"]["variants"]


def test_reverse_keyed_item_is_recoded(sample_clean):
    d = sample_clean.data
    answered = d["ts_confused"].notna()
    labels = d.loc[answered, "ts_confused"].cat.codes + 1
    assert (d.loc[answered, "ts_confused_code"] == 6 - labels).all()
    assert (d.loc[d["ts_twitter"].notna(), "ts_twitter_code"] == d.loc[d["ts_twitter"].notna(), "ts_twitter"].cat.codes + 1).all()


def test_dutch_and_english_labels_code_the_same():
    from analysis.codebook import load_codebook
    from analysis.paths import SAMPLE_DIR

    agree = load_codebook(SAMPLE_DIR / "codebook.yaml").scales["agree5"]
    for (code, labels) in agree.levels:
        assert {code_label(label, agree).code for label in labels.values()} == {code}


@given(st.sampled_from(["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree",
                        "Helemaal mee oneens", "Mee oneens", "Neutraal", "Mee eens", "Helemaal mee eens"]),
       st.sampled_from(["{}", " {} ", "{}  ", "upper", "lower", "prefix", "prefix-dot", "nbsp"]))
def test_label_variants_give_the_same_code(label, variant):
    from analysis.codebook import load_codebook
    from analysis.paths import SAMPLE_DIR

    agree = load_codebook(SAMPLE_DIR / "codebook.yaml").scales["agree5"]
    code = code_label(label, agree).code
    written = {"upper": label.upper(), "lower": label.lower(), "prefix": f"{code} - {label}",
               "prefix-dot": f"{code}. {label}", "nbsp": label.replace(" ", "\u00a0")}.get(variant, variant.format(label))
    assert code_label(written, agree).code == code


def test_tiny_study_end_to_end(tiny_study):
    result = clean_study(load_study(tiny_study))
    _conserved(result)
    d = result.data.set_index(["key", "wave"])
    # bob submitted twice: the later one is kept
    assert d.loc[("bob@example.org", "pre"), "q1"] == "Neutral"
    # ANN in capitals with a trailing space links to ann in the first wave
    assert ("ann@example.org", "post") in d.index
    # q2 is reverse keyed: Oneens (1) -> 3
    assert d.loc[("ann@example.org", "post"), "q2_code"] == 3
    # a 7 is not on a three-point scale: missing, marked invalid, logged
    assert pd.isna(d.loc[("dee.jones@example.org", "pre"), "q1_code"])
    assert d.loc[("dee.jones@example.org", "pre"), "q1_missing"] == "invalid"
    assert d.loc[("dee.jones@example.org", "pre"), "q2_missing"] == "dont_know"
    assert d.loc[("bob@example.org", "post"), "q2_missing"] == "dont_know"
    reasons = result.quarantine.set_index("source_row")["reason"]
    assert result.quarantine["reason"].value_counts().to_dict() == {"no consent": 2, "duplicate": 1, "empty": 1}
    # cy refused consent in pre, so cy's post row is set aside too
    assert (result.quarantine["detail"] == "declined in another wave").sum() == 1
    assert reasons.loc[6] == "empty"
    changes = result.changes.set_index(["source", "source_row", "variable"])
    assert changes.loc[("post.csv", 4, "q1"), "rule"] == "label variant"  # "  eens "
    assert changes.loc[("pre.csv", 7, "q1"), "old"] == "7"


def test_quarantine_columns_are_text_whatever_was_set_aside(tmp_path):
    # the second export has nothing set aside when its rows are first coded; the first only
    # duplicates found later; an empty quarantine has the same column types
    pre = "Timestamp,Email,Consent,Q1 statement,Q2 reversed\n3/1/2026 9:00:00,a@x.org,Yes,Agree,Agree\n"
    twice = pre + "3/1/2026 9:01:00,a@x.org,Yes,Neutral,Agree\n"
    post = "Timestamp,Email,Q1 statement,Q2 reversed,Note\n2026-03-02 10:00:00,a@x.org,Eens,Eens,\n"
    for folder, first, expected in ((tmp_path / "dup", twice, 1), (tmp_path / "none", pre, 0)):
        result = clean_study(load_study(write_tiny_study(folder, first, post)))
        assert len(result.quarantine) == expected
        assert result.quarantine.dtypes.astype(str).to_dict() == {
            "source": "str", "source_row": "int64", "wave": "str", "reason": "str", "detail": "str", "raw": "str"}


def test_incomplete_then_complete_keeps_the_complete_one(tmp_path):
    pre = "Timestamp,Email,Consent,Q1 statement,Q2 reversed\n3/1/2026 9:00:00,a@x.org,Yes,Agree,Agree\n"
    post = "Timestamp,Email,Q1 statement,Q2 reversed,Note\n"
    study = write_tiny_study(tmp_path, pre, post)
    (tmp_path / "post.csv").write_text(
        "StartDate,Finished,RecordedDate,Email,Q1,Q2,Note,ResponseId\n"
        "Start Date,Finished,Recorded Date,Email,Q1 statement,Q2 reversed,Note,Response ID\n"
        '{"ImportId":"startDate"},{"ImportId":"finished"},{"ImportId":"recordedDate"},{"ImportId":"QID1"},'
        '{"ImportId":"QID2"},{"ImportId":"QID3"},{"ImportId":"QID4"},{"ImportId":"_recordId"}\n'
        "2026-03-02 10:00:00,True,2026-03-02 10:05:00,a@x.org,Neutraal,Eens,,R_1\n"
        "2026-03-02 11:00:00,False,2026-03-02 11:01:00,a@x.org,Eens,,,R_2\n", encoding="utf-8")
    text = (tmp_path / "study.yaml").read_text().replace("format: csv", "format: qualtrics")
    text = text.replace("{text: [Timestamp]}", "{text: [Timestamp, RecordedDate]}")
    (tmp_path / "study.yaml").write_text(text)
    cb = (tmp_path / "codebook.yaml").read_text().replace("match: {text: [Timestamp]}",
                                                          "match: {text: [Timestamp, RecordedDate]}")
    (tmp_path / "codebook.yaml").write_text(cb)
    result = clean_study(load_study(study))
    post = result.data[result.data["wave"] == "post"]
    assert post["q1"].tolist() == ["Neutral"]  # the later but unfinished attempt is set aside
    assert result.quarantine["detail"].tolist() == ["kept post.csv row 4"]


@settings(max_examples=25, deadline=None)
@given(st.permutations(range(6)))
def test_row_order_does_not_change_the_clean_result(tmp_path_factory, order):
    lines = TINY_PRE.splitlines()
    pre = "\n".join([lines[0]] + [lines[1 + k] for k in order]) + "\n"
    folder = tmp_path_factory.mktemp("perm")
    base = clean_study(load_study(write_tiny_study(folder / "a", TINY_PRE, TINY_POST)))
    shuffled = clean_study(load_study(write_tiny_study(folder / "b", pre, TINY_POST)))
    cols = [c for c in base.data.columns if c not in ("source_row",)]
    pd.testing.assert_frame_equal(base.data[cols], shuffled.data[cols])
    assert sorted(base.quarantine["reason"]) == sorted(shuffled.quarantine["reason"])


def test_normalise_key_links_case_and_spacing():
    assert normalise_key(" Jan.Jansen@Example.NL") == normalise_key("jan.jansen@example.nl ")


def test_quality_tables(sample_processed):
    sources = source_table(sample_processed.summary)
    assert (sources["rows_in"] == sources["rows_clean"] + sources["rows_quarantined"]).all()
    waves = wave_table(sample_processed.data)
    assert waves["wave"].tolist() == ["pre", "post", "followup"]
    assert (waves["linked_to_first_wave"] <= waves["participants"]).all()
    missing = missingness(sample_processed.data, sample_processed.study.codebook)
    shares = missing.drop(columns=["wave", "variable", "n"]).sum(axis=1)
    assert np.allclose(shares, 1.0, atol=1e-3)
    assert missing.loc[missing["wave"] == "post", "dont_know"].sum() > 0


def test_a_time_outside_the_calendar_pandas_holds_is_logged_not_a_crash(tmp_path):
    # pandas holds nanosecond times from 1677 to 2262 only; a typo such as year 1026 or 3026 in a
    # tool's export must become a missing, logged timestamp, with every row kept
    pre = ("Timestamp,Email,Consent,Q1 statement,Q2 reversed\n"
           "1026-03-01 09:00:00,a@x.org,Yes,Agree,Agree\n3026-03-01 09:00:00,b@x.org,Yes,Agree,Agree\n"
           "3/1/2026 9:00:00,c@x.org,Yes,Agree,Agree\n")
    post = "Timestamp,Email,Q1 statement,Q2 reversed,Note\n2026-03-02 10:00:00,a@x.org,Eens,Eens,\n"
    result = clean_study(load_study(write_tiny_study(tmp_path, pre, post)))
    _conserved(result)
    pre_rows = result.data[result.data["wave"] == "pre"].sort_values("source_row")
    assert pre_rows["submitted"].isna().tolist() == [True, True, False]
    logged = result.changes[result.changes["rule"] == "unparseable timestamp"]
    assert sorted(logged["old"]) == ["1026-03-01 09:00:00", "3026-03-01 09:00:00"]
