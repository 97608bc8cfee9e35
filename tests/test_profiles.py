"""Profiles: recovery of the planted profiles, honest stability, names, the command's files, real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from analysis import profiles, summarise
from analysis.protect import process_study
from analysis.simulate import Design, simulate_study

from conftest import SEED

HARDER = Design(n_participants=120, separation=0.6)
HARDER_SEED = 1


@pytest.fixture(scope="module")
def sample_fit(sample_processed):
    scores = profiles.readiness_scores(sample_processed)
    return profiles.fit_profiles(scores, seed=SEED, blrt_reps=0, progress=False)


@pytest.fixture(scope="module")
def sample_stability(sample_fit):
    return profiles.stability(sample_fit, resamples=40, progress=False)


@pytest.fixture(scope="module")
def harder(tmp_path_factory):
    folder = simulate_study(tmp_path_factory.mktemp("harder"), seed=HARDER_SEED, design=HARDER)
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    scores = profiles.readiness_scores(process_study(folder / "study.yaml"))
    result = profiles.fit_profiles(scores, seed=SEED, blrt_reps=0, progress=False)
    return result, profiles.stability(result, resamples=40, progress=False), truth


def _truth_labels(result, truth):
    return [truth["participants"][p]["profile"] for p in result.label.index]


def test_sample_recovers_the_planted_profiles(sample_fit, sample_truth):
    planted = _truth_labels(sample_fit, sample_truth)
    ari = adjusted_rand_score(planted, sample_fit.label.astype(str))
    agree = float(np.mean(np.array(planted) == sample_fit.label.astype(str).to_numpy()))
    print(f"\nsample: k = {sample_fit.k} ({sample_fit.covariance_type}), ARI vs truth.json = {ari:.3f}, "
          f"same name as planted for {agree:.1%}")
    assert sample_fit.k == 3
    assert ari >= 0.9
    assert sample_fit.names == [p["name"] for p in sample_truth["profiles"]]
    assert agree >= 0.95  # names match the planted profile they recover, not just the partition


def test_posterior_is_indexed_by_participant_with_profile_columns(sample_fit, sample_processed):
    post = sample_fit.posterior
    assert post.index.name == "participant"
    assert list(post.columns) == sample_fit.names
    assert np.allclose(post.sum(axis=1), 1)
    assert (post.idxmax(axis=1) == sample_fit.label.astype(str)).all()
    pre = sample_processed.data[sample_processed.data["wave"] == "pre"]
    assert set(post.index) == set(pre["participant"])


def test_names_and_order_survive_label_switching(sample_processed, sample_fit):
    scores = profiles.readiness_scores(sample_processed)
    for seed in (1, 2, 3):
        other = profiles.fit_profiles(scores, seed=seed, n_init=2, blrt_reps=0, covariance_types=("diag",),
                                      progress=False)
        assert other.names == sample_fit.names
        same = (other.label.astype(str) == sample_fit.label.astype(str)).mean()
        assert same > 0.95


def test_fit_table_rule(sample_fit):
    fit = sample_fit.fit
    assert list(fit.columns) == profiles.FIT_COLUMNS
    assert len(fit) == 3 * 6 and fit["chosen"].sum() == 1
    assert set(fit["model"]) == {"spherical", "diag", "full"}
    admissible = fit[fit["converged"] & ~fit["small_profile"]]
    chosen = fit[fit["chosen"]].iloc[0]
    assert chosen["bic"] == admissible["bic"].min()
    assert chosen["decision"].startswith("chosen: lowest BIC")
    small = (fit["smallest_share"] < 0.05) | (fit["smallest_n"] < 10)
    assert (fit.loc[fit["k"] > 1, "small_profile"] == small[fit["k"] > 1]).all()
    assert fit.loc[fit["small_profile"], "decision"].str.startswith("not admissible").all()
    one = fit[fit["k"] == 1]
    assert one["entropy"].isna().all() and (one["smallest_share"] == 1).all()


def test_parameter_count_matches_sklearn():
    x = np.random.default_rng(0).normal(size=(60, 3))
    for ct in ("spherical", "diag", "full", "tied"):
        gm = GaussianMixture(3, covariance_type=ct, random_state=0).fit(x)
        assert profiles.n_parameters(3, 3, ct) == gm._n_parameters()


def test_blrt_is_a_p_value(sample_processed):
    scores = profiles.readiness_scores(sample_processed)
    result = profiles.fit_profiles(scores, k_max=3, covariance_types=("spherical",), n_init=2, blrt_reps=4,
                                   progress=False)
    p = result.fit.set_index("k")["blrt_p"]
    assert np.isnan(p[1])
    assert p[2] == pytest.approx(1 / 5) and p[3] == pytest.approx(1 / 5)  # planted structure: never exceeded
    assert (result.fit.loc[result.fit["k"] > 1, "blrt_reps"] == 4).all()


def test_sample_is_stable_without_cautions(sample_fit, sample_stability):
    per = sample_stability.per_profile
    print("\nsample stability:", dict(zip(per["profile"], per["jaccard"].round(3))),
          f"ARI {sample_stability.ari_mean:.3f}")
    assert per["stable"].all() and (per["verdict"] == "stable").all()
    assert summarise.cautions(sample_fit.fit, sample_stability.per_profile.assign(resamples=sample_stability.resamples),
                              profiles.assignment_certainty(sample_fit)) == []
    km = sample_fit.comparison.set_index("method")["ari_vs_mixture"]
    assert km["k-means"] > 0.9 and np.isfinite(km["Ward"])


def test_harder_study_reports_lower_stability_and_says_so(harder, sample_stability):
    result, stab, truth = harder
    planted = _truth_labels(result, truth)
    notes = summarise.cautions(result.fit, stab.per_profile.assign(resamples=stab.resamples),
                               profiles.assignment_certainty(result))
    print(f"\nharder (n = 120, separation 0.6): k = {result.k}, mean Jaccard {stab.mean_jaccard:.3f} "
          f"(sample {sample_stability.mean_jaccard:.3f}), ARI resamples {stab.ari_mean:.3f} "
          f"(sample {sample_stability.ari_mean:.3f}), ARI vs truth {adjusted_rand_score(planted, result.label):.3f}")
    print("cautions:", *notes, sep="\n  ")
    assert stab.mean_jaccard < sample_stability.mean_jaccard
    assert stab.ari_mean < sample_stability.ari_mean
    assert result.k < 3 or notes


def test_harder_three_profile_solution_is_less_stable_than_the_sample(harder, sample_stability):
    result, _, _ = harder
    three = profiles.stability(result, resamples=40, k=3, covariance_type="spherical", progress=False)
    assert three.per_profile["jaccard_low"].min() < sample_stability.per_profile["jaccard_low"].min()
    assert three.ari_mean < sample_stability.ari_mean


def test_profile_names_are_unique_and_follow_the_rule():
    rng = np.random.default_rng(11)
    for _ in range(200):
        k = int(rng.integers(2, 7))
        z = pd.DataFrame(rng.normal(0, 1, (k, 3)), columns=["tool_skills", "focus", "guts"])
        names = profiles.profile_names(z)
        assert len(set(names)) == k
    z = pd.DataFrame({"tool_skills": [0.1, 0.2], "focus": [0.0, 0.1], "guts": [0.0, -0.1]})
    assert profiles.profile_names(z) == ["around average (lower tool skills)", "around average (higher tool skills)"]
    two_explorers = pd.DataFrame({"tool_skills": [1.0, 1.6], "focus": [0.0, 0.0], "guts": [1.0, 1.2]})
    assert profiles.profile_names(two_explorers) == ["high tool skills, high guts", "confident explorers"]


def test_missing_scores_are_dropped_or_refused():
    scores = pd.DataFrame({"tool_skills": [1.0, 2.0, None] * 10, "focus": [3.0, 2.0, 1.0] * 10,
                           "guts": [1.0, 4.0, 2.0] * 10},
                          index=pd.Index([f"p{i}" for i in range(30)], name="participant"))
    scores = scores + np.random.default_rng(0).normal(0, 0.3, scores.shape)
    result = profiles.fit_profiles(scores, k_max=2, n_init=1, blrt_reps=0, progress=False)
    assert result.excluded == 10 and len(result.posterior) == 20
    with pytest.raises(ValueError, match="10 participant\\(s\\) lack a score"):
        profiles.fit_profiles(scores, k_max=2, missing="raise", progress=False)
    with pytest.raises(ValueError, match="missing must be one of 'drop', 'raise'"):
        profiles.fit_profiles(scores, missing="impute", progress=False)


def test_summaries(sample_fit):
    means = profiles.profile_means(sample_fit)
    assert list(means.columns) == ["profile", "construct", "n", "mean", "ci_low", "ci_high"]
    assert len(means) == 9 and (means["ci_low"] < means["mean"]).all()
    explorers = means[means["profile"] == "confident explorers"].set_index("construct")["mean"]
    assert explorers["tool_skills"] > 3.5
    certainty = profiles.assignment_certainty(sample_fit)
    assert certainty["profile"].tolist() == sample_fit.names + ["all"]
    assert certainty["n"].iloc[-1] == 240 and certainty["share_sure"].iloc[-1] > 0.9


def test_stored_profiles_join_with_truth(sample_results, sample_truth):
    folder = sample_results.folder
    rel = pd.read_csv(folder / "reliability.csv")
    assert rel.columns[:7].tolist() == ["wave", "construct", "n_items", "n", "alpha", "alpha_ci_low", "alpha_ci_high"]
    assert {"omega", "omega_ci_low", "omega_ci_high"} <= set(rel.columns)
    fit = pd.read_csv(folder / "fit.csv")
    assert fit["chosen"].sum() == 1 and fit.loc[fit["chosen"], "k"].item() == 3
    table = pd.read_csv(folder / "profiles.csv")
    names = sample_results.profile_names
    assert table.columns.tolist() == ["participant", "profile"] + [f"posterior: {n}" for n in names]
    assert np.allclose(table.filter(like="posterior: ").sum(axis=1), 1)
    truth = pd.DataFrame([{"participant": p, "planted": v["profile"]}
                          for p, v in sample_truth["participants"].items()])
    joined = table.merge(truth, on="participant", how="inner", validate="one_to_one")
    assert len(joined) == len(table) == 240
    assert (joined["profile"] == joined["planted"]).mean() > 0.95


def test_progress_is_quiet_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert profiles.show_progress() is False
    assert profiles.show_progress(True) is True


# --- real data -------------------------------------------------------------------

CODEREFINERY = ("tool_familiarity", "programming")


def test_coderefinery_pre_survey_profiles(realdata, monkeypatch):
    """Readiness profiles from CodeRefinery's pre-workshop survey ("Pre-workshop survey" by CodeRefinery, CC BY 4.0)."""
    from analysis import scales
    from analysis.paths import PROJECT_ROOT

    monkeypatch.setenv("ANALYSIS_PSEUDONYM_KEY", "test key for public real data")
    processed = process_study(PROJECT_ROOT / "tests" / "realdata" / "coderefinery_pre" / "study.yaml")
    assert processed.summary["participants"] == 362  # 14 in-person workshops, every row kept
    assert "submitter" not in processed.data.columns  # names dropped
    items = scales.construct_items(processed.study.codebook, CODEREFINERY, wave="pre")
    rel = scales.reliability(processed.data, items, n_boot=200).set_index("construct")
    familiarity = rel.loc["tool_familiarity"]
    assert familiarity["n"] == 362 and 0.69 < familiarity["alpha"] < 0.79
    scores = profiles.readiness_scores(processed, constructs=CODEREFINERY)
    result = profiles.fit_profiles(scores, constructs=CODEREFINERY, k_max=5, blrt_reps=0, progress=False)
    stab = profiles.stability(result, resamples=50, progress=False)
    notes = summarise.cautions(result.fit, stab.per_profile.assign(resamples=stab.resamples),
                               profiles.assignment_certainty(result))
    print(f"\nCodeRefinery: alpha(tool familiarity) {familiarity['alpha']:.2f} "
          f"[{familiarity['alpha_ci_low']:.2f}, {familiarity['alpha_ci_high']:.2f}], "
          f"omega {familiarity['omega']:.2f}; k = {result.k} ({result.covariance_type})")
    print(result.centroids.round(2).assign(n=result.label.value_counts().reindex(result.names).to_numpy(),
                                           jaccard=stab.per_profile["jaccard"].round(2).to_numpy()).to_string())
    print("cautions:", *notes, sep="\n  ")
    assert result.k >= 2 and len(set(result.names)) == result.k
    assert np.allclose(result.posterior.sum(axis=1), 1)
    # Most participants use none of the tools yet. BIC alone prefers a solution with a small profile of tool
    # users, but that profile does not come back in resamples, so the rule steps down to profiles that do.
    fit = result.fit
    assert (result.centroids["tool_familiarity"] < 1.5).all()
    assert stab.per_profile["stable"].all()
    admissible = fit[fit["converged"] & ~fit["small_profile"]]
    top = admissible.loc[admissible["bic"].idxmin()]
    assert top["k"] > result.k and top["jaccard_min"] < profiles.STABLE_JACCARD
    assert "tool familiarity" in top["least_stable"] and top["decision"].startswith(("not stable", "runner-up"))
    assert summarise.k_choice_reason(fit).startswith(f"BIC alone would pick {int(top['k'])} profiles")


# --- choosing k ------------------------------------------------------------------

def _fake_fit(rows):
    base = {"n": 200, "converged": True, "smallest_n": 40, "smallest_share": 0.2, "icl": 0.0}
    return pd.DataFrame([{**base, "model": m, "k": k, "bic": b} for m, k, b in rows])


def _fake_stability(stable_upto: int):
    """A stability check under which solutions up to ``stable_upto`` profiles hold together."""
    calls = []

    def check(row):
        calls.append((row["model"], int(row["k"])))
        k = int(row["k"])
        jac = np.full(k, 0.95)
        if k > stable_upto:
            jac[-1] = 0.4
        per = pd.DataFrame({"profile": [f"p{j}" for j in range(k)], "jaccard": jac, "stable": jac >= 0.75})
        return profiles.Stability(per, np.ones(3), 3)

    return check, calls


def test_choice_steps_down_until_every_profile_is_stable():
    fit = _fake_fit([("diag", 1, 500.0), ("diag", 2, 420.0), ("diag", 3, 400.0), ("diag", 4, 390.0),
                     ("full", 4, 395.0), ("full", 5, 380.0), ("spherical", 2, 425.0)])
    check, calls = _fake_stability(stable_upto=2)
    out = profiles._decide(fit, 0.05, 10, check=check)
    chosen = out[out["chosen"]].iloc[0]
    assert (chosen["model"], chosen["k"]) == ("diag", 2) and out["chosen"].sum() == 1
    assert out["rule_choice"].equals(out["chosen"])
    # full 5 (lowest BIC) fails; every other solution with 5 or more profiles is out without a check; then
    # diag 4 fails (full 4 goes with it), diag 3 fails, diag 2 holds; the runner-up is the lowest BIC with k != 2.
    assert calls[:4] == [("full", 5), ("diag", 4), ("diag", 3), ("diag", 2)]
    by = out.set_index(["model", "k"])
    assert by.loc[("full", 5), "runner_up"] and by["runner_up"].sum() == 1
    assert by.loc[("full", 4), "decision"].startswith("not stable: as many or more profiles")
    assert by.loc[("diag", 3), "decision"].startswith("not stable: profile 'p2' Jaccard 0.40")
    assert by.loc[("diag", 2), "jaccard_min"] == pytest.approx(0.95)
    words = summarise.k_choice_reason(out)
    assert words.startswith("BIC alone would pick 5 profiles (full), but profile 'p4' is not stable (Jaccard 0.40), "
                            "so the analysis stepped down to 2 profiles (diag)")
    assert "3 profiles (diag): profile 'p2' is not stable" in words and "4 profiles (diag)" in words


def test_choice_by_bic_alone_and_close_calls():
    fit = _fake_fit([("diag", 1, 500.0), ("diag", 2, 400.0), ("diag", 3, 401.5)])
    out = profiles._decide(fit, 0.05, 10)  # no stability check: lowest BIC
    assert out.loc[out["chosen"], "k"].item() == 2 and out["jaccard_min"].isna().all()
    assert out.loc[out["runner_up"], "k"].item() == 3
    assert "close call" in summarise.k_choice_reason(out)
    check, _ = _fake_stability(stable_upto=3)
    out = profiles._decide(fit, 0.05, 10, check=check, k=3)  # fixed by the researcher
    assert out.loc[out["chosen"], "k"].item() == 3 and out.loc[out["rule_choice"], "k"].item() == 2
    assert out.loc[out["chosen"], "decision"].item().startswith("chosen: k = 3 fixed by the researcher; "
                                                                 "the rule would choose 2 (diag)")
    words = summarise.k_choice_reason(out, k_fixed=3)
    assert "fixed at 3 by the researcher, and the results use 3 profiles (diag): its BIC is 1.5 higher" in words


def test_k_min_is_honoured_and_blrt_still_tested(sample_processed):
    scores = profiles.readiness_scores(sample_processed)
    result = profiles.fit_profiles(scores, k_min=3, k_max=4, covariance_types=("spherical",), n_init=2,
                                   blrt_reps=3, resamples=10, progress=False)
    assert result.fit["k"].tolist() == [3, 4] and result.k == 3
    assert result.fit["blrt_p"].notna().all()  # k = 3 is still tested against a 2-profile model
    with pytest.raises(ValueError, match="k must be from k_min to k_max"):
        profiles.fit_profiles(scores, k_min=2, k_max=4, k=5, progress=False)


def _copy_sample(tmp_path, analysis_lines: str):
    import shutil

    from analysis.paths import SAMPLE_STUDY

    folder = tmp_path / "study"
    shutil.copytree(SAMPLE_STUDY.parent, folder, ignore=shutil.ignore_patterns("results"))
    study = folder / "study.yaml"
    study.write_text(study.read_text(encoding="utf-8").replace("analysis:\n", "analysis:\n" + analysis_lines),
                     encoding="utf-8")
    return study


def test_fixed_k_from_the_study_file_and_the_command_line(tmp_path, sample_truth):
    """`k:` in the study's analysis block and `--k` fix k end to end; the report compares it with the rule."""
    from analysis import results
    from analysis.cli import main

    study = _copy_sample(tmp_path, "  k_min: 2\n  k: 2\n  resamples: 20\n")
    assert main(["profiles", str(study), "--out", str(tmp_path / "a")]) == 0
    res = results.load(tmp_path / "a")
    fit = res.fit
    assert set(fit["k"]) == set(range(2, 7))
    assert fit.loc[fit["chosen"], "k"].item() == 2 and fit.loc[fit["rule_choice"], "k"].item() == 3
    assert res.profile_info["k"] == 2 and res.profile_info["k_fixed"] == 2 and res.profile_info["rule_k"] == 3
    assert len(res.profile_names) == 2 and len(res.stability) == 2
    text = summarise.k_choice_text(res)
    print("\n" + text)
    assert "tries 2 to 6 profiles" in text and "fixed at 2 by the researcher, and the results use 2 profiles" in text
    assert "than the rule's choice" in text

    assert main(["profiles", str(study), "--out", str(tmp_path / "b"), "--k", "3"]) == 0  # the flag wins
    res = results.load(tmp_path / "b")
    assert res.profile_info["k"] == 3 and res.profile_info["k_fixed"] == 3
    assert res.profile_names == [p["name"] for p in sample_truth["profiles"]]
    assert "fixed at 3 by the researcher, which is what the rule chooses too" in summarise.k_choice_text(res)


def test_stability_of_a_large_study_on_subsamples_and_fits_on_everyone(sample_fit, monkeypatch):
    """Above RESAMPLE_N people (here lowered to 80 of the sample's 240): every model is still fitted on
    everyone, from starts tried on a subsample, and comes within 1% of the likelihood of starts tried on
    everyone (a start drawn from 80 people may end in another local optimum for k = 4);
    stability and BLRT resamples draw RESAMPLE_N people, and the stability says how many."""
    scores = sample_fit.scores
    assert profiles.stability(sample_fit, resamples=2, progress=False).resample_n == len(scores)
    monkeypatch.setattr(profiles, "RESAMPLE_N", 80)
    large = profiles.fit_profiles(scores, seed=SEED, k_max=4, blrt_reps=3, resamples=10, progress=False)
    assert (large.fit["n"] == len(scores)).all()
    plain = sample_fit.fit.set_index(["model", "k"])["log_likelihood"]
    got = large.fit.set_index(["model", "k"])["log_likelihood"]
    np.testing.assert_allclose(got, plain.reindex(got.index), rtol=0.01)
    assert large.k == sample_fit.k and large.names == sample_fit.names
    assert large.fit.loc[large.fit["k"] >= 2, "blrt_p"].between(0, 1).all()
    stab = profiles.stability(large, resamples=10, progress=False)
    assert stab.resample_n == 80 and stab.per_profile["jaccard"].between(0, 1).all()


def _recovery_bench():
    """The recovery benchmark's study generator (bench/ is not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_profile_recovery",
                                                  Path(__file__).parents[1] / "bench" / "bench_profile_recovery.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_split_of_correlated_profiles_is_not_taken_for_more_profiles(monkeypatch):
    # Two well-apart profiles whose constructs correlate (r = 0.5) within a profile, 600 people: spherical
    # mixtures cut each elongated profile in two, and the halves come back in every resample, so stability
    # alone (MIN_SEPARATION = 0: the rule before) takes 4 profiles. The halves overlap (Bhattacharyya
    # distance < 0.7), so the rule steps down to the 2 planted profiles (full covariances).
    bench = _recovery_bench()
    scores, truth = bench.simulate_scores(2, bench.SEPARATIONS["very strong"], 600, 4, 24051, correlation=0.5)
    kw = dict(seed=24051, blrt_reps=0, resamples=30, progress=False)
    monkeypatch.setattr(profiles, "MIN_SEPARATION", 0.0)
    before = profiles.fit_profiles(scores, **kw)
    assert before.k == 4 and before.stability.all_stable
    monkeypatch.undo()
    result = profiles.fit_profiles(scores, **kw)
    assert (result.k, result.covariance_type) == (2, "full")
    assert adjusted_rand_score(truth, result.label.cat.codes) > 0.99
    fit = result.fit.set_index(["model", "k"])
    assert fit.loc[("spherical", 4), "separation_min"] < profiles.MIN_SEPARATION
    assert "not distinct: profiles" in fit.loc[("spherical", 4), "decision"]
    assert fit.loc[("full", 2), "separation_min"] >= profiles.MIN_SEPARATION
    words = summarise.k_choice_reason(result.fit)
    assert words.startswith("BIC alone would pick 4 profiles (spherical), but profiles '") and "overlap too much" in words
    assert "overlappen te veel" in summarise.k_choice_reason(result.fit, language="nl")


@pytest.mark.parametrize("n, verdict", [(120, "unclear"), (600, "none")])
def test_weakly_apart_profiles_are_not_called_a_clear_number(n, verdict):
    # Three planted profiles at the recovery benchmark's weak separation (seed as in its grid). Too close to
    # recover: the rule keeps 2 overlapping profiles (n = 120) or 1 group (n = 600), each "stable". The
    # verdict must not call that number clear, and the words must say why, in both languages.
    bench = _recovery_bench()
    scores, truth = bench.simulate_scores(3, bench.SEPARATIONS["weak"], n, 6, 31001)
    result = profiles.fit_profiles(scores, seed=31001, blrt_reps=0, resamples=50, progress=False)
    assert result.k < 3  # the miss this verdict is for
    assert profiles.k_verdict(result.fit) == verdict
    words = summarise.k_choice_reason(result.fit)
    cautions = summarise.cautions(result.fit, result.stability.per_profile.assign(resamples=50),
                                  profiles.assignment_certainty(result))
    if verdict == "unclear":
        assert words.endswith("Read them as a first sketch.") and "is not clear: the profiles overlap (entropy 0." in words
        assert "hoeveel profielen er zijn is ook niet duidelijk" in " ".join(
            summarise.cautions(result.fit, result.stability.per_profile.assign(resamples=50),
                               profiles.assignment_certainty(result), language="nl"))
    else:
        assert f"too close to tell apart with {n} participants: the data cannot say which." in words
        assert "all participants" not in words  # one group is not called stable
        assert "Lees" not in summarise.k_choice_reason(result.fit, language="nl")
        assert f"met {n} deelnemers" in summarise.k_choice_reason(result.fit, language="nl")
    assert any("not clear" in c or "too close to tell apart" in c for c in cautions)


def test_well_apart_profiles_are_a_clear_number():
    bench = _recovery_bench()
    scores, truth = bench.simulate_scores(3, bench.SEPARATIONS["strong"], 600, 5, 33001)
    result = profiles.fit_profiles(scores, seed=33001, blrt_reps=0, resamples=50, progress=False)
    assert result.k == 3 and profiles.k_verdict(result.fit) == "clear"
    assert summarise.k_verdict_words(result.fit) == ""
    assert "not clear" not in summarise.k_choice_reason(result.fit)


def test_a_range_without_an_admissible_solution_is_a_clear_error_and_a_stage_note(tmp_path):
    # Found by the recovery bench: k_min = k_max = 4 on three weak profiles (n = 120) fits only solutions with a
    # profile under 5 %; the rule had nothing to rank and failed with a bare IndexError.
    bench = _recovery_bench()
    scores, _ = bench.simulate_scores(3, bench.SEPARATIONS["weak"], 120, 6, 31001)
    with pytest.raises(profiles.NoAdmissibleSolution, match="no solution with 4 to 4 profiles .* >= 5% and >= 10"):
        profiles.fit_profiles(scores, k_min=4, k_max=4, seed=31001, blrt_reps=0, resamples=0, progress=False)
    from analysis import pipeline

    study = bench.write_study(tmp_path, 3, bench.SEPARATIONS["weak"], 120, 6, 31001,
                              settings={"k_min": 4, "k_max": 4, "resamples": 10, "blrt_reps": 0})["study"]
    build = pipeline.build(study, tmp_path / "out", until="profiles", progress=False)
    run = build.runs[-1]
    assert (run.stage, run.status, run.why) == ("profiles", "not available", "no_admissible")
    words = summarise.why_not(run.why, run.detail)
    assert "With 4 to 4 profiles, every solution has a profile with fewer than 5% or 10 participants" in words
    assert "vanaf 1 profiel" in summarise.why_not(run.why, run.detail, language="nl")
