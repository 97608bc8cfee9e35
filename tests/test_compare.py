"""Entry-point comparison: effect sizes against second implementations, design-aware
intervals and p-values, planted truth recovered on the sample, small cells, figures."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats import proportion

from analysis import compare, plots, summarise

PROFILE_ORDER = ["new to the tools", "focused but tool-shy", "confident explorers"]


@pytest.fixture(scope="module")
def truth_posteriors(sample_truth):
    labels = pd.Series({pid: p["profile"] for pid, p in sample_truth["participants"].items()})
    return compare.posteriors_from_labels(labels)[PROFILE_ORDER]


@pytest.fixture(scope="module")
def sample_effects(sample_processed, truth_posteriors):
    return compare.compare_study(sample_processed, truth_posteriors)


def _arms(x, y):
    """Stack two samples with the indicator weights the statistics take."""
    values = np.r_[np.asarray(x, float), np.asarray(y, float)]
    w_tool = np.r_[np.ones(len(x)), np.zeros(len(y))]
    return values, w_tool, 1 - w_tool


# --- outcomes ---------------------------------------------------------------------

def test_outcomes_come_from_the_codebook(sample_study):
    outcomes = {o.name: o for o in compare.find_outcomes(sample_study.codebook)}
    assert outcomes["confidence"].kind == "interval"
    assert outcomes["confidence"].items == tuple(f"post_conf_{s}" for s in
                                                 ("cooperation", "branding", "conversations", "networking", "scanning"))
    assert outcomes["confidence_gain"].baseline[0] == "pre_conf_cooperation"
    assert "intention_gain" not in outcomes  # intention was not asked before the workshop
    assert outcomes["adoption"].kind == "interval"
    assert outcomes["satisfaction"].kind == "ordinal" and outcomes["satisfaction"].family == "summary outcomes"
    assert outcomes["post_int_networking"].family == "intention items"
    assert outcomes["adopt_scanning"].kind == "binary"
    assert not any(name.startswith(("ts_", "fo_", "gu_", "pre_")) for name in outcomes)


def test_composite_needs_min_items_and_leaves_dont_know_out():
    data = pd.DataFrame({"participant": ["a", "b"], "wave": ["post", "post"], "workshop": ["s1", "s2"],
                         "entry_point": ["tool-first", "strategy-first"],
                         "x1_code": pd.array([5, 4], dtype="Int64"), "x2_code": pd.array([3, None], dtype="Int64"),
                         "x3_code": pd.array([None, None], dtype="Int64")})
    o = compare.Outcome("x", "interval", "f", "x", ("x1", "x2", "x3"))
    scores = compare.outcome_scores(data, [o], min_items=2)
    assert scores.loc["a", "x"] == 4.0
    assert math.isnan(scores.loc["b", "x"])
    with pytest.raises(ValueError, match="min_items"):
        compare.outcome_scores(data, [o], min_items=0)


# --- effect sizes against a second implementation or a published number -----------

def test_hedges_g_matches_lakens_2013_worked_example():
    # Lakens (2013), "Calculating and reporting effect sizes to facilitate cumulative science",
    # Frontiers in Psychology 4:863, Table 1 (movie ratings): Cohen's d_s = 1.13, Hedges' g_s = 1.08.
    movie1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
    movie2 = [9, 6, 7, 8, 7, 9, 8, 8, 7, 8]
    g = compare.hedges_g(*_arms(movie1, movie2))
    assert round(g, 2) == 1.08
    d = g / (1 - 3 / (4 * 18 - 1))
    assert round(d, 2) == 1.13


def test_cliffs_delta_matches_mann_whitney_u():
    # delta = 2U / (n1 n2) - 1 with U from scipy.stats.mannwhitneyu (ties count one half);
    # Cliff (1993), Psychological Bulletin 114:494.
    rng = np.random.default_rng(7)
    x, y = rng.integers(1, 6, 37), rng.integers(1, 6, 29)
    u = stats.mannwhitneyu(x, y).statistic
    assert compare.cliffs_delta(*_arms(x, y)) == pytest.approx(2 * u / (len(x) * len(y)) - 1)


def test_weights_act_as_frequency_weights():
    rng = np.random.default_rng(8)
    y = rng.integers(1, 6, 20).astype(float)
    arm = np.r_[np.ones(10), np.zeros(10)]
    w = rng.integers(1, 4, 20).astype(float)
    repeated = np.repeat(np.arange(20), w.astype(int))
    for stat in (compare.mean_difference, compare.hedges_g, compare.cliffs_delta):
        weighted = stat(y, w * arm, w * (1 - arm))
        expanded = stat(y[repeated], arm[repeated], 1 - arm[repeated])
        assert weighted == pytest.approx(expanded), stat.__name__


def test_risk_difference_and_its_jackknife_variance_match_statsmodels():
    # statsmodels.stats.proportion.test_proportions_2indep(compare="diff", method="wald");
    # with one person per "session" the delete-one jackknife variance is p(1-p)/(n-1) per arm.
    x = np.r_[np.ones(30), np.zeros(20)]
    y = np.r_[np.ones(20), np.zeros(30)]
    values, wt, ws = _arms(x, y)
    ref = proportion.test_proportions_2indep(30, 50, 20, 50, compare="diff", method="wald")
    assert compare.risk_difference(values, wt, ws) == pytest.approx(ref.diff)
    tool = wt.astype(bool)
    func = lambda keep: compare.risk_difference(values, wt * keep, ws * keep)  # noqa: E731
    _, _, se, df = compare.jackknife_interval(func, tool, np.ones(100, bool), ref.diff)
    assert se ** 2 * 49 / 50 == pytest.approx(ref.variance)
    assert df == 98


def test_jackknife_interval_is_the_t_interval_on_session_means():
    # Equal sessions: the within-arm session jackknife with t(G - 2) is the pooled two-sample
    # t interval on session means (scipy.stats.ttest_ind), the analysis of cluster summaries
    # of Donner & Klar (2000).
    rng = np.random.default_rng(3)
    session = np.repeat(np.arange(6), 25)
    tool = np.array([True, False] * 3)
    y = rng.normal(size=150) + rng.normal(0, 0.5, 6)[session] + 0.4 * tool[session]
    cell = compare._Cell(y, session, tool)
    ones = [np.ones(150)]
    est = compare._effect(compare.mean_difference, cell, ones, np.ones(6, bool), tool)
    low, high, _, df = compare.jackknife_interval(
        lambda keep: compare._effect(compare.mean_difference, cell, ones, keep, tool), tool, np.ones(6, bool), est)
    means = pd.Series(y).groupby(session).mean().to_numpy()
    ref = stats.ttest_ind(means[tool], means[~tool]).confidence_interval()
    assert (low, high) == pytest.approx((ref.low, ref.high))
    assert df == 4


def test_session_permutation_enumerates_all_assignments():
    # Second implementation: enumerate the 20 ways to pick 3 tool-first sessions of 6.
    rng = np.random.default_rng(4)
    session = np.repeat(np.arange(6), [30, 35, 40, 28, 33, 41])
    y = rng.normal(size=len(session))
    tool = np.array([False, True, False, True, False, True])

    def effect(t):
        return y[t[session]].mean() - y[~t[session]].mean()

    p, p_min = compare.session_permutation_p(effect, tool)
    observed = abs(effect(tool))
    null = [abs(effect(np.isin(np.arange(6), c))) for c in itertools.combinations(range(6), 3)]
    assert p == pytest.approx(np.mean(np.array(null) >= observed - 1e-12))
    assert p_min == pytest.approx(0.1)  # each assignment has a mirror with the opposite effect


# --- the comparison on the sample -----------------------------------------------------

def _planted_interaction(truth, outcome, profile):
    a, b = profile.split(" minus ")
    table = truth["effects"]["interaction"][outcome]
    return table[f"{a} minus {b}"] if f"{a} minus {b}" in table else -table[f"{b} minus {a}"]


@pytest.mark.parametrize("outcome", ["confidence", "intention"])
def test_planted_profile_effects_and_interaction_are_recovered(sample_effects, sample_truth, outcome):
    planted = sample_truth["effects"]["observed"][outcome]
    rows = sample_effects[(sample_effects["outcome"] == outcome)
                          & (sample_effects["effect_type"] == "mean difference")]
    print(f"\n{outcome}: estimate [95% CI] vs planted (tool-first minus strategy-first)")
    for row in rows.itertuples():
        truth = (_planted_interaction(sample_truth, outcome, row.profile) if row.comparison == "interaction"
                 else planted[row.profile])
        print(f"  {row.profile:48} {row.estimate:+.3f} [{row.ci_low:+.3f}, {row.ci_high:+.3f}]  planted {truth:+.3f}")
        if row.comparison == "overall":
            continue  # one overall interval per study; its coverage is measured in bench/
        assert np.sign(row.estimate) == np.sign(truth), row.profile
        assert row.ci_low <= truth <= row.ci_high, row.profile
        assert row.interpretable == "yes"


def test_rows_say_n_sessions_and_sign_convention(sample_effects, sample_processed):
    overall = sample_effects[(sample_effects["outcome"] == "confidence") & (sample_effects["profile"] == "all")].iloc[0]
    assert (overall["sessions_strategy_first"], overall["sessions_tool_first"]) == (3, 3)
    post = sample_processed.data[sample_processed.data["wave"] == "post"]
    assert overall["n_tool_first"] + overall["n_strategy_first"] <= len(post)
    assert overall["p_min"] == pytest.approx(0.1)
    assert sample_effects.attrs["contrast"] == "tool-first minus strategy-first"
    per_profile = sample_effects[(sample_effects["outcome"] == "confidence")
                                 & (sample_effects["comparison"] == "profile")
                                 & (sample_effects["effect_type"] == "mean difference")]
    assert per_profile["n_tool_first"].sum() == overall["n_tool_first"]
    kinds = sample_effects.groupby("kind")["effect_type"].unique().to_dict()
    assert set(kinds["interval"]) == {"mean difference", "Hedges' g"}
    assert set(kinds["ordinal"]) == {"Cliff's delta"} and set(kinds["binary"]) == {"risk difference"}


def test_holm_within_each_family_of_five_strategies(sample_effects):
    family = sample_effects[sample_effects["family"] == "confidence items | all"]
    assert len(family) == 5
    expected = multipletests(family["p"].to_numpy(), method="holm")[1]
    assert family["p_adjusted"].to_numpy() == pytest.approx(expected)
    g = sample_effects[(sample_effects["effect_type"] == "Hedges' g") & (sample_effects["profile"] == "all")
                       & (sample_effects["outcome"] == "confidence")].iloc[0]
    md = sample_effects[(sample_effects["effect_type"] == "mean difference") & (sample_effects["profile"] == "all")
                        & (sample_effects["outcome"] == "confidence")].iloc[0]
    assert (g["p"], g["p_adjusted"]) == (md["p"], md["p_adjusted"])


def test_holm_equals_statsmodels_bit_for_bit():
    # compare.holm replaces statsmodels' Holm (which runs gc.collect on every call); same arithmetic
    rng = np.random.default_rng(13)
    for size in (1, 2, 5, 17):
        for p in (rng.uniform(size=size), rng.choice([0.1, 0.2, 0.5, 1.0], size=size), np.full(size, 0.3)):
            assert np.array_equal(compare.holm(p), multipletests(p, method="holm")[1])


def test_small_cells_are_marked_and_show_no_p(sample_processed):
    people = sorted(sample_processed.data["participant"].unique())
    rare = pd.DataFrame({"rare": 0.0, "common": 1.0}, index=pd.Index(people, name="participant"))
    rare.iloc[:6] = [1.0, 0.0]  # six people in one profile: under MIN_N in each arm
    effects = compare.compare_study(sample_processed, rare)
    cell = effects[(effects["profile"] == "rare") & (effects["outcome"] == "confidence")].iloc[0]
    assert cell["interpretable"] == "no" and cell["note"] == compare.TOO_FEW
    assert math.isnan(cell["p"]) and math.isnan(cell["p_adjusted"])
    inter = effects[(effects["comparison"] == "interaction") & (effects["outcome"] == "confidence")].iloc[0]
    assert inter["interpretable"] == "no"
    assert "too few to interpret" in summarise.plain_summary(effects, "confidence")


def test_posteriors_are_checked_and_profiles_csv_layout_accepted():
    with pytest.raises(ValueError, match="sum to"):
        compare.check_posteriors(pd.DataFrame({"x": [0.5], "y": [0.4]}, index=["a"]))
    with pytest.raises(ValueError, match="twice"):
        compare.check_posteriors(pd.DataFrame({"x": [1.0, 1.0]}, index=["a", "a"]))
    table = pd.DataFrame({"participant": ["a"], "profile": ["x"], "posterior: x": [0.9], "posterior: y": [0.1]})
    assert list(compare.check_posteriors(table).columns) == ["x", "y"]


def test_stored_effects_have_the_contract_columns(sample_results):
    table = pd.read_csv(sample_results.folder / "effects.csv")
    contract = ["outcome", "profile", "effect_type", "estimate", "ci_low", "ci_high", "p", "p_adjusted",
                "n_strategy_first", "n_tool_first", "sessions_strategy_first", "sessions_tool_first", "interpretable"]
    assert list(table.columns[:len(contract)]) == contract
    assert set(table["interpretable"]) <= {"yes", "no"}
    assert {"all", *PROFILE_ORDER} <= set(table["profile"])
    assert table["profile"].str.contains(" minus ").any()
    assert "tool-first minus strategy-first" in summarise.methods_text(sample_results)


def test_plain_summary_is_made_from_the_numbers(sample_effects):
    text = summarise.plain_summary(sample_effects, "confidence")
    row = sample_effects[(sample_effects["outcome"] == "confidence") & (sample_effects["profile"] == "new to the tools")
                         & (sample_effects["effect_type"] == "mean difference")].iloc[0]
    assert f"{row['estimate']:+.2f}" in text and f"{row['ci_low']:.2f} to {row['ci_high']:.2f}" in text
    assert "smallest possible p-value is 0.1" in text
    adoption = summarise.plain_summary(sample_effects, "adopt_networking")
    assert "percentage points" in adoption


# --- figures -------------------------------------------------------------------------------

def test_likert_bars_dont_know_does_not_move_the_centre(sample_study):
    counts = pd.DataFrame({"variable": ["q", "q"], "entry_point": ["strategy-first", "tool-first"],
                           "No": [4, 1], "Maybe": [2, 2], "Yes": [4, 7], "dont_know": [0, 0],
                           "not_applicable": [0, 0], "n": [10, 10]})
    more = counts.assign(dont_know=[5, 3], not_applicable=[1, 0])
    bars = [[(p.get_x(), p.get_width()) for p in plots.likert_bars(c).axes[0].patches] for c in (counts, more)]
    assert bars[0] == bars[1]
    side = plots.likert_bars(more).axes[1].patches
    assert max(p.get_width() for p in side) > 0


def test_likert_bars_and_forest_from_the_sample(sample_processed, sample_effects):
    items = [f"post_conf_{s}" for s in ("cooperation", "branding")]
    post = sample_processed.data[sample_processed.data["wave"] == "post"]
    counts = summarise.likert_counts(post, items, codebook=sample_processed.study.codebook)
    fig = plots.likert_bars(counts, sample_effects)
    labels = fig.axes[0].get_yticklabels()
    assert [t.get_color() for t in labels[:2]] == [plots.ENTRY_POINT_COLOURS["strategy-first"],
                                                   plots.ENTRY_POINT_COLOURS["tool-first"]]
    assert any("Cliff's" in t.get_text() for t in fig.axes[2].texts)
    forest = plots.effect_forest(sample_effects, ["confidence", "adoption"])
    assert len(forest.axes) == 2
    assert [t.get_text() for t in forest.axes[0].get_yticklabels()][:4] == ["everyone", *PROFILE_ORDER]


def test_planted_effects_recovered_with_the_fitted_profiles(sample_results, sample_truth):
    """The pipeline's own path: posteriors from the fitted profiles of the same run, not the planted labels."""
    assert list(sample_results.posteriors.columns) == PROFILE_ORDER
    effects = sample_results.effects
    planted = sample_truth["effects"]["observed"]["confidence"]
    rows = effects[(effects["outcome"] == "confidence") & (effects["effect_type"] == "mean difference")
                   & (effects["comparison"] == "profile")].set_index("profile")
    print("\nconfidence, fitted posteriors: estimate [95% CI] vs planted")
    for profile in PROFILE_ORDER:
        row = rows.loc[profile]
        print(f"  {profile:22} {row['estimate']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]  "
              f"planted {planted[profile]:+.3f}")
        assert np.sign(row["estimate"]) == np.sign(planted[profile])
        assert row["ci_low"] <= planted[profile] <= row["ci_high"]


# --- correction for classification error (BCH) ----------------------------------------

def _three_class_study(n=240, seed=7, scale=0.7):
    """Three latent classes measured by three Gaussian indicators; outcome y, 3 + 3 sessions."""
    rng = np.random.default_rng(seed)
    true = rng.choice(3, size=n, p=[0.3, 0.45, 0.25])
    centres = np.array([[-1.0, -0.5, 0.0], [0.5, 0.8, -0.4], [1.2, -0.6, 0.9]])
    x = centres[true] + rng.normal(scale=scale, size=(n, 3))
    session = np.arange(n) % 6
    tool = session % 2 == 0
    effect = np.array([0.2, -0.3, 0.6])
    y = np.array([0.0, 0.5, 1.0])[true] + tool * effect[true] + rng.normal(scale=0.5, size=n)
    scores = pd.DataFrame({"workshop": [f"s{s}" for s in session],
                           "entry_point": np.where(tool, "tool-first", "strategy-first"), "y": y},
                          index=pd.Index([f"p{i}" for i in range(n)], name="participant"))
    return x, true, tool, y, scores, centres, effect


Y_OUTCOME = compare.Outcome("y", "interval", "f", "y", ("y",))


def test_bch_profile_effects_match_stepmix():
    """Second implementation: StepMix 3.0.0 (Morin et al., StepMix: a Python package for pseudo-likelihood
    estimation of generalized mixture models with external variables; github.com/Labo-Lacourse/stepmix),
    three-step estimation with ``correction="BCH"``, ``assignment="soft"`` (``stepmix.corrections.
    compute_bch_matrix``: D = resp' resp / class size, weights resp @ pinv(D)). Its structural model
    ``gaussian_unit_nan`` on [y of tool-first, y of strategy-first] gives each class's corrected mean per
    arm; their difference is our per-profile mean difference, from StepMix's own posteriors."""
    stepmix = pytest.importorskip("stepmix.stepmix")
    x, true, tool, y, scores, _, _ = _three_class_study()
    arms = np.column_stack([np.where(tool, y, np.nan), np.where(tool, np.nan, y)])
    common = dict(n_components=3, measurement="continuous", structural="gaussian_unit_nan", n_steps=3,
                  assignment="soft", random_state=0, verbose=0, progress_bar=0)
    bch = stepmix.StepMix(correction="BCH", **common).fit(x, arms)
    naive = stepmix.StepMix(correction=None, **common).fit(x, arms)
    post = pd.DataFrame(bch.predict_proba(x), index=scores.index, columns=["a", "b", "c"])
    effects = compare.entry_point_effects(scores, outcomes=[Y_OUTCOME], posteriors=post)
    rows = effects[(effects["comparison"] == "profile") & (effects["effect_type"] == "mean difference")]
    rows = rows.set_index("profile").loc[["a", "b", "c"]]
    means = bch.get_parameters()["structural"]["means"]
    naive_means = naive.get_parameters()["structural"]["means"]
    np.testing.assert_allclose(rows["estimate"], means[:, 0] - means[:, 1], atol=1e-8)
    np.testing.assert_allclose(rows["estimate_uncorrected"], naive_means[:, 0] - naive_means[:, 1], atol=1e-8)
    assert (rows["correction"] == "bch").all()
    # the corrected weights' class means are StepMix's too (everyone, both arms)
    w = compare.bch_weights(post)
    both = bch.get_parameters()["structural"]["means"]
    tool_means = (w.to_numpy() * np.where(tool, y, 0)[:, None]).sum(0) / w.to_numpy()[tool].sum(0)
    np.testing.assert_allclose(tool_means, both[:, 0], atol=1e-8)


def test_bch_on_a_hand_computed_example():
    """Vermunt (2010, Political Analysis 18:450, eq. 6) / Bakk, Tekle and Vermunt (2013): soft assignment,
    D[s, t] = sum_i p_is p_it / sum_i p_is, by hand for two classes and four people."""
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.0, 1.0]])
    d = compare.classification_error(p)
    size = [0.9 + 0.8 + 0.1, 0.1 + 0.2 + 0.9 + 1.0]  # 1.8, 2.2
    by_hand = np.array([[0.81 + 0.64 + 0.01, 0.09 + 0.16 + 0.09], [0.09 + 0.16 + 0.09, 0.01 + 0.04 + 0.81 + 1.0]])
    np.testing.assert_allclose(d, by_hand / np.array(size)[:, None])
    w = compare.bch_weights(p)
    np.testing.assert_allclose(w @ d, p, atol=1e-12)  # weights times D give back the posteriors
    np.testing.assert_allclose(w.sum(axis=0), size)  # each profile keeps its posterior size
    np.testing.assert_allclose(w.sum(axis=1), 1)  # each person still counts once in all
    onehot = np.eye(2)[[0, 0, 1, 1]]
    np.testing.assert_allclose(compare.bch_weights(onehot), onehot)  # no classification error: no change


def test_bch_removes_the_blend_and_none_keeps_it():
    """With the model's exact posteriors (Bayes' rule on the known classes) and many people, the corrected
    per-profile effects land near the planted ones while the uncorrected are pulled toward the other
    classes' effects (Bakk, Tekle and Vermunt 2013: BCH is unbiased, the naive three-step is not; with
    30,000 people over 20 seeds the corrected bias here is within 0.004 of 0); ``correction="none"``
    reports the uncorrected estimate."""
    x, true, tool, y, scores, centres, effect = _three_class_study(n=3000, seed=11, scale=0.8)
    log_density = (np.stack([stats.norm.logpdf(x, c, 0.8).sum(axis=1) for c in centres], axis=1)
                   + np.log([0.3, 0.45, 0.25]))
    post = np.exp(log_density - log_density.max(axis=1, keepdims=True))
    post = pd.DataFrame(post / post.sum(axis=1, keepdims=True), index=scores.index, columns=["c0", "c1", "c2"])
    effects = compare.entry_point_effects(scores, outcomes=[Y_OUTCOME], posteriors=post)
    rows = effects[(effects["comparison"] == "profile") & (effects["effect_type"] == "mean difference")]
    rows = rows.set_index("profile").loc[["c0", "c1", "c2"]]
    corrected, plain = rows["estimate"].to_numpy() - effect, rows["estimate_uncorrected"].to_numpy() - effect
    print(f"\nbias corrected {np.round(corrected, 3)}, uncorrected {np.round(plain, 3)}")
    assert np.abs(corrected).sum() < np.abs(plain).sum() / 2
    assert plain[1] > 0.1 and abs(corrected[1]) < 0.05  # the middle class borrows from both neighbours
    none = compare.entry_point_effects(scores, outcomes=[Y_OUTCOME], posteriors=post, correction="none")
    np.testing.assert_allclose(none["estimate"], effects["estimate_uncorrected"])
    np.testing.assert_allclose(none["estimate"], none["estimate_uncorrected"])
    with pytest.raises(ValueError, match="correction must be one of bch, none"):
        compare.entry_point_effects(scores, outcomes=[Y_OUTCOME], posteriors=post, correction="ml")
