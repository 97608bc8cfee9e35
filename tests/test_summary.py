"""The trainer's summary: one paragraph per profile, its advice following the planted effects."""

import re

from analysis import summarise


def _paragraphs(text: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r"\*\*(.+?)\*\* \(about.*", str(text))}


def test_each_profile_gets_a_paragraph_whose_advice_follows_the_planted_effect(sample_results, sample_truth):
    paragraphs = _paragraphs(summarise.profile_findings(sample_results))
    assert set(paragraphs) == {n.capitalize() for n in sample_results.profile_names}
    planted = sample_truth["effects"]["observed"]["confidence"]
    for name in sample_results.profile_names:
        arm = "tool-first" if planted[name] > 0 else "strategy-first"
        assert f"Suggested start: **{arm}**." in paragraphs[name.capitalize()], name
    # the sample's profile sizes: sums of posteriors, each about a third of 240
    assert all(re.search(r"about (7\d|8\d) people", p) for p in paragraphs.values())


def test_the_rule_and_the_facts_are_the_studys(sample_results):
    rule = summarise.sureness_rule(sample_results)
    assert "95% interval" in rule and f"fewer than {sample_results.settings.min_n} people" in rule
    facts = summarise.study_facts(sample_results)
    assert "240 participants" in facts and "3 sessions strategy-first and 3 sessions tool-first" in facts


def test_a_group_with_opposite_clear_results_gets_no_single_advice():
    assert summarise._advice({1, -1}).startswith("Neither entry point did better on everything")
    assert summarise._advice(set()).startswith("The data cannot tell")


def test_every_figure_has_an_alt_text_made_from_its_numbers(sample_outputs, sample_results):
    from bs4 import BeautifulSoup

    images = 0
    for page in sorted((sample_outputs / "reports").glob("*.html")):
        for img in BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all("img"):
            alt = img.get("alt", "")
            assert alt and "No description" not in alt and re.search(r"\d", alt), (page.name, alt)
            assert int(img["width"]) > 0
            images += 1
    assert images >= 9
    e = sample_results.effects
    row = e[(e["outcome"] == "confidence") & (e["profile"] == "new to the tools")
            & (e["effect_type"] == "mean difference")].iloc[0]
    alt = summarise.forest_figure(sample_results).alt
    assert f"new to the tools {row.estimate:+.2f} ({row.ci_low:.2f} to {row.ci_high:.2f})" in alt


def _with_fit(sample_results, tmp_path, edit):
    import shutil

    from analysis import results

    folder = shutil.copytree(sample_results.folder, tmp_path / "results")
    fit = sample_results.fit.copy()
    edit(fit)
    fit.to_csv(folder / "fit.csv", index=False)
    return results.load(folder)


def test_overlapping_profiles_are_offered_as_a_first_sketch(sample_results, tmp_path):
    def overlap(fit):
        fit.loc[fit["chosen"], "entropy"] = 0.7

    res = _with_fit(sample_results, tmp_path, overlap)
    text = str(summarise.profile_findings(res))
    assert text.startswith("**Read these profiles as a first sketch.** They overlap, so it is not clear how many")
    assert set(_paragraphs(text)) == {n.capitalize() for n in res.profile_names}  # still one paragraph each
    assert "first sketch" not in str(summarise.profile_findings(sample_results))  # the sample's are clear


def test_one_group_is_said_to_be_no_profiles_found(sample_results, tmp_path):
    def one(fit):
        fit["chosen"] = fit.index == fit.index[fit["k"] == 1][0]

    res = _with_fit(sample_results, tmp_path, one)
    text = str(summarise.profile_findings(res))
    assert text.startswith("No distinct readiness profiles were found in this study")
    assert "with 240 participants" in text and not _paragraphs(text)
    assert "**Everyone together.**" in text


def test_without_the_comparison_the_summary_still_says_who_came(sample_results, tmp_path):
    """A study with profiles but no entry points to compare: the trainer reads why, then who each profile is."""
    import json
    import shutil

    from analysis import results

    folder = shutil.copytree(sample_results.folder, tmp_path / "results")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["stages"]["compare"].update(status="not available", why="no_entry_point", detail={}, files={})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    res = results.load(folder)
    text = str(summarise.profile_findings(res))
    assert text.startswith("This summary cannot say which entry point helps whom. "
                           "This study does not say which entry point each session used.\n\n")
    paragraphs = _paragraphs(text)
    assert set(paragraphs) == {n.capitalize() for n in res.profile_names}
    assert all("Suggested start" not in p and "did better" not in p for p in paragraphs.values())
    assert "lower focus, guts and tool skills than most" in paragraphs["New to the tools"]
    assert "Everyone together" not in text
    assert "who the group is: the readiness they brought" in str(summarise.profiles_heading(res))
    assert "which entry point did better" in str(summarise.profiles_heading(sample_results))
