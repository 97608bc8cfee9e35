"""The sample study generator: reproducible bytes, the planted design, the planted dirt."""

import filecmp
import json
from collections import Counter

import numpy as np
import pytest

from analysis.paths import SAMPLE_DIR
from analysis.simulate import CONSTRUCTS, READINESS_ITEMS, SESSIONS, Design, planted_effects, simulate_study


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_committed_sample_regenerates_byte_for_byte(tmp_path):
    out = simulate_study(tmp_path / "sample", seed=2026)
    generated = _files(out)
    assert generated == [f for f in _files(SAMPLE_DIR) if f in generated]
    _, mismatch, errors = filecmp.cmpfiles(out, SAMPLE_DIR, generated, shallow=False)
    assert mismatch == [] and errors == []


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    design = Design(n_participants=60)
    a = simulate_study(tmp_path / "a", seed=7, design=design)
    b = simulate_study(tmp_path / "b", seed=7, design=design)
    c = simulate_study(tmp_path / "c", seed=8, design=design)
    for f in _files(a):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "raw/pre_google_forms.csv").read_bytes() != (c / "raw/pre_google_forms.csv").read_bytes()


def test_design_of_the_sample(sample_truth):
    people = sample_truth["participants"]
    assert 220 <= len(people) <= 260
    arms = Counter(s["entry_point"] for s in sample_truth["sessions"])
    assert len(sample_truth["sessions"]) == 6 and arms == {"strategy-first": 3, "tool-first": 3}
    profiles = Counter(p["profile"] for p in people.values())
    assert len(profiles) == 3 and min(profiles.values()) >= 0.2 * len(people)
    per_construct = Counter(c for _, c, _, _ in READINESS_ITEMS)
    reverse = Counter(c for _, c, r, _ in READINESS_ITEMS if r)
    assert all(per_construct[c] >= 4 and reverse[c] >= 1 for c in CONSTRUCTS)
    waves = Counter(w for p in people.values() for w in p["waves"])
    assert waves["pre"] == len(people) and 0.4 * len(people) < waves["followup"] < 0.8 * len(people)


def test_planted_interaction_tool_first_helps_newcomers_strategy_first_helps_explorers(sample_truth):
    confidence = sample_truth["effects"]["observed"]["confidence"]
    assert confidence["new to the tools"] > 0.5
    assert confidence["confident explorers"] < -0.3
    # Detectable at this scale: the gap between those two profiles is far beyond its
    # standard error (about 0.75 * sqrt(4 / 40) = 0.24 for ~40 people per profile and arm).
    gap = sample_truth["effects"]["interaction"]["confidence"]["new to the tools minus confident explorers"]
    assert gap > 4 * 0.24


def test_no_true_effect_gives_zero_planted_effects():
    effects = planted_effects(Design(effect_scale=0.0), n_draws=5_000)
    values = [v for outcome in effects["observed"].values() for v in outcome.values()]
    assert np.allclose(values, 0.0)


def test_raw_exports_look_like_the_tools_made_them():
    pre = (SAMPLE_DIR / "raw/pre_google_forms.csv").read_bytes()
    assert pre.startswith(b"Timestamp,") and b"\r\n" in pre
    post = (SAMPLE_DIR / "raw/post_qualtrics.csv").read_text(encoding="utf-8-sig").splitlines()
    assert post[0].startswith("StartDate,EndDate,Status") and post[2].startswith('"{""ImportId""')
    assert "Helemaal mee eens" in "\n".join(post) and "Survey Preview" in "\n".join(post)
    assert (SAMPLE_DIR / "raw/followup_microsoft_forms.xlsx").read_bytes()[:2] == b"PK"


def test_planted_dirt_is_in_the_exports(sample_truth):
    dirt = sample_truth["dirt"]
    assert dirt["pre"]["duplicates"] >= 2 and dirt["pre"]["tests"] >= 1 and dirt["pre"]["empty"] == 1
    assert dirt["pre"]["out_of_range"] >= 1 and dirt["pre"]["variants"] > 0 and dirt["pre"]["blank"] > 0
    assert dirt["post"]["preview"] >= 1 and dirt["post"]["canaries"] > 0 and dirt["post"]["dont_know"] > 0
    text = (SAMPLE_DIR / "raw/pre_google_forms.csv").read_text(encoding="utf-8")
    assert " - Strongly agree" in text or " - Agree" in text or " - Neutral" in text


def test_truth_is_keyed_by_the_pseudonyms_the_pipeline_produces(sample_truth, sample_processed):
    ids = set(sample_processed.data["participant"])
    assert ids == set(sample_truth["participants"])
    pre = sample_processed.data[sample_processed.data["wave"] == "pre"].set_index("participant")
    for pid, person in list(sample_truth["participants"].items())[:50]:
        assert pre.at[pid, "workshop"] == person["workshop"]
        assert pre.at[pid, "entry_point"] == person["entry_point"]


@pytest.mark.parametrize("n", [30, 120])
def test_smaller_and_harder_designs_run(tmp_path, n):
    out = simulate_study(tmp_path / f"s{n}", seed=1, design=Design(n_participants=n, separation=0.5))
    truth = json.loads((out / "truth.json").read_text())
    assert len(truth["participants"]) == n and truth["design"]["separation"] == 0.5
