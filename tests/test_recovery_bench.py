"""The recovery benchmark's studies go through the real exports and the real pipeline.

``bench/bench_profile_recovery.py`` writes each study as a researcher would hand it over (a Google
Forms or SurveyMonkey export with text labels and reverse-keyed statements, a study file and a
codebook) and reads the pipeline's stored results. Here: the pipeline reads, keys and scores those
exports exactly as planted (the second implementation is :func:`analysis.scales.construct_scores`
on the generated keyed codes, no export in between), the bench's in-process refit of a solution is
the pipeline's own, and the planted profiles stay beside the study, out of the results.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import pipeline
from analysis.io import read_export
from analysis.protect import DEMO_KEY, pseudonyms
from analysis.scales import construct_scores


def _bench():
    """The benchmark module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "bench_profile_recovery", Path(__file__).parents[1] / "bench" / "bench_profile_recovery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()


@pytest.mark.parametrize("fmt, language", [("google_forms", "nl"), ("surveymonkey", "en")])
def test_exports_are_read_keyed_and_scored_as_planted(tmp_path, fmt, language):
    written = bench.write_study(tmp_path / "study", 2, bench.SEPARATIONS["strong"], 120, 5, 23001, fmt=fmt,
                                language=language, settings={"resamples": 5, "blrt_reps": 0, "n_boot": 0})
    raw = read_export(tmp_path / "study" / f"raw/pre_{fmt}.csv")
    assert raw.format == fmt and len(raw.frame) == 120
    ticked = set(raw.frame[raw.answer_columns].stack())
    assert set(bench.AGREE[language]) <= ticked and not set(bench.AGREE["nl" if language == "en" else "en"]) & ticked
    out = tmp_path / "results"
    run = pipeline.build(written["study"], out, until="profiles", progress=False)
    assert [r.status for r in run.runs] == ["done", "done", "done"]

    # scores: the pipeline's, and construct_scores on the keyed codes with the pseudonyms it should derive
    got = pd.read_parquet(out / "scores.parquet").set_index("participant")[list(bench.CONSTRUCTS)]
    planted = written["keyed"].assign(participant=pseudonyms(written["emails"], DEMO_KEY))
    want = construct_scores(planted, written["items"])[list(bench.CONSTRUCTS)]
    assert len(got) == 120 and all(len(written["items"][c]) == 5 for c in bench.CONSTRUCTS)
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_dtype=False)

    # the planted profile, found again by pseudonym; the bench's refit of the chosen solution is the stored one
    truth = bench.planted_profiles(tmp_path / "study").reindex(got.index)
    np.testing.assert_array_equal(truth.to_numpy(), pd.Series(written["profile"], index=planted["participant"])
                                  .reindex(got.index).to_numpy())
    fit = pd.read_csv(out / "fit.csv")
    chosen = fit[fit["chosen"]].iloc[0]
    stored = pd.read_csv(out / "profiles.csv").set_index("participant")["profile"].reindex(got.index)
    refit = bench._solution_labels(got.astype(float), str(chosen["model"]), int(chosen["k"]), 23001)
    assert bench._ari(stored.to_numpy(), refit.to_numpy()) == 1.0
    assert int(chosen["k"]) == 2 and bench._ari(truth.to_numpy(), stored.to_numpy()) > 0.9

    # nothing planted in the results: no column or word of truth.json, the export holds only what is declared
    for path in out.rglob("*"):
        if path.suffix in (".csv", ".parquet"):
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
            assert not any("planted" in str(c) or "truth" in str(c) for c in frame.columns), path
        if path.is_file() and path.suffix in (".csv", ".json"):
            text = path.read_text(encoding="utf-8")
            assert "planted" not in text and not any(shape in text for shape in bench.SHAPES), path
    responses = pd.read_parquet(out / "responses.parquet")
    assert set(responses.columns) >= {"participant", "workshop"}
    assert not set(responses.columns) & {"planted", "profile", "truth"}
    assert json.loads((tmp_path / "study" / "truth.json").read_text())["k"] == 2
