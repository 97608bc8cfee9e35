"""Command line: the contracts of ../shared/DESIGN.md and one-line errors."""

import json
import subprocess
import sys

import pandas as pd

from analysis.cli import main
from analysis.paths import SAMPLE_STUDY


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "analysis", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_simulate_then_clean(tmp_path):
    assert main(["simulate", "--seed", "5", "--participants", "60", "--out", str(tmp_path / "s")]) == 0
    assert main(["clean", str(tmp_path / "s" / "study.yaml"), "--out", str(tmp_path / "o")]) == 0
    out = tmp_path / "o"
    for name in ("responses.parquet", "responses.csv", "changes.csv", "summary.json", "private/quarantine.csv"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    per_source = {s["source"]: s for s in summary["sources"]}
    assert all(s["rows_in"] == s["rows_clean"] + s["rows_quarantined"] for s in per_source.values())
    truth = json.loads((tmp_path / "s" / "truth.json").read_text())
    assert set(pd.read_parquet(out / "responses.parquet")["participant"]) == set(truth["participants"])


def test_user_mistake_is_one_line_with_file_row_and_column(tmp_path, tiny_study):
    codebook = tiny_study.parent / "codebook.yaml"
    codebook.write_text(codebook.read_text().replace("role: text", "role: prose"))
    result = _run("clean", tiny_study, "--out", tmp_path / "o")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert "codebook.yaml" in lines[0] and "row " in lines[0] and "variables.note.role" in lines[0]


def test_missing_study_file(tmp_path):
    result = _run("clean", tmp_path / "nope.yaml", "--out", tmp_path / "o")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "nope.yaml" in result.stderr


def test_profiles_and_compare_contracts(tmp_path, sample_truth):
    """The files ../shared/DESIGN.md promises, joinable with truth.json on participant; compare uses the
    profiles of the same results folder."""
    out = tmp_path / "out"
    assert main(["profiles", "data/sample/study.yaml", "--out", str(out), "--resamples", "20"]) == 0
    reliability = pd.read_csv(out / "reliability.csv")
    assert {"construct", "alpha", "omega", "n"} <= set(reliability.columns)
    assert set(reliability["construct"]) == {"tool_skills", "focus", "guts"}
    fit = pd.read_csv(out / "fit.csv")
    assert fit["chosen"].sum() == 1 and set(fit["k"]) == set(range(1, 7))
    assert {"bic", "aic", "sabic", "icl", "entropy", "smallest_n", "blrt_p"} <= set(fit.columns)
    profiles = pd.read_csv(out / "profiles.csv")
    posterior = [c for c in profiles.columns if c.startswith("posterior: ")]
    assert len(posterior) == fit.loc[fit["chosen"], "k"].item()
    assert set(profiles["participant"]) == set(sample_truth["participants"])
    assert abs(profiles[posterior].sum(axis=1) - 1).max() < 1e-9
    before = (out / "profiles.csv").stat().st_mtime_ns

    result = _run("compare", "data/sample/study.yaml", "--out", out, "--resamples", "20")
    assert result.returncode == 0, result.stderr
    assert "within 3 profiles" in result.stdout
    assert (out / "profiles.csv").stat().st_mtime_ns == before  # the stored profiles, not a refit
    effects = pd.read_csv(out / "effects.csv")
    for column in ("outcome", "profile", "effect_type", "estimate", "ci_low", "ci_high", "p", "p_adjusted",
                   "n_strategy_first", "n_tool_first", "sessions_strategy_first", "sessions_tool_first",
                   "interpretable"):
        assert column in effects.columns
    assert set(effects["profile"]) >= {"all"} | {c.removeprefix("posterior: ") for c in posterior}
    assert effects["profile"].str.contains(" minus ").any()  # interaction rows
    assert (effects["sessions_tool_first"] == 3).all() and (effects["sessions_strategy_first"] == 3).all()


def test_profile_names_with_commas_are_not_joined_with_commas(tmp_path):
    out = tmp_path / "out"
    result = _run("profiles", "data/sample/study.yaml", "--out", out, "--resamples", "5", "--k-max", "3")
    assert result.returncode == 0, result.stderr
    assert "('new to the tools'; 'focused but tool-shy'; 'confident explorers')" in result.stdout


def test_a_stage_the_study_cannot_run_says_what_it_lacks(tmp_path, tiny_study):
    result = _run("profiles", tiny_study, "--out", tmp_path / "out")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("profiles: not available: This study declares no readiness constructs.")
    assert "analysis: {readiness:" in result.stderr and "Traceback" not in result.stderr


def test_bad_setting_on_the_command_line_is_one_line(tmp_path):
    result = _run("compare", "data/sample/study.yaml", "--out", tmp_path / "o", "--confidence", "1.5")
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: command line: expected confidence must be a number from 0.5 to below 1, "
                                     "such as 0.95; got 1.5")


def test_report_pdf_without_chromium_says_it_skipped_and_the_report_succeeds(sample_outputs, monkeypatch, capsys):
    reports = sample_outputs / "reports"
    monkeypatch.setenv("ANALYSIS_CHROMIUM", str(reports / "no-such-browser"))
    (reports / "summary.pdf").unlink(missing_ok=True)
    assert main(["report", str(SAMPLE_STUDY), "--out", str(reports), "--pdf"]) == 0
    said = capsys.readouterr().out.strip().splitlines()
    assert said[-1] == ("PDF skipped: no Chromium is installed to print it "
                        "(install it with: apt-get install chromium)"), said
    assert said[0].startswith("wrote ") and "report pages" in said[0] and not (reports / "summary.pdf").exists()
