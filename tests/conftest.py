"""Shared fixtures: the Agg backend, a fixed seed, the sample study, small studies, real data."""

from __future__ import annotations

import os
import tempfile
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from analysis.paths import SAMPLE_STUDY, SHARED_REALDATA  # noqa: E402

SEED = 20260301

# Tests never touch the user's real key: every key file they create lives in a throwaway folder
# (set before any test, so command-line and notebook subprocesses inherit it).
os.environ["ANALYSIS_CONFIG_DIR"] = tempfile.mkdtemp(prefix="analysis-test-config-")
_fd = os.open(Path(os.environ["ANALYSIS_CONFIG_DIR"]) / "pseudonym.key", os.O_WRONLY | os.O_CREAT, 0o600)
os.write(_fd, b"test key, made by tests/conftest.py\n")
os.close(_fd)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def sample_study():
    from analysis.codebook import load_study

    return load_study(SAMPLE_STUDY)


@pytest.fixture(scope="session")
def sample_clean(sample_study):
    from analysis.clean import clean_study

    return clean_study(sample_study)


@pytest.fixture(scope="session")
def sample_processed(sample_study, sample_clean):
    from analysis.protect import protect

    return protect(sample_clean, sample_study)


@pytest.fixture(scope="session")
def sample_truth():
    import json

    return json.loads((SAMPLE_STUDY.parent / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_outputs(tmp_path_factory):
    """The sample study's full public output: ``processed/`` (clean), ``reports/`` and ``reports/results/``."""
    from analysis.cli import main
    from analysis.report import notebook_paths

    out = tmp_path_factory.mktemp("sample-outputs")
    committed = {p: p.read_bytes() for p in notebook_paths()}
    cwd = os.getcwd()
    assert main(["clean", str(SAMPLE_STUDY), "--out", str(out / "processed")]) == 0
    assert main(["report", str(SAMPLE_STUDY), "--out", str(out / "reports")]) == 0
    assert {p: p.read_bytes() for p in notebook_paths()} == committed, "report must not modify notebooks"
    # pages run side by side in threads: none may move the process's working folder (their kernels
    # start in the notebooks' folder)
    assert os.getcwd() == cwd
    return out


@pytest.fixture(scope="session")
def sample_results(sample_outputs):
    """The sample study's stored results (as the report built them)."""
    from analysis import results

    return results.load(sample_outputs / "reports" / "results")


@pytest.fixture
def realdata() -> Path:
    """``../shared/realdata``; skipped when absent, an error in CI (ANALYSIS_REQUIRE_SHARED=1)."""
    if not SHARED_REALDATA.is_dir():
        if os.environ.get("ANALYSIS_REQUIRE_SHARED"):
            pytest.fail(f"real data expected at {SHARED_REALDATA} (ANALYSIS_REQUIRE_SHARED is set)")
        pytest.skip("../shared/realdata is not beside this checkout")
    return SHARED_REALDATA


AGREE3 = """\
version: 1
scales:
  agree3:
    levels:
      - {code: 1, en: Disagree, nl: Oneens}
      - {code: 2, en: Neutral, nl: Neutraal}
      - {code: 3, en: Agree, nl: Eens}
    missing:
      dont_know: ["I don't know", Weet ik niet]
  yesno:
    levels:
      - {code: 0, en: "No", nl: Nee}
      - {code: 1, en: "Yes", nl: Ja}
variables:
  submitted:
    role: timestamp
    waves: [pre, post]
    match: {text: [Timestamp]}
  email:
    role: identifier
    waves: [pre, post]
    match: {text: [Email]}
  consent:
    role: consent
    scale: yesno
    waves: [pre]
    match: {text: [Consent]}
  q1:
    role: item
    construct: c
    scale: agree3
    waves: [pre, post]
    match: {normalised: [Q1 statement]}
  q2:
    role: item
    construct: c
    scale: agree3
    reverse: true
    waves: [pre, post]
    match: {regex: ["^Q2"]}
  note:
    role: text
    waves: [post]
    match: {text: [Note]}
"""

STUDY = """\
study: tiny
codebook: codebook.yaml
participant_key: email
waves: [pre, post]
sources:
  - {path: pre.csv, wave: pre, format: google_forms}
  - {path: post.csv, wave: post, format: csv}
"""


def write_tiny_study(folder: Path, pre: str, post: str, *, codebook: str = AGREE3, study: str = STUDY) -> Path:
    """Write a small study (two CSV waves) and return the study file's path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "codebook.yaml").write_text(codebook, encoding="utf-8")
    (folder / "study.yaml").write_text(study, encoding="utf-8")
    (folder / "pre.csv").write_text(textwrap.dedent(pre), encoding="utf-8")
    (folder / "post.csv").write_text(textwrap.dedent(post), encoding="utf-8")
    return folder / "study.yaml"


TINY_PRE = """\
Timestamp,Email,Consent,Q1 statement,Q2 reversed
3/1/2026 9:00:00,ann@example.org,Yes,Agree,Disagree
3/1/2026 9:05:00,bob@example.org,Yes,3 - agree,Neutral
3/1/2026 9:06:00,bob@example.org,Yes,Neutral,Agree
3/1/2026 9:07:00,cy@example.org,No,Agree,Agree
,,,,
3/1/2026 9:08:00,dee.jones@example.org,Yes,7,I don't know
"""

TINY_POST = """\
Timestamp,Email,Q1 statement,Q2 reversed,Note
2026-03-02 10:00:00,ANN@Example.org ,Eens,Oneens,mail me at ann@example.org
2026-03-02 10:01:00,cy@example.org,Eens,Eens,
2026-03-02 10:02:00,bob@example.org,  eens ,Weet ik niet,thanks Dee
"""


@pytest.fixture
def tiny_study(tmp_path) -> Path:
    return write_tiny_study(tmp_path / "tiny", TINY_PRE, TINY_POST)


# One post-survey wave: an identifier, a group, one item and one free-text note (privacy and scrub tests).
ONE_WAVE_CODEBOOK = """\
version: 1
scales:
  agree3:
    levels:
      - {code: 1, en: Disagree}
      - {code: 2, en: Neutral}
      - {code: 3, en: Agree}
variables:
  email: {role: identifier, waves: [post], match: {text: [Email]}}
  workshop: {role: group, waves: [post], match: {text: [Workshop]}}
  q1: {role: item, construct: c, scale: agree3, waves: [post], match: {text: [Q1 statement]}}
  note: {role: text, waves: [post], match: {text: [Note]}}
"""


def write_one_wave_study(folder: Path, export: str) -> Path:
    """A study of one post-survey export named after its trainer (``feedback_Joran_Celik.csv``)."""
    folder.mkdir(parents=True)
    (folder / "codebook.yaml").write_text(ONE_WAVE_CODEBOOK, encoding="utf-8")
    (folder / "study.yaml").write_text("study: hostile\ncodebook: codebook.yaml\nparticipant_key: email\n"
                                       "waves: [post]\nsources:\n  - {path: feedback_Joran_Celik.csv, wave: post, "
                                       "format: csv}\n", encoding="utf-8")
    (folder / "feedback_Joran_Celik.csv").write_bytes(export.encode("utf-8"))
    return folder / "study.yaml"
