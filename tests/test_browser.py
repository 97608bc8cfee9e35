"""The report pages in a real browser: Debian's Chromium driven by Playwright, at desk and phone width.

Skipped with a message where Chromium, Playwright or axe-core is missing; CI (``.ci/run``) installs
all three and sets ``ANALYSIS_REQUIRE_BROWSER=1``, so there they must run. axe-core (the accessibility
checker, from the npm registry) is found through ``$AXE_CORE_JS`` or where ``.ci/run`` installs it.

Screenshots of every page at both widths, and the summary printed to PDF, are kept in the test's
output folder (``$ANALYSIS_BROWSER_OUT``, else a pytest temporary folder; printed by the tests).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from analysis.cli import main
from analysis.paths import SAMPLE_DIR, SAMPLE_STUDY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (1280, 390)
FIRST_SCREEN = 900  # px at 1280: what a trainer sees before scrolling
NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"
REQUIRED = bool(os.environ.get("ANALYSIS_REQUIRE_BROWSER"))
#: Where .ci/run installs axe-core (npm install --prefix this folder).
AXE_DEFAULT = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workshop-analysis" / "npm" \
    / "node_modules" / "axe-core" / "axe.min.js"
REALDATA_STUDY = Path(__file__).parent / "realdata" / "coderefinery_pre" / "study.yaml"

# the smallest computed font size of any visible element that holds text itself
SMALLEST_TEXT = """() => {
  let smallest = 1000, where = "";
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === "hidden") continue;
    const size = parseFloat(getComputedStyle(el).fontSize);
    if (size < smallest) { smallest = size; where = el.tagName + ": " + el.textContent.trim().slice(0, 40); }
  }
  return [smallest, where];
}"""

# axe-core's serious and critical violations: rule, impact, how many elements, the first element
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}, ${v.nodes.length}x): ${v.nodes[0].target.join(" ")} ${v.nodes[0].failureSummary}`);
}"""

# paragraphs of the summary that start with a bold name (one per profile, and one for everyone),
# with their bottom edge: language-independent, so the Dutch page is held to the same rule
NAMED_PARAGRAPHS = """() => [...document.querySelectorAll("main p")]
  .filter(p => p.firstElementChild && p.firstElementChild.tagName === "STRONG"
               && p.textContent.trim().startsWith(p.firstElementChild.textContent.trim())
               && p.textContent.split(/\\s+/).length > 12)
  .map(p => [p.firstElementChild.textContent.trim(), p.getBoundingClientRect().bottom + window.scrollY,
              p.innerText])"""


def _skip_or_fail(reason: str):
    if REQUIRED:
        pytest.fail(f"ANALYSIS_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(f"{reason}; browser checks skipped")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        _skip_or_fail("no chromium is installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright is not installed (pip install playwright)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def axe() -> Path:
    path = Path(os.environ.get("AXE_CORE_JS") or AXE_DEFAULT)
    if not path.is_file():
        _skip_or_fail(f"axe-core is not at {path} (npm install --prefix {AXE_DEFAULT.parents[2]} axe-core, "
                      "or set AXE_CORE_JS to its axe.min.js)")
    return path


@pytest.fixture(scope="module")
def out_folder(tmp_path_factory) -> Path:
    given = os.environ.get("ANALYSIS_BROWSER_OUT")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        return Path(given)
    return tmp_path_factory.mktemp("browser")


def _open(browser, path: Path, width: int):
    """Open ``path`` at ``width``; return the page, its console errors and every request that left it."""
    page = browser.new_page(viewport={"width": width, "height": FIRST_SCREEN})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url == path.as_uri():
            return r.continue_()
        requests.append(r.request.url)
        return r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri(), wait_until="load")
    return page, errors, requests


def check_every_page(browser, axe: Path, reports: Path, shots: Path, *, language: str) -> list[str]:
    """Every page of ``reports`` at both widths: offline, no console error, no sideways scrolling, real alt
    texts, no text under 12 px, the study's language, no serious or critical axe-core violation.
    Screenshots go to ``shots``; returns the pages checked."""
    shots.mkdir(parents=True, exist_ok=True)
    pages = sorted(reports.glob("*.html"))
    assert len(pages) >= 6, pages  # index and five reports
    for path in pages:
        for width in WIDTHS:
            page, errors, requests = _open(browser, path, width)
            where = f"{path.name} at {width} px"
            assert errors == [], where
            assert requests == [], f"{where} asked the network for {requests[:3]}"
            assert page.evaluate("document.documentElement.lang") == language, where
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
                f"{where} scrolls sideways"
            alts = page.evaluate("[...document.images].map(i => i.alt)")
            assert all(a and a != NBCONVERT_DEFAULT_ALT for a in alts), where
            smallest, element = page.evaluate(SMALLEST_TEXT)
            assert smallest >= 12, f"{where}: text of {smallest}px ({element})"
            page.screenshot(path=str(shots / f"{path.stem}_{width}.png"), full_page=True)
            page.add_script_tag(path=str(axe))  # inline: no request leaves the page
            violations = page.evaluate(AXE_RUN)
            assert violations == [], f"{where}: axe-core found\n" + "\n".join(violations)
            page.close()
    print(f"screenshots of {len(pages)} pages in {shots}")
    return [p.name for p in pages]


def _pdf_pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))


def _first_screen(browser, path: Path):
    """The summary at 1280 px: its named paragraphs (name, bottom edge) and the text of its first screen."""
    page, _, _ = _open(browser, path, 1280)
    named = page.evaluate(NAMED_PARAGRAPHS)
    text = page.evaluate(f"""() => [...document.querySelectorAll("main p, main li")]
        .filter(e => e.getBoundingClientRect().top < {FIRST_SCREEN}).map(e => e.innerText).join(" ")""")
    page.close()
    return named, text


# --- the sample study, in English ----------------------------------------------------------

def test_every_page_of_the_sample_at_desk_and_phone_width(browser, axe, sample_outputs, out_folder):
    checked = check_every_page(browser, axe, sample_outputs / "reports", out_folder / "sample", language="en")
    assert "index.html" in checked and "00_summary.html" in checked


def test_the_summarys_first_screen_answers_for_every_profile(browser, sample_outputs, sample_results):
    named, text = _first_screen(browser, sample_outputs / "reports" / "00_summary.html")
    paragraphs = {name.lower(): (bottom, words) for name, bottom, words in named}
    for name in sample_results.profile_names:
        assert name.lower() in paragraphs, f"no paragraph for {name!r} in {list(paragraphs)}"
        bottom, words = paragraphs[name.lower()]
        assert bottom <= FIRST_SCREEN, f"{name!r} ends at y = {bottom:.0f}, below the first screen"
        assert re.search(r"Suggested start|too few to say|no clear difference", words), words


def test_report_pdf_prints_the_summary_on_at_most_two_a4_pages(browser, sample_outputs, out_folder, capsys):
    reports = sample_outputs / "reports"
    assert main(["report", str(SAMPLE_STUDY), "--out", str(reports), "--pdf"]) == 0
    said = capsys.readouterr().out
    assert f"wrote {reports.resolve() / 'summary.pdf'}" in said, said
    pdf = shutil.copy(reports / "summary.pdf", out_folder / "sample_summary.pdf")
    pages = _pdf_pages(Path(pdf))
    print(f"summary.pdf: {pages} pages, {pdf}")
    assert 1 <= pages <= 2
    assert Path(pdf).read_bytes()[:5] == b"%PDF-"
    mediabox = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", Path(pdf).read_bytes())
    assert mediabox and abs(float(mediabox[1]) - 595.3) < 2 and abs(float(mediabox[2]) - 841.9) < 2, "not A4"


# --- a study that lacks profiles and entry points (real exports) ------------------------------

def test_a_study_without_profiles_or_entry_points_says_what_it_cannot_answer(
        browser, axe, realdata, tmp_path, out_folder, monkeypatch):
    monkeypatch.setenv("ANALYSIS_PSEUDONYM_KEY", "test key for public real data")
    reports = tmp_path / "reports"
    assert main(["report", str(REALDATA_STUDY), "--out", str(reports)]) == 0
    check_every_page(browser, axe, reports, out_folder / "realdata", language="en")
    _, text = _first_screen(browser, reports / "00_summary.html")
    # what it cannot answer, and why (the study lacks what the comparison needs), before any scrolling
    assert "This summary cannot say which entry point helps whom" in text, text
    assert re.search(r"declares no|has no|lacks", text), text


# --- the sample study in Dutch ------------------------------------------------------------

def _dutch_sample(folder: Path) -> Path:
    """A copy of the sample study (without its results) whose ``analysis:`` block says ``language: nl``."""
    shutil.copytree(SAMPLE_DIR, folder, ignore=shutil.ignore_patterns("results"))
    study = folder / "study.yaml"
    data = yaml.safe_load(study.read_text(encoding="utf-8"))
    data.setdefault("analysis", {})["language"] = "nl"
    study.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return study


def test_the_sample_in_dutch(browser, axe, sample_outputs, sample_results, tmp_path, out_folder):
    from analysis.settings import Settings

    if "language" not in Settings.__dataclass_fields__:
        _skip_or_fail("analysis.settings has no `language` yet (the nl/en catalogue is another branch)")
    reports = tmp_path / "reports"
    assert main(["report", str(_dutch_sample(tmp_path / "study")), "--out", str(reports)]) == 0
    english = (sample_outputs / "reports" / "00_summary.html").read_text(encoding="utf-8")
    dutch = (reports / "00_summary.html").read_text(encoding="utf-8")
    headings = re.findall(r"<h2 id=\"[^\"]+\"[^>]*>([^<]+)", english)
    if all(h in dutch for h in headings):
        # the pages carry lang="nl" but English words: the message catalogue has not landed yet
        _skip_or_fail("the report's words are not translated yet: the summary's headings are still English "
                      f"({headings[:2]}); this passes once the nl/en message catalogue is merged")
    check_every_page(browser, axe, reports, out_folder / "nl", language="nl")
    named, _ = _first_screen(browser, reports / "00_summary.html")
    on_first_screen = [name for name, bottom, _ in named if bottom <= FIRST_SCREEN]
    assert len(on_first_screen) >= len(sample_results.profile_names), named
