"""The report pages in a real browser: Debian's Chromium driven by Playwright, at desk and phone width.

Skipped with a message where Chromium or Playwright is missing; CI installs both and sets
``ANALYSIS_REQUIRE_BROWSER=1``, so there they must run. Screenshots of every page at both widths,
and the summary printed to PDF, are kept in the test's output folder (printed by the test).
"""

import os
import re
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTHS = (1280, 390)
NBCONVERT_DEFAULT_ALT = "No description has been provided for this image"

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


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("ANALYSIS_REQUIRE_BROWSER"):
            pytest.fail("ANALYSIS_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)")
        pytest.skip("no chromium on this machine (apt-get install chromium); browser checks skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("ANALYSIS_REQUIRE_BROWSER"):
            raise
        pytest.skip("playwright is not installed (pip install playwright); browser checks skipped")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def _open(browser, path, width):
    """Open ``path`` at ``width``; return the page, its console errors and every request that left it."""
    page = browser.new_page(viewport={"width": width, "height": 900})
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


def test_every_page_at_desk_and_phone_width(browser, sample_outputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("screenshots")
    pages = sorted((sample_outputs / "reports").glob("*.html"))
    assert len(pages) >= 5
    for path in pages:
        for width in WIDTHS:
            page, errors, requests = _open(browser, path, width)
            where = f"{path.name} at {width} px"
            assert errors == [], where
            assert requests == [], f"{where} asked the network for {requests[:3]}"
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), \
                f"{where} scrolls sideways"
            alts = page.evaluate("[...document.images].map(i => i.alt)")
            assert all(a and a != NBCONVERT_DEFAULT_ALT for a in alts), where
            smallest, element = page.evaluate(SMALLEST_TEXT)
            assert smallest >= 12, f"{where}: text of {smallest}px ({element})"
            page.screenshot(path=str(out / f"{path.stem}_{width}.png"), full_page=True)
            page.close()
    print(f"screenshots in {out}")


def test_the_summarys_first_screen_answers_for_every_profile_and_prints_on_two_pages(
        browser, sample_outputs, sample_results, tmp_path_factory):
    path = sample_outputs / "reports" / "00_summary.html"
    page, _, _ = _open(browser, path, 1280)
    for name in sample_results.profile_names:
        box = page.get_by_text(name.capitalize(), exact=True).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, f"{name!r} is not on the first screen"
        paragraph = page.get_by_text(name.capitalize(), exact=True).first.locator("xpath=..").inner_text()
        assert re.search(r"Suggested start|cannot tell|Neither entry point", paragraph), paragraph
    pdf = tmp_path_factory.mktemp("pdf") / "summary.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf.read_bytes()))
    print(f"summary.pdf: {pages} pages, {pdf}")
    assert 1 <= pages <= 2
