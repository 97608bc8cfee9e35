"""Scales: construct scores and reliability, checked against published values and second implementations."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import FactorAnalysis

from analysis import scales
from analysis.scales import READINESS_CONSTRUCTS

# pingouin's dataset "cronbach_wide_missing" (raphaelvallat/pingouin, src/pingouin/datasets/
# cronbach_wide_missing.csv): 12 people x 11 binary items, four answers missing. Its expected values
# come from pingouin's tests/test_reliability.py, which took them from R:
#   psych::alpha(data[complete.cases(data), ])  -> alpha 0.801695, Feldt 95% CI [0.533, 0.947]
#   psych::alpha(data, use = "pairwise")        -> alpha 0.732661, Feldt 95% CI [0.435, 0.909] (n = 12)
CRONBACH_WIDE_MISSING = """\
Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8,Q9,Q10,Q11
1,1,1,1,1,1,1,1,1,1,1
1,1,1,1,1,1,1,1,0,1,0
,0,1,1,,1,1,1,1,0,0
1,1,1,0,1,1,0,1,1,0,0
1,1,1,1,1,0,0,0,1,0,0
0,1,,0,1,1,1,1,0,0,0
1,1,1,1,0,0,1,0,0,0,0
1,1,1,1,1,0,0,0,0,0,0
0,1,0,1,1,0,0,0,0,1,0
1,0,0,1,0,1,0,0,,0,0
1,1,1,0,0,0,0,0,0,0,0
1,0,0,1,0,0,0,0,0,0,0
"""

# R's mtcars (Henderson & Velleman 1981), columns cyl, gear, carb, hp. easystats/performance
# tests/testthat/test-cronbachs_alpha.R: cronbachs_alpha(mtcars[, c("cyl", "gear", "carb", "hp")])
# == 0.09463206 (tolerance 1e-3).
MTCARS = {
    "cyl": [6, 6, 4, 6, 8, 6, 8, 4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 4, 4, 4, 4, 8, 8, 8, 8, 4, 4, 4, 8, 6, 8, 4],
    "gear": [4, 4, 4, 3, 3, 3, 3, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 4, 4, 4, 3, 3, 3, 3, 3, 4, 5, 5, 5, 5, 5, 4],
    "carb": [4, 4, 1, 1, 2, 1, 4, 2, 2, 4, 4, 3, 3, 3, 4, 4, 4, 1, 2, 1, 1, 2, 2, 4, 2, 1, 2, 2, 4, 6, 8, 2],
    "hp": [110, 110, 93, 110, 175, 105, 245, 62, 95, 123, 123, 180, 180, 180, 205, 215, 230, 66, 52, 65, 97,
           150, 150, 245, 175, 66, 91, 113, 264, 175, 335, 109],
}


def _wide_missing():
    data = pd.read_csv(io.StringIO(CRONBACH_WIDE_MISSING)).add_suffix("_code")
    return data, {"q": [f"Q{i}" for i in range(1, 12)]}


def test_alpha_and_feldt_interval_match_psych_listwise():
    data, items = _wide_missing()
    row = scales.reliability(data, items, n_boot=0).iloc[0]
    assert row["n"] == 9
    assert round(row["alpha"], 6) == 0.801695
    assert (round(row["alpha_ci_low"], 3), round(row["alpha_ci_high"], 3)) == (0.533, 0.947)


def test_alpha_and_feldt_interval_match_psych_pairwise():
    data, items = _wide_missing()
    row = scales.reliability(data, items, n_boot=0, missing="pairwise").iloc[0]
    assert row["n"] == 12
    assert round(row["alpha"], 6) == 0.732661
    assert (round(row["alpha_ci_low"], 3), round(row["alpha_ci_high"], 3)) == (0.435, 0.909)


def test_alpha_matches_published_mtcars_value():
    cov = pd.DataFrame(MTCARS).cov().to_numpy()
    assert scales.cronbach_alpha(cov) == pytest.approx(0.09463206, abs=1e-6)


def test_alpha_equals_the_mean_inter_item_covariance_formula():
    rng = np.random.default_rng(7)
    f = rng.normal(size=150)
    x = np.column_stack([f * w + rng.normal(size=150) for w in (0.5, 1.0, 1.5, 0.8, 1.2)])
    k = x.shape[1]
    cov = np.cov(x, rowvar=False)
    mean_offdiag = (cov.sum() - np.trace(cov)) / (k * (k - 1))
    by_covariance = k**2 * mean_offdiag / cov.sum()
    by_variance_of_sum = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / x.sum(axis=1).var(ddof=1))
    assert scales.cronbach_alpha(cov) == pytest.approx(by_covariance, rel=1e-12)
    assert scales.cronbach_alpha(cov) == pytest.approx(by_variance_of_sum, rel=1e-12)


def test_omega_agrees_with_sklearn_factor_analysis(sample_processed):
    pre = sample_processed.data[sample_processed.data["wave"] == "pre"]
    items = scales.construct_items(sample_processed.study.codebook, READINESS_CONSTRUCTS, wave="pre")
    for names in items.values():
        x = pre[[f"{n}_code" for n in names]].dropna().to_numpy(float)
        fa = FactorAnalysis(n_components=1, tol=1e-10, max_iter=10_000).fit(x)
        lam, psi = np.abs(fa.components_[0]), fa.noise_variance_
        sklearn_omega = lam.sum() ** 2 / (lam.sum() ** 2 + psi.sum())
        ours, _ = scales.one_factor_ml(np.cov(x, rowvar=False, ddof=0))
        assert np.allclose(ours, lam, atol=1e-3)
        assert scales.mcdonald_omega(np.cov(x, rowvar=False)) == pytest.approx(sklearn_omega, abs=1e-5)


def test_reliability_on_the_sample(sample_processed):
    pre = sample_processed.data[sample_processed.data["wave"] == "pre"]
    items = scales.construct_items(sample_processed.study.codebook, READINESS_CONSTRUCTS, wave="pre")
    rel = scales.reliability(pre, items, n_boot=100)
    assert list(rel["construct"]) == list(READINESS_CONSTRUCTS)
    assert (rel["alpha"] > 0.8).all() and (rel["omega"] > 0.8).all()
    assert (rel["alpha_ci_low"] < rel["alpha"]).all() and (rel["alpha"] < rel["alpha_ci_high"]).all()
    assert (rel["omega_ci_low"] < rel["omega"]).all() and (rel["omega"] < rel["omega_ci_high"]).all()
    again = scales.reliability(pre, items, n_boot=100)
    pd.testing.assert_frame_equal(rel, again)  # fixed seed: same intervals


def test_item_statistics_match_direct_computation():
    rng = np.random.default_rng(3)
    f = rng.normal(size=80)
    data = pd.DataFrame({f"i{j}_code": f + rng.normal(size=80) for j in range(4)})
    items = {"c": ["i0", "i1", "i2", "i3"]}
    table = scales.item_statistics(data, items)
    for j, row in table.iterrows():
        others = [f"i{m}_code" for m in range(4) if m != j]
        rest = data[others].sum(axis=1)
        assert row["item_rest_r"] == pytest.approx(np.corrcoef(data[f"i{j}_code"], rest)[0, 1])
        assert row["alpha_if_dropped"] == pytest.approx(scales.cronbach_alpha(data[others].cov().to_numpy()))
    assert table["loading"].between(0, 1).all()


def test_single_and_two_item_constructs_give_nan_where_undefined():
    data = pd.DataFrame({"a_code": [1, 2, 3, 2], "b_code": [1, 3, 3, 2], "c_code": [2, 2, 3, 1]})
    rel = scales.reliability(data, {"one": ["a"], "two": ["a", "b"]}, n_boot=10).set_index("construct")
    assert np.isnan(rel.at["one", "alpha"]) and np.isnan(rel.at["one", "omega"])
    assert np.isfinite(rel.at["two", "alpha"]) and np.isnan(rel.at["two", "omega"])


def test_construct_scores_min_items_rule_and_counts():
    data = pd.DataFrame({"participant": ["a", "b", "c", "d"],
                         "x1_code": [4, 2, None, 1], "x2_code": [5, None, None, 1],
                         "x3_code": [3, 3, 1, None], "x4_code": [4, None, None, None]})
    before = data.copy()
    items = {"x": ["x1", "x2", "x3", "x4"]}
    scores = scales.construct_scores(data, items)  # default: at least 2 of 4
    pd.testing.assert_frame_equal(data, before)  # input untouched
    assert scores.index.name == "participant"
    assert scores["x_items"].tolist() == [4, 2, 1, 2]
    assert scores["x"].tolist()[:2] == [4.0, 2.5] and pd.isna(scores.at["c", "x"]) and scores.at["d", "x"] == 1.0
    assert scales.construct_scores(data, items, min_items=1).at["c", "x"] == 1.0
    assert scales.construct_scores(data, items, min_items=3)["x"].isna().tolist() == [False, True, True, True]
    assert scales.construct_scores(data, items, missing="complete")["x"].notna().tolist() == [True, False, False,
                                                                                             False]


@pytest.mark.parametrize("kwargs, message", [
    ({"missing": "mean"}, "missing must be one of 'available', 'complete'"),
    ({"min_items": 0}, "min_items must be a positive integer"),
    ({"min_items": 2, "missing": "complete"}, "min_items applies only"),
])
def test_construct_scores_checks_arguments_up_front(kwargs, message):
    data = pd.DataFrame({"participant": ["a"], "x1_code": [1]})
    with pytest.raises(ValueError, match=message):
        scales.construct_scores(data, {"x": ["x1"]}, **kwargs)


def test_construct_scores_wants_one_row_per_participant(sample_processed):
    items = scales.construct_items(sample_processed.study.codebook, READINESS_CONSTRUCTS, wave="pre")
    with pytest.raises(ValueError, match="select one wave"):
        scales.construct_scores(sample_processed.data, items)


def test_reliability_checks_missing_argument():
    with pytest.raises(ValueError, match="missing must be one of 'listwise', 'pairwise'; got 'drop'"):
        scales.reliability(pd.DataFrame({"a_code": [1]}), {"c": ["a"]}, missing="drop")


def test_construct_items_names_unknown_constructs(sample_processed):
    with pytest.raises(ValueError, match="no items in wave 'pre' for construct\\(s\\) 'courage'"):
        scales.construct_items(sample_processed.study.codebook, ["guts", "courage"], wave="pre")


def test_omega_bootstrap_over_answer_patterns_agrees_with_drawing_rows(monkeypatch):
    """A large study's omega interval (resamples drawn as multinomial counts of answer patterns) is the
    interval of drawing rows with replacement: same data, both ways, 400 resamples each."""
    rng = np.random.default_rng(7)
    n = 6000
    f = rng.normal(size=n)
    data = pd.DataFrame({f"q{i}_code": np.clip(np.rint(3 + f + rng.normal(0, 1, n)), 1, 5) for i in range(4)})
    items = {"c": ["q0", "q1", "q2", "q3"]}
    patterns = scales.reliability(data, items, n_boot=400).iloc[0]
    monkeypatch.setattr(scales, "PATTERN_BOOT_N", n)  # n is not above it: rows are drawn
    rows = scales.reliability(data, items, n_boot=400).iloc[0]
    assert patterns["omega"] == rows["omega"]
    width = rows["omega_ci_high"] - rows["omega_ci_low"]
    for end in ("omega_ci_low", "omega_ci_high"):
        assert abs(patterns[end] - rows[end]) < 0.15 * width  # Monte Carlo error of a 2.5% quantile of 400
    # one resample's covariance, against the rows it stands for
    block = data.to_numpy()
    pr = scales._PatternResampler(block)
    w = np.random.default_rng(1).multinomial(n, pr.shares)
    expanded = np.repeat(pr.patterns, w, axis=0)
    np.testing.assert_allclose(pr.cov(np.random.default_rng(1)), np.cov(expanded, rowvar=False), atol=1e-10)
