"""The message catalogue and the words a trainer reads: complete in both languages, no English left in a
Dutch report, no command line or file name in the trainer's part, tables made for people."""

import json
import re
import shutil

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis import messages, summarise
from analysis.compare import ARMS
from analysis.paths import NOTEBOOKS_DIR, SAMPLE_STUDY
from analysis.settings import LANGUAGES

PACKAGE = messages.LOCALE_DIR.parent
#: A catalogue call with a literal key: _t(x, "key"), text(res, "key"), messages.text(lang, "key"),
#: plural(lang, "key", n), messages.has(lang, "key"), _count(n, "count.x", language=...).
KEY_CALL = re.compile(r"""(?:\b_t|\btext|\bplural|\bhas)\(\s*[^,()"']+(?:\([^()]*\))?,\s*["']([a-z_]+\.[\w.\- ]+)["']""")
COUNT_CALL = re.compile(r"""_count\([^,]+,\s*["'](count\.\w+)["']""")


def _po_entries(language):
    from babel.messages.pofile import read_po

    with messages.po_path(language).open("rb") as f:
        return {(m.id[0] if isinstance(m.id, tuple) else m.id): m for m in read_po(f) if m.id}


def _keys_used() -> set[str]:
    sources = [p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py")]
    for nb in NOTEBOOKS_DIR.glob("*.ipynb"):
        sources += ["".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"]]
    keys = {k for src in sources for k in KEY_CALL.findall(src) + COUNT_CALL.findall(src) if not k.endswith(".")}
    keys -= {"section.what", "count.thing"}  # the examples in analysis.messages' docstring
    # keys the code builds from a family name
    keys |= {f"{prefix}.{why}" for prefix in ("lacks", "fix") for why in summarise.WHY_NOT}
    keys |= {f"finding.{w}" for w in ("clear", "leaning", "unclear", "too_few")} | {f"arm.{a}" for a in ARMS}
    keys |= {f"glossary.{t}" for terms in summarise.GLOSSARY.values() for t in terms}
    keys |= {f"glossary.term.{t}" for terms in summarise.GLOSSARY.values() for t in terms}
    keys |= {f"wave.{r}" for r in ("baseline", "after", "followup")}
    keys |= {f"verdict.{v}" for v in ("dissolves", "doubtful", "stable_not_in_every_resample")}
    keys |= {f"pattern.{c}" for c in ("high", "low", "above", "below")}
    keys |= {f"nav.{n}" for n in ("all_reports", "contents", "previous", "next")}
    from analysis import plots
    from analysis.compare import CORRECTIONS, EFFECT_TYPES

    keys |= {f"method.{what}.{c}" for what in ("correction", "correction_sentence") for c in CORRECTIONS}
    keys |= {f"research.measure.{c}" for c in ("bic", "icl")}
    keys |= {f"research.model.{m}" for m in ("spherical", "diag", "full", "tied")}
    keys |= {f"outcomes.{kind}" for kind in ("gain", "yes_share", "mean", "binary", "ordinal")}
    keys |= {f"alt.verdict.{v}" for v in ("stable", "doubtful", "dissolves", "stable_not_in_every_resample")}
    keys |= {f"alt.by.{by}" for by in ("entry_point", "profile")}
    keys |= {f"plot.{key}" for key in plots.WORDS}
    keys |= {"effect_type." + kind.replace("'", "").replace(" ", "_") for kinds in EFFECT_TYPES.values()
             for kind in kinds}
    keys |= {f"profilename.{w}" for w in ("high", "low", "average", "lower", "higher")}
    keys |= {f"cell.{v}" for v in summarise.CELL_WORDS}
    for nb in NOTEBOOKS_DIR.glob("*.ipynb"):
        page = json.loads(nb.read_text(encoding="utf-8"))["metadata"]["analysis"]["page"]
        keys |= {f"{page}.title", f"{page}.blurb", f"{page}.page"}
    return keys


def test_the_scan_finds_the_catalogue_calls():
    keys = _keys_used()
    assert {"summary.facts", "count.session", "summary.h_profiles", "researchers.label", "footer.settings"} <= keys
    assert len(keys) > 150


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_key_the_code_uses_is_in_both_catalogues_with_a_text(language):
    entries = _po_entries(language)
    missing = sorted(_keys_used() - set(entries))
    assert missing == [], f"{messages.po_path(language)} lacks {missing}"
    empty = sorted(k for k, m in entries.items() if not (all(m.string) if isinstance(m.string, tuple) else m.string))
    assert empty == []


def test_both_catalogues_have_the_same_keys_and_the_same_fields():
    en, nl = _po_entries("en"), _po_entries("nl")
    assert set(en) == set(nl)

    def fields(m):
        texts = m.string if isinstance(m.string, tuple) else (m.string,)
        return {f for t in texts for f in re.findall(r"(?<!\{)\{(\w+)", t)}

    differ = {k: (fields(en[k]), fields(nl[k])) for k in en if fields(en[k]) != fields(nl[k])}
    assert differ == {}
    plural = {k for k, m in en.items() if isinstance(m.id, tuple)}
    assert plural == {k for k, m in nl.items() if isinstance(m.id, tuple)} and "count.session" in plural


def test_the_method_words_say_what_the_comparison_does():
    """The researchers' methods text words analysis.compare's method constants through the catalogue (so a
    Dutch report can say them): the English entries must still say exactly what compare does."""
    from analysis import compare
    from analysis.settings import CORRECTIONS

    en = lambda key, **facts: messages.text("en", key, **facts)  # noqa: E731
    assert compare.CI_METHOD in en("method.intervals", level="95%")
    assert compare.P_METHOD in en("method.p_values") and f"adjusted with {compare.ADJUSTMENT}" in en("method.p_values")
    assert compare.PROFILE_METHOD in en("method.profiles", correction="")
    assert en("method.contrast", tool=ARMS[1], strategy=ARMS[0]).startswith(f"Every effect is {compare.CONTRAST}:")
    for c in CORRECTIONS:
        assert en(f"method.correction.{c}") == compare.CORRECTION_METHOD[c]
        assert en(f"method.correction_sentence.{c}") == compare.correction_sentence(c)
    assert en("effects.too_few") == compare.TOO_FEW


def test_plurals_and_numbers_follow_the_language():
    assert messages.plural("en", "count.session", 1) == "1 session"
    assert messages.plural("nl", "count.session", 2) == "2 sessies"
    # Dutch writes a decimal comma and a thousands dot (CLDR, through Babel)
    assert messages.number("nl", 1234.5, 1) == "1.234,5" and messages.number("en", 1234.5, 1) == "1,234.5"
    assert messages.percent("nl", 0.125) == "12,5%"
    with pytest.raises(KeyError, match="not in the nl catalogue"):
        messages.text("nl", "no.such.key")


def test_people_table_words_every_cell_and_drops_what_says_nothing():
    frame = pd.DataFrame({"profile": ["a", "b"], "chosen": [True, False], "r": [0.12345, float("nan")],
                          "n": [3.0, 4.0], "model": ["diag", "diag"]}).set_index("profile")
    t = summarise.people_table(frame, "en", values={"a": "first group"}).frame
    assert list(t.columns) == ["profile", "chosen", "r", "n"]  # the index is a column; "model" is the same twice
    assert t.to_dict("list") == {"profile": ["first group", "b"], "chosen": ["yes", "no"], "r": ["0.12", "–"],
                                 "n": ["3", "4"]}
    assert "index" not in summarise.people_table(frame, "nl")._repr_html_()


@pytest.fixture(scope="module")
def dutch_reports(sample_outputs, tmp_path_factory):
    """The sample's reports in Dutch, from a copy of the English build's results (no stage is recomputed)."""
    from analysis.cli import main

    out = tmp_path_factory.mktemp("dutch")
    shutil.copytree(sample_outputs / "reports" / "results", out / "results")
    assert main(["report", str(SAMPLE_STUDY), "--language", "nl", "--out", str(out / "reports"),
                 "--results", str(out / "results")]) == 0
    return out / "reports"


def _trainer_part(page) -> BeautifulSoup:
    """A page without its researchers' section (``<details>``, or the cells tagged ``researchers``)."""
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["style", "script", "details"]) + soup.select(".celltag_researchers"):
        tag.decompose()
    return soup


#: Short English words that are no Dutch words ("of", "is", "in" are): one in a Dutch trainer's text is English left.
ENGLISH = {"the", "and", "with", "which", "are", "was", "were", "this", "that", "for", "than", "who", "what",
           "from", "did", "does", "not", "only", "each", "every", "would", "they", "their", "there", "how", "per cent",
           "better", "people", "report", "reports", "settings", "made", "by"}


def _data_words(res) -> list[str]:
    """Texts that come from the study's own data (title, sessions, statements, answer labels, quotes)."""
    cb = res.codebook
    texts = [res.study["title"]] + list(res.responses["workshop"].dropna().astype(str).unique())
    texts += [v.shown(lang) for v in cb.variables.values() for lang in LANGUAGES]
    texts += [t for v in cb.variables.values() for t in (v.text or ())]
    texts += [lab for s in cb.scales.values() for lab in s.labels]
    texts += [lab for s in cb.scales.values() for labs in s.missing.values() for lab in labs]
    return sorted(set(texts), key=len, reverse=True)


def test_a_dutch_report_has_no_english_sentence_left(dutch_reports, sample_results):
    data = _data_words(sample_results)
    left = {}
    for page in sorted(dutch_reports.glob("*.html")):
        soup = _trainer_part(page)
        assert soup.html.get("lang", "nl") == "nl", page.name
        for quote in soup.find_all("li"):  # participants' quotes: “...”
            if quote.get_text().lstrip().startswith("“"):
                quote.decompose()
        text = soup.get_text(" ")
        for value in data:
            text = text.replace(value, " ")
        words = set(re.findall(r"[a-z]+", text.lower()))
        if words & ENGLISH:
            left[page.name] = sorted(words & ENGLISH)
    assert left == {}
    summary = _trainer_part(dutch_reports / "00_summary.html").get_text(" ")
    assert "Voorgestelde start" in summary and "0,5 keer" in summary


def _english_left(text: str, data: list[str]) -> set[str]:
    for value in data:
        text = text.replace(value, " ")
    text = re.sub(r'"[^"]*"', " ", text)  # a word in quotes is mentioned, not said ("not", a negation signal)
    return set(re.findall(r"[a-z]+", text.lower())) & ENGLISH


def test_a_dutch_report_is_dutch_in_the_researchers_part_and_the_figures_too(dutch_reports, sample_results):
    """The whole page, the collapsed "Voor onderzoekers" section included, and every figure's alt text: the
    researchers' texts, table headers and cells and the figure descriptions come from the catalogue too."""
    data = _data_words(sample_results) + [s["source"] for s in sample_results.summary["sources"]]
    left, alts = {}, 0
    for page in sorted(dutch_reports.glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag in soup(["style", "script"]):
            tag.decompose()
        for quote in soup.find_all("li"):  # participants' quotes: “...”
            if quote.get_text().lstrip().startswith("“"):
                quote.decompose()
        words = _english_left(soup.get_text(" "), data)
        for img in soup.find_all("img"):
            alts += 1
            assert img.get("alt"), page.name
            words |= _english_left(img["alt"], data)
        if words:
            left[page.name] = sorted(words)
    assert left == {}
    assert alts >= 10


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_trainer_sees_no_command_line_or_file_name(language, sample_outputs, dutch_reports):
    folder = dutch_reports if language == "nl" else sample_outputs / "reports"
    found = {}
    for page in sorted(folder.glob("*.html")):
        text = str(_trainer_part(page))
        hits = [m for m in ("python -m", ".csv", ".yaml", ".parquet", ".xlsx") if m in text]
        if hits:
            found[page.name] = hits
    assert found == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_table_is_made_for_people(language, sample_outputs, dutch_reports):
    folder = dutch_reports if language == "nl" else sample_outputs / "reports"
    tables = 0
    for page in sorted(folder.glob("[0-9]*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for table in soup.find_all("table"):
            tables += 1
            assert "people-table" in table.get("class", []), page.name  # shown through summarise.people_table
            assert not table.select("tbody th"), page.name  # no index column
            headers = [th.get_text(strip=True) for th in table.select("thead th")]
            assert not [h for h in headers if "_" in h], (page.name, headers)  # no variable ids
            rows = [[td.get_text(strip=True) for td in tr.find_all("td")] for tr in table.select("tbody tr")]
            cells = {c for row in rows for c in row}
            assert not cells & {"NaN", "nan", "True", "False", "None"}, (page.name, headers)
            assert not [c for c in cells if re.fullmatch(r"-?\d+\.\d{4,}", c)], page.name  # rounded
            assert not [c for c in cells if re.fullmatch(r"[a-z]+(_[a-z]+)+", c)], page.name  # no ids as values
            if len(rows) > 1:  # a column that says the same in every row says nothing (n and sessions stay)
                same = [h for i, h in enumerate(headers) if len({r[i] for r in rows}) == 1
                        and not re.match(r"(people|sessions|mensen|sessies) \(", h)]
                assert same == [], (page.name, headers)
    assert tables >= 10
