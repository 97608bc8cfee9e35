"""The pipeline: every stage once, stored results, reuse, and a full report for studies unlike the sample."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

from analysis import pipeline, results
from analysis.cli import main
from analysis.codebook import load_study
from analysis.paths import SAMPLE_DIR, SAMPLE_RESULTS, SAMPLE_STUDY
from analysis.protect import DEMO_KEY, pseudonym
from analysis.report import notebook_paths

REAL = Path(__file__).parent / "realdata"
REAL_STUDIES = sorted(p.relative_to(REAL).as_posix() for p in REAL.glob("*/study*.yaml"))
PAGES = [p.stem + ".html" for p in notebook_paths()]


def _text(page: Path) -> str:
    """The visible text of a page."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    return re.sub(r"\s+([,.;:!?)])", r"\1", re.sub(r"\s+", " ", soup.get_text(" ")))


def _report(study: Path, out: Path) -> dict[str, str]:
    assert main(["report", str(study), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.html")) == sorted(PAGES + ["index.html"])
    return {name: _text(out / name) for name in PAGES + ["index.html"]}


def _variant(tmp: Path, *, codebook=None, study=None) -> Path:
    """A copy of the sample study (without its results) with edited codebook and study file."""
    folder = tmp / "study"
    shutil.copytree(SAMPLE_DIR, folder, ignore=shutil.ignore_patterns("results"))  # truth.json: synthetic data
    for name, edit in (("codebook.yaml", codebook), ("study.yaml", study)):
        if edit is not None:
            path = folder / name
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            edit(data)
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return folder / "study.yaml"


# --- a report for every study ------------------------------------------------------------

@pytest.mark.parametrize("name", REAL_STUDIES)
def test_report_on_every_real_study(realdata, name, tmp_path, monkeypatch):
    """Real exports without readiness constructs or entry points: every page is written, 02/03 say why."""
    monkeypatch.setenv("ANALYSIS_PSEUDONYM_KEY", "test key for public real data")
    pages = _report(REAL / name, tmp_path / "reports")
    assert "Where every raw row went" in pages["01_data_quality.html"]
    assert "Not available for this study" not in pages["01_data_quality.html"]
    assert "This study declares no readiness constructs." in pages["02_readiness_profiles.html"]
    assert "analysis: {readiness:" in pages["02_readiness_profiles.html"]
    assert "Not available for this study" in pages["03_entry_points.html"]
    # page 04 has something to show when the exports hold free text
    without_text = "Not available for this study" in pages["04_reflections.html"]
    assert pages["index.html"].count("Not available for this study") == 2 + without_text
    assert "This summary cannot say which entry point helps whom" in pages["00_summary.html"]


def test_report_of_a_study_without_a_dont_know_code(tmp_path, sample_results):
    def no_missing_codes(codebook):
        for scale in codebook["scales"].values():
            scale.pop("missing", None)

    pages = _report(_variant(tmp_path, codebook=no_missing_codes), tmp_path / "reports")
    res = results.load(tmp_path / "reports" / "results")
    assert "dont_know" not in res.responses.filter(like="_missing").stack().unique()
    assert "This study's scales also let people answer" not in pages["01_data_quality.html"]
    # "Weet ik niet" is now an answer off the scale: invalid, and logged
    assert res.summary["changes_by_rule"]["not on scale"] > sample_results.summary["changes_by_rule"]["not on scale"]
    assert "Not available" not in " ".join(pages.values())


def _add_post_question(study: Path, truth: dict) -> None:
    """Add "Hoe begon uw workshop?" to the Qualtrics post-survey, answered as each person's session began."""
    path = study.parent / "raw" / "post_qualtrics.csv"
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, texts, ids = rows[:3]
    email = header.index("Q1")
    answers = {"strategy-first": "Met de strategieën", "tool-first": "Met de tools"}
    out = [header + ["Q6"], texts + ["Hoe begon uw workshop?"], ids + ['{"ImportId":"QID6"}']]
    for row in rows[3:]:
        person = truth["participants"].get(pseudonym(row[email], DEMO_KEY)) if row[email].strip() else None
        out.append(row + [answers[person["entry_point"]] if person else ""])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(out)
    path.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")


def test_report_of_a_study_whose_entry_point_comes_from_a_post_survey_question(tmp_path, sample_truth,
                                                                                sample_results):
    def question(codebook):
        codebook["variables"]["format"] = {"role": "group", "waves": ["post"],
                                           "match": {"text": ["Hoe begon uw workshop?"]}}

    def mapped(study):
        study["groups"]["entry_point"] = {"from": "format", "map": {"Met de strategieën": "strategy-first",
                                                                    "Met de tools": "tool-first"}}

    study = _variant(tmp_path, codebook=question, study=mapped)
    _add_post_question(study, sample_truth)
    pages = _report(study, tmp_path / "reports")
    res = results.load(tmp_path / "reports" / "results")
    people = res.responses.dropna(subset=["entry_point"]).drop_duplicates("participant").set_index("participant")
    planted = {p: v["entry_point"] for p, v in sample_truth["participants"].items()}
    assert len(people) == sum("post" in v["waves"] for v in sample_truth["participants"].values())
    assert (people["entry_point"] == people.index.map(planted)).all()
    # the entry point holds in every wave of a person, also where the question was not asked
    pre = res.responses[(res.responses["wave"] == "pre") & res.responses["participant"].isin(people.index)]
    assert pre["entry_point"].notna().all()
    assert "Not available" not in " ".join(pages.values())
    ours = res.effects.set_index(["outcome", "profile", "effect_type"])
    sample = sample_results.effects.set_index(["outcome", "profile", "effect_type"])
    key = ("confidence", "all", "mean difference")  # everyone answering after the workshop: the same people
    assert ours.loc[key, "estimate"] == pytest.approx(sample.loc[key, "estimate"])


def _rename_constructs(names: dict, *, aspects: bool):
    def edit(codebook):
        for var in codebook["variables"].values():
            if var.get("construct") in names:
                var["construct"] = names[var["construct"]]
        codebook["constructs"] = {new: {"label": {"en": new.replace("_", " ")},
                                        **({"aspect": old} if aspects else {})} for old, new in names.items()}
    return edit


RENAMED = {"tool_skills": "digital_skill", "focus": "sense_of_purpose", "guts": "daring"}


@pytest.mark.parametrize("aspects", [True, False], ids=["with aspects", "without aspects"])
def test_report_of_a_study_whose_constructs_have_other_names(tmp_path, aspects, sample_results):
    def readiness(study):
        study["analysis"]["readiness"] = list(RENAMED.values())

    study = _variant(tmp_path, codebook=_rename_constructs(RENAMED, aspects=aspects), study=readiness)
    pages = _report(study, tmp_path / "reports")
    res = results.load(tmp_path / "reports" / "results")
    assert res.profile_info["k"] == 3
    assert set(res.reliability["construct"]) == set(RENAMED.values())
    assert "digital skill, sense of purpose and daring" in pages["02_readiness_profiles.html"]
    if aspects:  # the constructs say which readiness aspect they measure: the trainers' names
        assert res.profile_names == sample_results.profile_names
    else:
        assert not set(res.profile_names) & set(sample_results.profile_names)
        assert all(n in pages["03_entry_points.html"] for n in res.profile_names)
        assert all(n.capitalize() in pages["00_summary.html"] for n in res.profile_names)
    assert "Not available" not in " ".join(pages.values())


# --- once, and not again ------------------------------------------------------------------

def test_one_report_reads_each_export_once_fits_once_and_a_second_recomputes_nothing(tmp_path, monkeypatch):
    import analysis.clean
    import analysis.io
    import analysis.profiles

    reads, fits = [], []
    read_export, fit_profiles = analysis.io.read_export, analysis.profiles.fit_profiles

    def counted_read(path, *args, **kwargs):
        reads.append(Path(path).name)
        return read_export(path, *args, **kwargs)

    def counted_fit(*args, **kwargs):
        fits.append(1)
        return fit_profiles(*args, **kwargs)

    monkeypatch.setattr(analysis.io, "read_export", counted_read)
    monkeypatch.setattr(analysis.clean, "read_export", counted_read)
    monkeypatch.setattr(analysis.profiles, "fit_profiles", counted_fit)
    out = tmp_path / "reports"
    assert main(["report", str(SAMPLE_STUDY), "--out", str(out)]) == 0
    assert sorted(reads) == sorted(p.name for p in (SAMPLE_DIR / "raw").iterdir())
    assert len(fits) == 1
    pages = {p.name: p.stat().st_mtime_ns for p in out.glob("*.html")}

    reads.clear(), fits.clear()
    from analysis.report import render_reports

    again = render_reports(SAMPLE_STUDY, out, progress=False)
    assert reads == [] and fits == []
    assert [run.status for run in again.build.runs] == ["reused"] * len(pipeline.STAGES)
    assert again.reused and {p.name: p.stat().st_mtime_ns for p in out.glob("*.html")} == pages

    # a changed setting recomputes what depends on it, and only that
    changed = pipeline.build(SAMPLE_STUDY, out / "results",
                             settings=load_study(SAMPLE_STUDY).settings.replace(min_n=12))
    assert [(run.stage, run.status) for run in changed.runs] == [
        ("clean", "reused"), ("scales", "reused"), ("profiles", "reused"), ("compare", "done"),
        ("reflect", "done")]  # quotes and small cells follow min_n too
    assert reads == [] and fits == []


def test_stored_results_name_their_stages_settings_and_files(sample_results):
    manifest = json.loads((sample_results.folder / "manifest.json").read_text())
    assert list(manifest["stages"])[:len(pipeline.STAGES)] == list(pipeline.STAGES)
    assert manifest["settings"]["confidence"] == 0.95 and manifest["settings"]["readiness"] == [
        "tool_skills", "focus", "guts"]
    assert manifest["settings_origin"]["readiness"] == "study file"
    for stage in pipeline.STAGES:
        record = manifest["stages"][stage]
        assert record["status"] == "done" and record["key"]
        for name in record["files"]:
            assert (sample_results.folder / name).is_file()
    public = {p.name for p in sample_results.folder.iterdir() if p.is_file()}
    assert {"responses.parquet", "effects.csv", "profiles.csv", "study.json", "manifest.json"} <= public
    private = {p.name for p in (sample_results.folder / "private").iterdir()}
    assert {"quarantine.csv", "gate.parquet", "inputs.json"} <= private
    described = (sample_results.folder / "study.json").read_text()
    assert str(SAMPLE_DIR) not in described and '"/' not in described  # no paths of this machine


def test_committed_sample_results_are_what_the_pipeline_makes(sample_results):
    """Notebooks open on data/sample/results: it must equal a fresh build (make sample rebuilds it)."""
    for name in ("responses.parquet", "scores.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(SAMPLE_RESULTS / name),
                                      pd.read_parquet(sample_results.folder / name))
    for path in sorted(sample_results.folder.glob("*.csv")) + sorted(sample_results.folder.glob("*.json")) + sorted(
            sample_results.folder.glob("*.xlsx")):  # the coding sheet too: its bytes are fixed
        if path.name == "manifest.json":
            continue
        assert (SAMPLE_RESULTS / path.name).read_bytes() == path.read_bytes(), path.name
    committed = json.loads((SAMPLE_RESULTS / "manifest.json").read_text())
    fresh = json.loads((sample_results.folder / "manifest.json").read_text())
    assert committed["settings"] == fresh["settings"]
    assert [r["status"] for s, r in committed["stages"].items() if s in pipeline.STAGES] == ["done"] * len(pipeline.STAGES)


# --- pages and stored numbers agree ---------------------------------------------------------

def _tables(page: Path) -> list[pd.DataFrame]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    tables = []
    for table in soup.find_all("table"):
        head = [th.get_text(strip=True) for th in table.find("thead").find_all("th")] if table.find("thead") else []
        rows = [[c.get_text(strip=True) for c in tr.find_all(["th", "td"])] for tr in table.find("tbody").find_all("tr")]
        width = max(len(r) for r in rows)
        tables.append(pd.DataFrame(rows, columns=head[-width:] if len(head) >= width else None))
    return tables


def test_numbers_in_the_pages_are_the_stored_ones(sample_outputs, sample_results):
    """Every effect page 03 shows, in the trainer's tables and the researchers', is a stored row of
    effects.csv as the page rounds it; so is every BIC of page 02's fit table."""
    from analysis.summarise import _num, outcome_labels

    res = sample_results
    label = outcome_labels(res)
    researchers, trainers = set(), set()
    for r in res.effects.to_dict("records"):
        name = label.get(r["outcome"], r["outcome"])
        researchers.add((name, r["profile"], r["effect_type"], _num(r["estimate"]),
                         f"[{r['ci_low']:.2f}, {r['ci_high']:.2f}]"))
        scale, places = (100, 0) if r["effect_type"] == "risk difference" else (1, 2)
        trainers.add((name, r["profile"], _num(scale * r["estimate"], "en", places, signed=True),
                      f"{_num(scale * r['ci_low'], 'en', places)} to {_num(scale * r['ci_high'], 'en', places)}"))
    checked = {"trainer": 0, "researcher": 0}
    for table in _tables(sample_outputs / "reports" / "03_entry_points.html"):
        profiles = table["profile"] if "profile" in table.columns else ["all"] * len(table)
        if "difference" in table.columns:
            for (_, row), profile in zip(table.iterrows(), profiles):
                assert (row["outcome"], profile, row["difference"], row["95% interval"]) in trainers, row.to_dict()
                checked["trainer"] += 1
        elif "estimate" in table.columns:
            for (_, row), profile in zip(table.iterrows(), profiles):
                assert (row["outcome"], profile, row["effect"], row["estimate"], row["95% CI"]) in researchers, \
                    row.to_dict()
                checked["researcher"] += 1
    assert checked["trainer"] >= 30 and checked["researcher"] >= 30, checked
    fit = [t for t in _tables(sample_outputs / "reports" / "02_readiness_profiles.html") if "BIC" in t.columns
           or "bic" in t.columns][0]
    shown = fit["BIC" if "BIC" in fit.columns else "bic"]
    assert [float(b.replace(",", "")) for b in shown] == res.fit["bic"].round(2).tolist()


def test_confidence_setting_changes_every_interval_label_and_sentence(tmp_path, sample_outputs, sample_results):
    def ninety(study):
        study["analysis"]["confidence"] = 0.9

    pages = _report(_variant(tmp_path, study=ninety), tmp_path / "reports")
    text = " ".join(pages.values())
    assert "95%" not in text and "95 %" not in text
    assert text.count("90%") >= 10
    for name in PAGES:  # and the sample's pages say 95% where these say 90%
        sample = _text(sample_outputs / "reports" / name)
        assert sample.count("95%") == pages[name].count("90%"), name
    res = results.load(tmp_path / "reports" / "results")
    narrow = res.effects.set_index(["outcome", "profile", "effect_type"])
    wide = sample_results.effects.set_index(["outcome", "profile", "effect_type"])
    assert ((narrow["ci_high"] - narrow["ci_low"]) < (wide["ci_high"] - wide["ci_low"])).all()


def test_a_notebook_never_holds_raw_exports(tmp_path, sample_results):
    """Under the report, kernels read stored results only: reading an export or fitting stops."""
    import nbformat

    from analysis.report import render_reports

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Probe"),
                nbformat.v4.new_code_cell('results_folder = ""', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("from analysis.io import read_export\n"
                                          f"read_export({str(SAMPLE_DIR / 'raw' / 'pre_google_forms.csv')!r})")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "01_probe.ipynb")
    with pytest.raises(RuntimeError, match="reading a raw export inside a report notebook"):
        render_reports(SAMPLE_STUDY, tmp_path / "out", results=sample_results.folder,
                       notebooks=[tmp_path / "01_probe.ipynb"], progress=False)


# --- progress ------------------------------------------------------------------------------

@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "not a terminal"])
def test_progress_bars_on_a_terminal_only(tmp_path, monkeypatch, capsys, tty):
    """A person at a terminal sees the stage and the clean steps move; a pipe, a log or CI sees nothing."""
    import sys

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ANALYSIS_RESULTS_ONLY", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)  # capsys's stand-in for standard error
    assert main(["clean", str(SAMPLE_STUDY), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    if tty:
        assert "stages" in err and "read and clean the exports" in err and "it/s" in err
    else:
        assert err == ""
    monkeypatch.setenv("CI", "true")  # under CI never, terminal or not
    assert main(["clean", str(SAMPLE_STUDY), "--out", str(tmp_path / "ci")]) == 0
    assert capsys.readouterr().err == ""
