"""Real exports nobody here wrote (../shared/realdata): published totals, twins, privacy.

Totals are the ones the data's own projects published, as listed in
../shared/realdata/README.md (CodeRefinery pre-/post-workshop survey notebooks;
Jupyter surveys). Every test goes through the library's public functions.
"""

from pathlib import Path

import pandas as pd
import pytest

from analysis.clean import clean_study
from analysis.codebook import load_study

STUDIES = Path(__file__).parent / "realdata"


def _clean(name: str):
    return clean_study(load_study(STUDIES / name))


def _total(result, key: str) -> int:
    return sum(s[key] for s in result.summary["sources"])


def _conserved(result) -> None:
    assert all(s["rows_in"] == s["rows_clean"] + s["rows_quarantined"] for s in result.summary["sources"])
    assert len(result.data) + len(result.quarantine) == _total(result, "rows_in")


def test_coderefinery_pre_workshop_totals(realdata):
    """Published: Typeform 407, Indico 663, together 1070, online workshops 301."""
    typeform = _clean("coderefinery_pre_typeform/study.yaml")
    indico = _clean("coderefinery_pre_indico/study.yaml")
    for result in (typeform, indico):
        _conserved(result)
    assert len(typeform.summary["sources"]) == 14 and _total(typeform, "rows_in") == 407
    assert _total(indico, "rows_in") == 663 and len(typeform.data) + len(indico.data) == 1070
    online = indico.data["source"].str.contains(r"^20\d\d/online", regex=True)
    assert online.sum() == 301
    # nothing set aside: every response in these exports has answers
    assert len(typeform.quarantine) == len(indico.quarantine) == 0


def test_coderefinery_post_workshop_totals(realdata):
    """Published: 317 respondents, 316 answered the position question, 80 attended online."""
    result = _clean("coderefinery_post/study.yaml")
    _conserved(result)
    data = result.data
    assert len(data) == 317
    assert (data["position"].notna() | data["position_other"].notna()).sum() == 316
    assert data["workshop"].str.contains("online", case=False).sum() == 80


def test_straight_and_curly_apostrophes_and_leading_spaces_code_alike(realdata):
    result = _clean("coderefinery_post/study.yaml")
    data = result.data
    by_year = data[data["source"].str.contains("typeform")].groupby("source")["version_control_change"]
    # both Typeform years use every level of the scale, whatever the apostrophe
    assert all(set(s.dropna().unique()) >= {"I'm using this tool better than before", "I started using this tool"}
               for _, s in by_year)
    variants = result.changes[result.changes["rule"] == "label variant"]
    assert variants["old"].str.contains("\u2019|^ ", regex=True).all() and len(variants) > 0
    # yes/no written as 1/0 (Typeform) and Yes/No (Indico) are one variable
    assert set(data["easier_collaboration_code"].dropna().unique()) == {0, 1}
    assert data.groupby(data["source"].str.contains("indico"))["easier_collaboration_code"].count().min() > 20


def test_jupyter_surveygizmo_partial_and_complete(realdata):
    """Published: 1706 rows, 927 Partial, 779 Complete."""
    result = _clean("jupyter_notebook_ux/study.yaml")
    _conserved(result)
    (source,) = result.summary["sources"]
    assert source["format"] == "surveygizmo"
    assert source["rows_in"] == 1706 and source["rows_complete"] == 779
    assert source["rows_in"] - source["rows_complete"] == 927
    # partial submissions with no answer at all are set aside as empty, the rest kept and marked
    assert source["quarantined_by_reason"] == {"empty": source["rows_quarantined"]}
    complete_set_aside = result.quarantine["raw"].str.contains('"Status": "Complete"').sum()
    assert result.data["complete"].sum() + complete_set_aside == 779


def test_jupyter_surveygizmo_slots_and_write_ins_are_one_variable(realdata):
    """"Tool / Application #1:..#3:" is one variable; counts checked against the csv module."""
    import csv

    result = _clean("jupyter_notebook_ux/study.yaml")
    (raw,) = result.raws
    data = result.data
    slots = [c for c in data.columns if c.startswith("integrations")]
    assert slots == ["integrations_1", "integrations_2", "integrations_3"]
    assert [c for c in data.columns if c.startswith("run_how")] == ["run_how", "run_how_other"]
    with open(raw.path, encoding=raw.encoding, newline="") as fh:
        records = list(csv.reader(fh))
    header, body = records[0], records[1:]
    for k in (1, 2, 3):
        at = next(i for i, h in enumerate(header) if h.startswith(f"Tool / Application #{k}:"))
        answered = sum(1 for r in body if r[at].strip())
        assert data[f"integrations_{k}"].notna().sum() == answered > 50
    at = header.index("Other - Write In:How do you run the Jupyter Notebook?")
    assert data["run_how_other"].notna().sum() == sum(1 for r in body if r[at].strip()) > 50
    # the choice itself is kept beside the write-in
    assert (data["run_how"] == "Other - Write In").sum() > 0


def test_ds4owd_csv_and_xlsx_twins_clean_to_identical_data(realdata):
    csv, xlsx = _clean("ds4owd/study_csv.yaml"), _clean("ds4owd/study_xlsx.yaml")
    _conserved(csv)
    a, b = csv.data, xlsx.data  # sources are named alike in both study files
    pd.testing.assert_frame_equal(a, b)
    assert csv.summary["participants_per_wave"]["pre"] == 197  # 212 rows, 197 distinct ids
    assert csv.quarantine["reason"].tolist() == ["duplicate"] * 15
    assert a.loc[a["wave"] == "pre", "submitted"].notna().all()


def test_jupyter_instructor_names_reach_no_processed_output(realdata, tmp_path):
    import re

    from analysis.cli import main
    from analysis.io import read_export
    from analysis.publish import check_privacy

    study = STUDIES / "jupyter_education/study.yaml"
    assert main(["clean", str(study), "--out", str(tmp_path)]) == 0
    raw = read_export(load_study(study).sources[0].path)
    column = next(c for c in raw.frame.columns if "names of the course instructors" in c)
    names = {n.strip() for cell in raw.frame[column] for n in re.split(r"[\n,;&]|\band\b", cell)
             if len(n.strip().split()) >= 2}
    assert len(names) > 50
    public = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.*") if p.suffix != ".parquet")
    public += pd.read_parquet(tmp_path / "responses.parquet").to_csv()
    public = public.casefold()
    assert [n for n in names if n.casefold() in public] == []
    assert column not in pd.read_parquet(tmp_path / "responses.parquet").columns
    leaks, files = check_privacy(study, tmp_path)
    assert leaks == [] and files == 6


def test_multiselect_labels_holding_the_separator(realdata):
    result = _clean("jupyter_education/study.yaml")
    data = result.data
    assembly = data["languages:assembly_language_lc3_little_computer_3"]
    assert assembly.sum() == 1
    unknown = result.changes.loc[result.changes["rule"] == "unknown option", "old"]
    assert "Little Computer 3)" not in set(unknown) and "Assembly Language (LC3" not in set(unknown)
    # every answered cell is resolved: shares sum over options >= 1 per answered row
    options = [c for c in data.columns if c.startswith("languages:")]
    answered = data[options].notna().all(axis=1)
    assert answered.sum() >= 120 and (data.loc[answered, options].sum(axis=1) >= 0).all()
    assert data["languages:python_3"].sum() == 88  # as counted by splitting on ", " (no label holds a comma)


def test_typeform_option_columns_match_a_plain_count(realdata):
    """One column per option: the Git block counted by the library equals a plain pandas count."""
    result = _clean("coderefinery_pre_typeform/study.yaml")
    expected = 0
    for source in load_study(STUDIES / "coderefinery_pre_typeform/study.yaml").sources:
        frame = pd.read_csv(source.path, dtype=str, keep_default_na=False)
        headers = list(frame.columns)
        if "I use version control, but I don't know which system" in headers:
            git = headers.index("I use version control, but I don't know which system") + 1
            expected += (frame.iloc[:, git].str.strip() != "").sum()
    assert expected > 100
    assert result.data["version_control:git"].sum() == expected


def test_real_exports_read_in_parts_read_as_in_one_piece(realdata, monkeypatch):
    """Every real CSV export, forced into parts (4 KB blocks), reads as pandas reads it in one piece.

    These are the exports with line breaks, quotes and commas inside answers that a large file
    would have; the second implementation is the one-piece read itself.
    """
    import analysis.io as io

    monkeypatch.setattr(io, "_BLOCK", 4096)
    monkeypatch.setattr(io, "_cores", lambda: 2)
    read_in_parts = 0
    for path in sorted(realdata.rglob("*.csv")):
        with monkeypatch.context() as one_piece:
            one_piece.setattr(io, "_cores", lambda: 1)
            expected = io._read_records(path)
        found = []
        real = io._parse_in_parts
        monkeypatch.setattr(io, "_parse_in_parts", lambda *a: found.append(real(*a)) or found[-1])
        got = io._read_records(path)
        monkeypatch.setattr(io, "_parse_in_parts", real)
        pd.testing.assert_frame_equal(got[0], expected[0], obj=str(path))
        assert got[1:] == expected[1:]
        read_in_parts += bool(found and found[0] is not None)
    assert read_in_parts >= 30  # 37 of the 54 are large enough for 4 KB blocks
