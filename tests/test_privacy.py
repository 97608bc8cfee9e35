"""Privacy: stable keyed pseudonyms, scrubbed free text, no PII in processed outputs."""

import dataclasses
import json
from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import write_one_wave_study

from analysis.clean import clean_study
from analysis.codebook import load_study
from analysis.protect import DEMO_KEY, pii_values, process_study, protect, pseudonym, resolve_key
from analysis.publish import check_privacy, neutralise_formulas, write_processed
from analysis.scrub import name_pattern, scrub_text


def test_pseudonym_is_keyed_and_stable():
    a = pseudonym("Jan.Jansen@example.nl", DEMO_KEY)
    assert a == pseudonym("  jan.jansen@EXAMPLE.nl", DEMO_KEY)
    assert a != pseudonym("Jan.Jansen@example.nl", "other key")
    # HMAC-SHA256 computed independently (RFC 2104 via hashlib) on the normalised key
    import hashlib
    import hmac

    expected = hmac.new(DEMO_KEY.encode(), b"jan.jansen@example.nl", hashlib.sha256).hexdigest()[:12]
    assert a == "P" + expected


def test_user_key_is_created_once_outside_the_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ANALYSIS_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("ANALYSIS_CONFIG_DIR", str(tmp_path / "cfg"))
    first = resolve_key(None)
    assert "Created a new pseudonym key" in capsys.readouterr().err
    assert resolve_key(None) == first and len(first) == 64
    assert (tmp_path / "cfg" / "pseudonym.key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("ANALYSIS_PSEUDONYM_KEY", "from-env")
    assert resolve_key(None) == "from-env"


@pytest.mark.parametrize("text, kinds", [
    ("Mail me at JAN.JANSEN@UU.EXAMPLE.NL please", {"email": 1}),
    ("Volg mij op @sanne_dv en op @anouk@mastodon.example", {"handle": 2}),
    ("bel 06 1234 5678 of +31 20 123 4567 of 020-1234567", {"phone": 3}),
    ("zie https://blog.example.nl/post?id=3 en www.example.org", {"url": 2}),
    ("thanks to sanne de vries and Pieter!", {"name": 2}),
    ("Nothing personal in 2026, 3 strategies and 5 stars.", {}),
])
def test_scrub_text_canaries(text, kinds):
    names = name_pattern(["Sanne de Vries", "Pieter Bakker"])
    out, counts = scrub_text(text, names)
    assert dict(counts) == kinds
    for needle in ("jansen", "sanne", "1234", "blog.example", "pieter"):
        assert needle not in out.lower()


def test_processed_sample_has_no_identifiers_and_scrubbed_text(sample_processed, sample_study, sample_clean):
    data = sample_processed.data
    assert {"email", "name", "key"}.isdisjoint(data.columns)
    assert data["participant"].str.fullmatch(r"P[0-9a-f]{12}").all()
    assert sum(sample_processed.summary["scrubbed"].values()) > 0
    known = pii_values(sample_study, sample_clean.raws)
    text = data.to_csv().lower() + sample_processed.changes.to_csv().lower()
    for kind in ("email", "ip_address"):
        leaked = [v for v in known[kind] if v.lower() in text]
        assert leaked == [], kind
    full_names = [v for v in known["name"] if " " in v]
    assert [v for v in full_names if v.lower() in text] == []


def test_same_person_same_pseudonym_in_every_wave(sample_processed, sample_truth):
    data = sample_processed.data
    both = sample_truth["participants"]
    linked = [pid for pid, p in both.items() if p["waves"] == ["pre", "post", "followup"]]
    per_wave = data[data["participant"].isin(linked)].groupby("participant")["wave"].nunique()
    assert (per_wave == 3).all() and len(per_wave) == len(linked)


def test_written_outputs_keep_raw_values_only_under_private(tmp_path, sample_processed):
    out = write_processed(sample_processed, tmp_path / "out")
    assert {p.name for p in out.iterdir()} == {"responses.parquet", "responses.csv", "changes.csv",
                                               "summary.json", "private"}
    summary = json.loads((out / "summary.json").read_text())
    assert all(s["rows_in"] == s["rows_clean"] + s["rows_quarantined"] for s in summary["sources"])
    assert (out / "private" / "quarantine.csv").exists()
    back = pd.read_parquet(out / "responses.parquet")
    assert len(back) == len(sample_processed.data)
    csv = (out / "responses.csv").read_text()
    assert "\n=HYPERLINK" not in csv and ",=HYPERLINK" not in csv


def test_formula_cells_are_neutralised():
    frame = pd.DataFrame({"t": ["=cmd()", "+1", "-2", "@x", "fine"], "n": [1, 2, 3, 4, 5]})
    assert neutralise_formulas(frame)["t"].tolist() == ["'=cmd()", "'+1", "'-2", "'@x", "fine"]


def test_process_study_accepts_a_path(tiny_study):
    processed = process_study(tiny_study)
    assert processed.data["note"].dropna().tolist() == ["mail me at [EMAIL]", "thanks [NAME]"]
    study = load_study(tiny_study)
    again = protect(clean_study(study), study)
    assert processed.data["participant"].tolist() == again.data["participant"].tolist()


# --- the leak gate -------------------------------------------------------------------

CANARY_PRE = """\
Timestamp,Email,Full name,Consent,Q1 statement,Q2 reversed
3/1/2026 9:00:00,Canary.Alpha@Example.org,Canary Alpha,Yes,Agree,Disagree
3/1/2026 9:05:00,bravo.canary@example.org,Bravo Canary,Yes,Neutral,Neutral
3/1/2026 9:06:00,bravo.canary@example.org,Bravo Canary,Yes,Agree,Agree
"""
CANARY_POST = """\
Timestamp,Email,Q1 statement,Q2 reversed,Note
2026-03-02 10:00:00,CANARY.ALPHA@EXAMPLE.ORG,Eens,Oneens,"Bel me op 06 9876 5432, of mail CANARY.ALPHA@EXAMPLE.ORG. Groeten aan bravo canary"
2026-03-02 10:01:00,bravo.canary@example.org,Eens,Eens,"first try, reach me at dup.canary@example.org"
2026-03-02 10:02:00,bravo.canary@example.org,Neutraal,Eens,"Follow me on @bravo_canary, call +31 6 11223344 or see www.bravo-canary.example/me"
"""


@pytest.fixture
def canary_study(tmp_path):
    from conftest import AGREE3, STUDY, write_tiny_study

    codebook = AGREE3.replace("""  consent:""", """  name:
    role: identifier
    waves: [pre]
    match: {text: [Full name]}
  consent:""")
    return write_tiny_study(tmp_path / "canary", CANARY_PRE, CANARY_POST, codebook=codebook, study=STUDY)


def test_canaries_reach_no_public_output(canary_study, tmp_path):
    from analysis.cli import main

    out = tmp_path / "out"
    assert main(["clean", str(canary_study), "--out", str(out)]) == 0
    public = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in out.glob("*.*")
                       if p.suffix != ".parquet").casefold()
    public += pd.read_parquet(out / "responses.parquet").to_csv().casefold()
    for canary in ("canary.alpha@example.org", "bravo.canary@example.org", "canary alpha", "bravo canary",
                   "06 9876 5432", "98765432", "@bravo_canary", "11223344", "bravo-canary.example",
                   "dup.canary@example.org"):
        assert canary not in public, canary
    # the quarantined duplicate's raw text stays under private/
    assert "dup.canary@example.org" in (out / "private" / "quarantine.csv").read_text()
    notes = pd.read_parquet(out / "responses.parquet")["note"].dropna().tolist()
    assert sorted(notes) == ["Bel me op [PHONE], of mail [EMAIL]. Groeten aan [NAME]",
                             "Follow me on [HANDLE], call [PHONE] or see [URL]"]
    leaks, files = check_privacy(canary_study, out)
    assert leaks == [] and files == 6  # responses .parquet and .csv, changes, summary, study, manifest


def test_gate_passes_the_sample_outputs_and_committed_notebooks(sample_outputs):
    from analysis.paths import NOTEBOOKS_DIR, SAMPLE_STUDY

    leaks, files = check_privacy(SAMPLE_STUDY, sample_outputs, NOTEBOOKS_DIR)
    assert leaks == [] and files >= 7


def test_gate_catches_a_planted_leak_and_names_kind_not_value(sample_outputs, tmp_path, sample_study,
                                                               sample_clean):
    import shutil
    import subprocess
    import sys

    from analysis.paths import SAMPLE_STUDY

    leaky = tmp_path / "leaky"
    shutil.copytree(sample_outputs / "reports", leaky)
    email = sorted(pii_values(sample_study, sample_clean.raws)["email"])[0]
    name = sorted(v for v in pii_values(sample_study, sample_clean.raws)["name"] if " " in v)[0]
    page = leaky / "01_data_quality.html"
    page.write_text(page.read_text() + f"<p>{email.upper()}</p><p>{name.lower().replace(' ', '&#32;')}</p>")
    leaks, _ = check_privacy(SAMPLE_STUDY, leaky)
    found = {(leak.file, leak.kind) for leak in leaks}
    assert {("01_data_quality.html", "email"), ("01_data_quality.html", "name")} <= found
    assert found <= {("01_data_quality.html", kind) for kind in ("email", "name", "free text name")}
    result = subprocess.run([sys.executable, "-m", "analysis", "check-privacy", str(SAMPLE_STUDY), str(leaky)],
                            capture_output=True, text=True)
    assert result.returncode == 3
    assert "01_data_quality.html" in result.stderr and email.lower() not in result.stderr.lower()


def _notebook(path, source):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Probe"),
                nbformat.v4.new_code_cell('results_folder = ""', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_report_refuses_to_publish_a_leak(tmp_path, sample_study, sample_clean, sample_results):
    from analysis.paths import SAMPLE_STUDY
    from analysis.publish import PrivacyLeak
    from analysis.report import render_reports

    email = sorted(pii_values(sample_study, sample_clean.raws)["email"])[0]
    nb = _notebook(tmp_path / "01_leak.ipynb", f"print({email!r})")
    with pytest.raises(PrivacyLeak) as err:
        render_reports(SAMPLE_STUDY, tmp_path / "out", results=sample_results.folder, notebooks=[nb],
                       progress=False)
    kinds = [leak.kind for leak in err.value.leaks]  # the e-mail, and the name its local part spells
    assert "email" in kinds and set(kinds) <= {"email", "name", "free text name"}
    assert list((tmp_path / "out").glob("*.html")) == []


def test_free_text_is_escaped_in_reports(tmp_path, sample_results):
    from analysis.paths import SAMPLE_STUDY
    from analysis.report import render_reports

    nb = _notebook(tmp_path / "01_text.ipynb", "import pandas as pd\n"
                   "pd.DataFrame({'reflection': ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>']})")
    render_reports(SAMPLE_STUDY, tmp_path / "out", results=sample_results.folder, notebooks=[nb], progress=False)
    page = (tmp_path / "out" / "01_text.html").read_text()
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_roster_names_are_scrubbed_and_gated(tmp_path):
    from conftest import AGREE3, STUDY, write_tiny_study

    post = ("Timestamp,Email,Q1 statement,Q2 reversed,Note\n"
            "2026-03-02 10:00:00,ann@example.org,Eens,Oneens,Trainer Marieke Visser-Hoogland was great\n")
    pre = "Timestamp,Email,Consent,Q1 statement,Q2 reversed\n3/1/2026 9:00:00,ann@example.org,Yes,Agree,Agree\n"
    study = write_tiny_study(tmp_path / "r", pre, post, codebook=AGREE3, study=STUDY + "roster: trainers.txt\n")
    (study.parent / "trainers.txt").write_text("# trainers of the sessions\nMarieke Visser-Hoogland\n")
    processed = process_study(study)
    assert processed.data["note"].dropna().tolist() == ["Trainer [NAME] was great"]
    leaky = tmp_path / "leaky.html"
    leaky.write_text("<p>with marieke visser-hoogland</p>")
    leaks, _ = check_privacy(study, leaky)
    assert {leak.kind for leak in leaks} == {"roster name", "free text name"}


def test_change_log_values_are_scrubbed_both_ways(tiny_study):
    from analysis.clean import clean_study

    study = load_study(tiny_study)
    result = clean_study(study)
    import pandas as pd

    result.changes = pd.concat([result.changes, pd.DataFrame([{
        "source": "post.csv", "source_row": 2, "variable": "note", "old": "mail ann@example.org",
        "new": "mail ann@example.org", "rule": "repaired double-encoded UTF-8"}])], ignore_index=True)
    changes = protect(result, study).changes
    repaired = changes[changes["rule"] == "repaired double-encoded UTF-8"]
    assert repaired[["old", "new"]].values.tolist() == [["mail [EMAIL]", "mail [EMAIL]"]]


SURVEYGIZMO_SLOTS = """\
Response ID,Time Started,Date Submitted,Status,Email,Other - Write In:Email,How do you run it?,\
Other - Write In:How do you run it?,Tool #1:Which tools would you add?,Tool #2:Which tools would you add?,\
Instructor #1:Who taught you?,Instructor #2:Who taught you?
1,2016-01-01 10:00:00,2016-01-01 10:05:00,Complete,a@x.org,,Standalone,,git, Slack ,Jan de Vries,
2,2016-01-01 11:00:00,2016-01-01 11:05:00,Complete,b@x.org,student 06 1234 5678,Other - Write In,On my server; mail b@x.org,,,\
Anouk Bakker,Piet Jansen
"""


def test_slots_and_write_ins_are_free_text_scrubbed_and_gated(tmp_path):
    (tmp_path / "sg.csv").write_text(SURVEYGIZMO_SLOTS, encoding="utf-8")
    (tmp_path / "codebook.yaml").write_text("""\
version: 1
variables:
  email: {role: identifier, pii: false, waves: [pre], match: {text: [Email]}}
  run_how: {role: text, waves: [pre], match: {text: ["How do you run it?"]}}
  tools: {role: text, waves: [pre], match: {normalised: ["which tools would you add?"]}}
  instructors: {role: text, pii: true, waves: [pre], match: {text: ["Who taught you?"]}}
""")
    (tmp_path / "study.yaml").write_text("codebook: codebook.yaml\nparticipant_key: email\n"
                                         "sources:\n  - {path: sg.csv, wave: pre}\n")
    study = load_study(tmp_path / "study.yaml")
    processed = process_study(study)
    data = processed.data.set_index("source_row")
    assert [c for c in data.columns if c.startswith(("email", "run_how", "tools", "instructors"))] == [
        "run_how", "run_how_other", "tools_1", "tools_2"]  # an identifier's or PII question's parts are dropped
    assert data.loc[3, "run_how_other"] == "On my server; mail [EMAIL]"  # a write-in is scrubbed
    assert data.loc[2, "tools_2"] == "Slack"
    leaky = tmp_path / "leaky.txt"
    leaky.write_text("piet jansen wrote from b@x.org")
    leaks, _ = check_privacy(study, leaky)
    assert {"instructors", "free text email"} <= {leak.kind for leak in leaks}


# --- the scanner agrees with the plain search it replaced ----------------------------

def reference_scan(folder, values):
    """The leak gate's search as it was before the Scanner: a regular expression per kind over
    the whole text, and each digit value sought with whitespace removed (values x bytes)."""
    import html
    import re

    from analysis.publish import _DATA_URI, _needles

    needles = _needles(values)
    patterns = {kind: re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, sorted(vals, key=len, reverse=True)))
                                 + r")(?!\w)") for kind, vals in needles.items() if vals}
    squeezed = {kind: {v.replace(" ", "") for v in vals if sum(ch.isdigit() for ch in v) >= 7}
                for kind, vals in needles.items()}
    leaks = []
    for path in sorted(folder.iterdir()):
        text = html.unescape(_DATA_URI.sub(" ", path.read_text(encoding="utf-8"))).casefold()
        compact = re.sub(r"\s+", "", text)
        for kind, pattern in patterns.items():
            hits = {m.group(0) for m in pattern.finditer(text)}
            hits |= {v for v in squeezed.get(kind, ()) if v in compact}
            if hits:
                leaks.append((path.name, kind, len(hits)))
    return leaks


def _planted(draw, value):
    """``value`` as it might appear in an output: case changed, HTML-escaped, spaced, glued to a word."""
    import html

    from hypothesis import strategies as st

    shown = draw(st.sampled_from([value, value.upper(), value.title()]))
    how = draw(st.sampled_from(["plain", "escape", "space-entity", "spaced", "squeezed", "in-word", "newline"]))
    if how == "escape":
        shown = html.escape(shown)
    elif how == "space-entity":
        shown = shown.replace(" ", "&#32;")
    elif how == "spaced":  # a phone as people write it: digits in groups
        shown = " ".join(shown[i:i + 2] for i in range(0, len(shown), 2))
    elif how == "squeezed":
        shown = shown.replace(" ", "")
    elif how == "in-word":  # inside a longer word: must not match (unless digits, sought squeezed)
        shown = draw(st.sampled_from(["x", "é", "_", "1"])) + shown + draw(st.sampled_from(["", "s", "9"]))
    elif how == "newline":
        shown = shown.replace(" ", "\n", 1)
    return shown


_ALPHABET = "ab1é @.-+"
_KINDS = ["email", "name", "phone", "free text handle", "roster name"]


def _values():
    from hypothesis import strategies as st

    piece = st.text(alphabet=_ALPHABET, min_size=1, max_size=12)
    digits = st.text(alphabet="0123456789 +", min_size=7, max_size=14)
    return st.dictionaries(st.sampled_from(_KINDS), st.sets(st.one_of(piece, digits), max_size=6), max_size=4)


def test_scanner_finds_what_the_plain_search_finds(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from analysis import publish
    from analysis.publish import Scanner, _needles, scan_outputs

    found = []

    @st.composite
    def case(draw):
        values = draw(_values())
        planted = [v for vals in values.values() for v in sorted(vals)]
        pieces = []
        for _ in range(draw(st.integers(0, 12))):
            if planted and draw(st.booleans()):
                pieces.append(_planted(draw, draw(st.sampled_from(planted))))
            else:
                pieces.append(draw(st.text(alphabet=_ALPHABET + "xX,;\n\xa0&<>\"'", max_size=10)))
        return values, "".join(pieces)

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(case())
    def agree(example):
        values, text = example
        folder = tmp_path_factory.mktemp("scan")
        (folder / "page.html").write_text(text, encoding="utf-8")
        (folder / "plain.txt").write_text(text.replace("&", " "), encoding="utf-8")
        expected = reference_scan(folder, values)
        walker = Scanner(_needles(values))
        walker.FIND_LIMIT = 0  # the one-pass word walk instead of str.find
        # (the gate's FoldedScanner runs a Scanner twice: as typed, and on folded text; see the tests below)
        for scanner in (Scanner(_needles(values)), walker):
            leaks, _ = scan_outputs([folder], values, scanner)
            assert [(leak.file, leak.kind, leak.count) for leak in leaks] == expected
        # as on a large output: words collected by pyarrow slice by slice, case folded line by line
        saved = publish.ARROW_SLICE, publish.LINE_FOLD_CHARS, publish.FOLD_BLOCK
        publish.ARROW_SLICE, publish.LINE_FOLD_CHARS, publish.FOLD_BLOCK = 7, 0, 5
        try:
            leaks, _ = scan_outputs([folder], values, Scanner(_needles(values)))
        finally:
            publish.ARROW_SLICE, publish.LINE_FOLD_CHARS, publish.FOLD_BLOCK = saved
        assert [(leak.file, leak.kind, leak.count) for leak in leaks] == expected
        found.append(bool(expected))

    agree()
    assert sum(found) > len(found) // 10  # planted values are found, not only absent


def test_tables_read_by_columns_find_what_the_text_search_finds(tmp_path_factory):
    """The gate reads a table output by columns first (publish._table_words) and seeks in its text
    only the needles whose words all occur there (Scanner.restricted). Reference: the search over the
    file's whole text (reference_scan above, and the gate's own FoldedScanner over the text), on random
    tables with planted values (in words, HTML-escaped, spaced phones, glued to words), cells with
    commas, quotes and line breaks, written by both CSV writers and as parquet; and on random text
    saved as a CSV file (often not a clean CSV: the gate then reads it as text)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from analysis.publish import FoldedScanner, Scanner, _needles, _readable_text, _table_words, scan_outputs, \
        write_csv

    found, by_columns = [], []

    @st.composite
    def case(draw):
        values = draw(_values())
        planted = [v for vals in values.values() for v in sorted(vals)]
        cell = st.text(alphabet=_ALPHABET + "xX,;\n\xa0&<>\"'", max_size=10)

        def one_cell():
            if planted and draw(st.booleans()):
                return draw(cell) + _planted(draw, draw(st.sampled_from(planted))) + draw(cell)
            return draw(cell)

        rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 3))
        frame = pd.DataFrame({f"c{j}" if j or not draw(st.booleans()) else one_cell():
                              [one_cell() for _ in range(rows)] for j in range(cols)})
        def bare():  # a cell that needs no quotes
            return "".join(ch for ch in one_cell() if ch not in ',"\n')

        def field():  # as written, quoted, or with a loose quote (a reader reads '"ab"cd' as 'abcd')
            how = draw(st.sampled_from(["raw", "quoted", "loose"]))
            if how == "quoted":
                return '"' + one_cell().replace('"', '""') + '"'
            if how == "loose" and planted:  # a value glued to the quote: its own word in the text only
                return '"' + bare() + 'x"' + _planted(draw, draw(st.sampled_from(planted))) + bare()
            return bare() if how == "raw" else '"' + bare() + '"' + bare()

        text = "\n".join(",".join(field() for _ in range(cols)) for _ in range(rows))
        noise = "".join(one_cell() + draw(st.sampled_from([",", "\n", '"', '","', ""])) for _ in range(6))
        return values, frame, text, noise

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(case())
    def agree(example):
        values, frame, text, noise = example
        folder = tmp_path_factory.mktemp("tables")
        write_csv(frame, folder / "arrow.csv")
        frame.to_csv(folder / "pandas.csv", index=False)
        (folder / "text.csv").write_text(text, encoding="utf-8")
        (folder / "noise.csv").write_text(noise, encoding="utf-8")
        expected = reference_scan(folder, values)
        leaks, _ = scan_outputs([folder], values, Scanner(_needles(values)))
        assert [(leak.file, leak.kind, leak.count) for leak in leaks] == expected
        frame.to_parquet(folder / "t.parquet", index=False)
        folded = FoldedScanner(values)
        for path in sorted(folder.iterdir()):
            words = _table_words(path)
            by_columns.append(words is not None)
            narrow = folded.restricted(words) if words is not None else folded
            expect = folded.hits(_readable_text(path))
            assert (narrow.hits(_readable_text(path)) if narrow else {}) == expect, path.name
        found.append(bool(expected))

    agree()
    assert sum(found) > len(found) // 10  # planted values are found, not only absent
    assert sum(by_columns) > len(by_columns) // 2  # most tables are read by columns


def test_outputs_folded_as_bytes_read_as_casefold_of_the_decoded_text(monkeypatch):
    """The gate folds a large output as UTF-8 bytes (:func:`analysis.publish._fold_utf8`); the
    reference is ``bytes.decode("utf-8", errors="replace").casefold()``, on random bytes that mix
    ASCII, multi-byte characters whose fold differs in length, and bytes that are not UTF-8."""
    import random

    from analysis import publish

    pieces = [b"a", b"B", b"\n", b" ", b"\xc3", b"\xa9", b"\xff", b"\xe2\x82", b"\xed\xa0\x80", b"\xf0\x9f\x98",
              *(c.encode() for c in "ßΣKﬀİ€ÉĲ")]
    rnd = random.Random(13)
    for _ in range(5000):
        monkeypatch.setattr(publish, "FOLD_BLOCK", rnd.randint(1, 40))
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        assert publish._fold_utf8(data) == data.decode("utf-8", errors="replace").casefold()


def test_scanner_locates_many_candidates_in_one_pass():
    """Past FIND_LIMIT candidates the scanner walks the words once; same answer as str.find."""
    from analysis.publish import Scanner

    needles = {"email": {f"p{i}@example.org" for i in range(200)}, "name": {"anna de boer", "de boer"}}
    text = " ".join(f"p{i}@example.org" for i in range(0, 200, 3)) + " xp1@example.org anna de boer, de boer"
    many = Scanner(needles).hits(text)
    few = Scanner(needles)
    few.FIND_LIMIT = 10_000
    assert many == few.hits(text)
    assert len(many["email"]) == len(range(0, 200, 3)) and many["name"] == {"anna de boer", "de boer"}


def test_fast_csv_writer_round_trips_awkward_text(tmp_path):
    from analysis.publish import write_csv

    frame = pd.DataFrame({
        "participant": ["P1", "P2", "P3", "P4"],
        "note": ['line one\r\nline two', 'she said "yes", twice', "=HYPERLINK(\"x\")", None],
        "only_lf": ["a\nb", "c\rd", "", "plain"],
        "score": [1.5, None, 3.0, 4.25],
        "n": [1, 2, 3, 4],
        "submitted": pd.to_datetime(["2026-03-01 09:00:00", "2026-03-01 09:00:05", None, "2026-03-02 23:59:59"]),
    })
    path = tmp_path / "t.csv"
    write_csv(frame, path)
    back = pd.read_csv(path, keep_default_na=False, na_values=[""])
    # line breaks of every kind become \n (a lone CR would split a record in some readers)
    assert back["note"].tolist()[:3] == ['line one\nline two', 'she said "yes", twice', "'=HYPERLINK(\"x\")"]
    assert pd.isna(back["note"][3])
    assert back["only_lf"].fillna("").tolist() == ["a\nb", "c\nd", "", "plain"]
    assert back["score"].tolist()[::2] == [1.5, 3.0] and pd.isna(back["score"][1])
    assert back["n"].tolist() == [1, 2, 3, 4]
    assert pd.to_datetime(back["submitted"]).equals(frame["submitted"])
    assert "2026-03-01 09:00:05\n" in path.read_text()  # no fraction of a second appended
    # pandas' own writer gives the same plain columns back (it leaves a lone CR unquoted: one row more)
    frame.drop(columns="only_lf").to_csv(tmp_path / "p.csv", index=False)
    theirs = pd.read_csv(tmp_path / "p.csv", keep_default_na=False, na_values=[""])
    plain = ["participant", "score", "n", "submitted"]
    assert back[plain].equals(theirs[plain])


def test_formula_neutralising_leaves_non_text_cells_alone():
    frame = pd.DataFrame({"mixed": ["=x", 3, None, "-1", 2.5], "s": pd.array(["@a", "b", None, "+c", "d"])})
    out = neutralise_formulas(frame)
    assert out["mixed"].tolist()[:2] == ["'=x", 3] and out["mixed"].tolist()[3:] == ["'-1", 2.5]
    assert out["s"].tolist()[:2] == ["'@a", "b"] and out["s"].tolist()[3] == "'+c"
    assert frame["s"].tolist()[0] == "@a"  # the input is not changed


# --- issue 18: a gate without the scrubber's blind spots ----------------------------

def _gate_hits(values, text, tmp_path, name="page.html"):
    from analysis.publish import Gate

    (tmp_path / name).write_text(text, encoding="utf-8")
    return {leak.kind for leak in Gate(values).check([tmp_path / name])}


def test_rare_single_word_names_are_sought_common_words_are_not(tmp_path):
    """'single-word names are never sought by the gate'. The rule (publish.rare_word): 4 letters or more,
    not a name particle, not an ordinary word of the scrubber's list nor of simplemma's English or Dutch
    dictionary (which also holds the commonest first names). Tested both ways."""
    import unicodedata

    from analysis.publish import rare_word

    assert [rare_word(w) for w in ("Jöran", "Çelik", "Anouk", "Visser-Hoogland")] == [True, True, True, False]
    assert [rare_word(w) for w in ("Mark", "Will", "trainer", "never", "Test", "Jan", "van", "Bakker")] == [
        False] * 8
    values = {"First Name (tool column)": {"Jöran", "Mark", "Test", "Will"}, "name": {"Ana-María López"}}
    for text in ("<p>Thanks JORAN</p>", unicodedata.normalize("NFD", "Jöran"), "Jörans slides", "ｊｏｒａｎ",
                 "ana maria lopez", "Ana-Maria-López", "ANA MARÍA LÓPEZ's talk", "l\u00f3pez"):
        assert _gate_hits(values, text, tmp_path), text
    for text in ("Mark my words: this test will never fail", "a trainer named Jo", "jorand", "Ana Lopes"):
        assert _gate_hits(values, text, tmp_path) == set(), text


def test_url_fragments_and_common_words_are_never_needles(tmp_path):
    """'A https:// URL in one answer makes the gate refuse every report: URL needles are split on /, giving
    the needle https:, which every page's stylesheet contains.' And 'info@' style pieces never stand alone."""
    from analysis.publish import _needles

    values = {"website": {"https://www.example.org/jan-jansen", "www.example.org"},
              "name": {"https://x.example/anouk, Info"}, "email": {"info@example.org"}}
    needles = {n for vals in _needles(values).values() for n in vals}
    assert not {"https:", "https", "www.", "info", "example.org"} & needles
    page = ('<link href="https://cdn.example.org/style.css"><a href="https://www.example.org/">home</a> '
            "mail info at the desk")
    assert _gate_hits(values, page, tmp_path) == set()
    assert _gate_hits(values, "see https://www.example.org/jan-jansen", tmp_path) == {"website"}


HOSTILE_EXPORT = (
    "Email,First Name,Last Name,Workshop,Q1 statement,Note\n"
    "ann@example.org,Jöran,Çelik,Utrecht,Agree,\"Thanks Joran, Celik's slides\"\n"
    "bob@example.org,Anouk,Visser,Utrecht,Neutral,\"mail me: bob@example.org\"\n"
)


@pytest.fixture
def named_export_study(tmp_path):
    return write_one_wave_study(tmp_path / "study", HOSTILE_EXPORT)


def test_export_file_names_and_tool_columns_are_needles_with_origins(named_export_study, tmp_path):
    """'A trainer's name in an export's file name is published wherever the source name appears'; 'names
    from the survey tool's own identity columns ... are dropped but never used'. The gate seeks both, and
    its message names where each came from (never the value) and the setting that fixes it."""
    study = load_study(named_export_study)
    (tmp_path / "out").mkdir()
    page = tmp_path / "out" / "summary.json"
    page.write_text(json.dumps({"sources": [{"source": "feedback_Joran_Celik.csv"}]}))
    leaks, _ = check_privacy(study, page)
    assert [str(leak) for leak in leaks if leak.kind == "export file name"] == [
        "summary.json: 1 value(s) of kind 'export file name' (from the name of export feedback_[NAME].csv); "
        "to fix: rename the export so its name holds no name (and its path: in study.yaml)"]
    page.write_text("<p>ANOUK said so</p>")  # a rare first name alone: sought as a first name and in the full name
    leaks, _ = check_privacy(study, page)
    assert {leak.kind for leak in leaks} == {"First Name (tool column)", "full name (tool columns)"}
    assert [str(leak) for leak in leaks][:1] == [
        "summary.json: 1 value(s) of kind 'First Name (tool column)' (from feedback_[NAME].csv row 3, "
        "column 'First Name'); to fix: give the variable of the output column that holds it role: text in "
        "codebook.yaml (its answers are then scrubbed), or pii: true (dropped)"]
    # the processed study itself passes: the file name is published scrubbed
    processed = process_study(study)
    write_processed(processed, tmp_path / "processed")
    assert check_privacy(study, tmp_path / "processed")[0] == []
    assert set(pd.read_parquet(tmp_path / "processed" / "responses.parquet")["source"]) == {"feedback_[NAME].csv"}


def test_a_leak_through_clean_names_output_column_origin_and_fix(canary_study, tmp_path, monkeypatch, capsys):
    """'clean refused to publish (privacy leak: responses.parquet: 1 value(s) of kind 'free text phone')
    without naming a column or row'. With the scrubber bypassed, clean stops and says which output column,
    which export row and column the value came from, and what to set; nothing public is kept."""
    import analysis.protect
    from analysis.cli import main

    monkeypatch.setattr(analysis.protect, "scrub_text", lambda text, names=None, region="NL": (text, Counter()))
    out = tmp_path / "out"
    assert main(["clean", str(canary_study), "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert ("privacy leak: responses.parquet, column 'note': 1 value(s) of kind 'free text email' (from post.csv "
            "row 2, column 'Note'); to fix: give the variable of the output column that holds it role: text in "
            "codebook.yaml (its answers are then scrubbed), or pii: true (dropped)") in err
    assert "nothing was published" in err
    for value in ("06 9876 5432", "canary.alpha@example.org", "bravo canary"):
        assert value not in err.casefold()
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["private"]



def _sample_person(sample_study, sample_clean):
    """A participant's e-mail, full name and rare first name from the sample's raw exports."""
    from analysis.publish import rare_word

    known = pii_values(sample_study, sample_clean.raws)
    email = sorted(known["email"])[0]
    full = sorted(v for v in known["name"] if " " in v)
    rare = next(w for v in full for w in v.split() if rare_word(w))
    return email, full[0], rare


@pytest.mark.parametrize("command", ["clean", "profiles", "compare", "reflect", "report"])
def test_gate_catches_a_planted_leak_in_every_command(command, sample_outputs, sample_study, sample_clean, tmp_path,
                                                      monkeypatch, capsys):
    """Done means: 'The gate must catch a planted leak in every command's outputs (clean, profiles,
    compare, reflect, report).' A personal value of the raw inputs is planted into the command's outputs
    by a path that bypasses the scrubber; the command exits 3 with the gate's message and the file is not
    published (the stored results of the sample are reused for the other stages)."""
    import shutil

    import analysis.pipeline as pipeline
    import analysis.report as report
    from analysis.cli import main
    from analysis.paths import SAMPLE_STUDY

    email, full, rare = _sample_person(sample_study, sample_clean)
    results = tmp_path / "results"
    shutil.copytree(sample_outputs / "reports" / "results", results)
    planted = {"clean": ("responses.csv", email), "profiles": ("profiles.csv", full.upper()),
               "compare": ("effects.csv", rare), "reflect": ("reflections.csv", full)}
    if command == "report":
        monkeypatch.setattr(report, "notebook_paths", lambda: [report.NOTEBOOKS_DIR / "00_summary.ipynb"])
        render = report.render_html
        monkeypatch.setattr(report, "render_html", lambda nb, title, *rest: render(nb, title, *rest) + f"<p>{rare}</p>")
        out = tmp_path / "pages"
        status = main(["report", str(SAMPLE_STUDY), "--out", str(out), "--results", str(results)])
        name = "00_summary.html"
    else:
        name, value = planted[command]
        manifest = json.loads((results / "manifest.json").read_text())
        old = manifest["stages"].pop(command)  # this stage runs again; the others are reused
        (results / "manifest.json").write_text(json.dumps(manifest))
        before = (results / name).read_bytes()

        def leaky(ctx):  # the stage's own tables, one of them carrying a raw value
            files = {n: (pd.read_parquet(results / n) if n.endswith(".parquet") else pd.read_csv(results / n))
                     for n in old["files"] if not n.startswith("private/") and n.endswith((".csv", ".parquet"))}
            files[name] = files[name].assign(note=value)
            return files, {}

        monkeypatch.setitem(pipeline.RUNNERS, command, leaky)
        status = main([command, str(SAMPLE_STUDY), "--out", str(results)])
        out = results
    err = capsys.readouterr().err
    assert status == 3, err
    assert f"privacy leak: {name}" in err and "to fix:" in err and "nothing was published" in err
    assert email.lower() not in err.lower() and full.lower() not in err.lower()
    if command == "report":
        assert not (out / name).exists()
    else:
        assert (results / name).read_bytes() == before  # the stored file is the earlier, clean one
        assert not list(results.glob(".staging-*"))


def test_csv_outputs_read_back_as_their_tables(tmp_path):
    """'On Python 3.11 DataFrame.to_csv does not quote a cell holding a bare CR, so a reflection
    Goed gedaan\\r=2*21 splits a record ... The formula prefix misses cells starting with tab or CR
    (\\t=3+3 in changes.csv). NUL, BEL, ESC sequences and U+202E are kept raw in outputs.' Every CSV the
    publish step writes reads back as the table row for row, with no control character and no live formula."""
    from analysis.publish import Gate, publish

    frame = pd.DataFrame({"participant": ["P1", "P2", "P3", "P4", "P5"],
                          "reflection": ["Goed gedaan\r=2*21", "\t=3+3", " +1", "\r-2", "@SUM(A1)\x07\u202e"],
                          "n": [1, 2, 3, 4, 5], "ok": [True, False, True, True, False]})
    written = publish(tmp_path, {"t.csv": frame, "t.parquet": frame}, Gate({}))
    back = pd.read_csv(written["t.csv"], dtype=str, keep_default_na=False)
    table = pd.read_parquet(written["t.parquet"])
    assert len(back) == len(table) == 5
    assert back["participant"].tolist() == table["participant"].tolist() == frame["participant"].tolist()
    assert back["reflection"].tolist() == ["Goed gedaan\n=2*21", "'\t=3+3", "' +1", "'\n-2", "'@SUM(A1)"]
    assert table["reflection"].tolist() == ["Goed gedaan\n=2*21", "\t=3+3", " +1", "\n-2", "@SUM(A1)"]
    assert neutralise_formulas(pd.DataFrame({"t": ["\t=1", "\r+1", " @x", "a=b", "x-1"]}))["t"].tolist() == [
        "'\t=1", "'\r+1", "' @x", "a=b", "x-1"]


def test_published_clean_csvs_equal_their_parquet(processed_hostile_out):
    responses = pd.read_parquet(processed_hostile_out / "responses.parquet")
    back = pd.read_csv(processed_hostile_out / "responses.csv", dtype=str, keep_default_na=False)
    assert len(back) == len(responses)
    assert back["participant"].tolist() == responses["participant"].tolist()
    assert back["note"].tolist() == responses["note"].fillna("").tolist()


@pytest.fixture
def processed_hostile_out(named_export_study, tmp_path):
    from analysis.cli import main

    export = named_export_study.parent / "feedback_Joran_Celik.csv"
    export.write_text(HOSTILE_EXPORT + 'cy@example.org,Henk,Bakker,Utrecht,Agree,"Goed gedaan\r=2*21\x00\x1b[31m"\n',
                      encoding="utf-8")
    out = tmp_path / "processed"
    assert main(["clean", str(named_export_study), "--out", str(out)]) == 0
    return out


def test_private_files_are_owner_only_from_the_start(processed_hostile_out, tmp_path):
    """'private/ is created 0755 and quarantine.csv 0644'. Made owner-only before anything is written
    (an existing folder or file is made so first), whatever the umask."""
    import os
    import stat

    private = processed_hostile_out / "private"
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    for path in private.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path.name
    from analysis.publish import Gate, publish

    out = tmp_path / "again"
    (out / "private").mkdir(parents=True, mode=0o755)
    (out / "private").chmod(0o755)
    old = os.umask(0)
    try:
        publish(out, {}, Gate({}), private={"quarantine.csv": "raw"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((out / "private").stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "private" / "quarantine.csv").stat().st_mode) == 0o600


def test_no_consent_answer_on_record_is_quarantined_when_required(tmp_path):
    """'A participant with no consent answer on record is kept.' With consent: {required: true} in the
    study file, someone who never answered the consent question (here: only in the post wave) is set
    aside with the reason named; without it, nothing changes."""
    from conftest import AGREE3, STUDY, TINY_PRE, write_tiny_study

    from analysis.errors import InputError

    post = ("Timestamp,Email,Q1 statement,Q2 reversed,Note\n"
            "2026-03-02 10:00:00,ann@example.org,Eens,Oneens,fine\n"
            "2026-03-02 10:05:00,eve@example.org,Eens,Eens,only here\n")
    kept = clean_study(load_study(write_tiny_study(tmp_path / "a", TINY_PRE, post)))
    assert "eve@example.org" in set(kept.data["email"])
    study = write_tiny_study(tmp_path / "b", TINY_PRE, post, study=STUDY + "consent: {required: true}\n")
    result = clean_study(load_study(study))
    assert "eve@example.org" not in set(result.data["email"])
    eve = result.quarantine[result.quarantine["raw"].astype(str).str.contains("eve@example.org")]
    assert eve[["reason", "detail"]].values.tolist() == [
        ["no consent", "no answer to consent on record (consent: required)"]]
    assert set(result.data["email"]) == set(kept.data["email"]) - {"eve@example.org"}
    bad = write_tiny_study(tmp_path / "c", TINY_PRE, post, study=STUDY + "consent: {required: true, variable: q1}\n",
                           codebook=AGREE3)
    with pytest.raises(InputError) as err:
        load_study(bad)
    assert str(err.value).endswith("column 'consent.variable': expected the codebook's consent variable "
                                   "(role: consent), one of consent")


# --- the gate's reading of workbooks -------------------------------------------------------

_CELL_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
                     min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(_CELL_TEXT | st.integers(), min_size=1, max_size=4), min_size=1, max_size=6))
def test_the_gate_reads_every_value_openpyxl_reads_from_a_workbook(rows, tmp_path_factory):
    """The zip-and-XML reading of ``.xlsx`` (publish._workbook_text) against openpyxl's own reading:
    every cell value openpyxl gives is one line of the gate's text (after XML unescaping)."""
    import html

    from openpyxl import Workbook, load_workbook

    from analysis.publish import _workbook_text

    path = tmp_path_factory.mktemp("wb") / "s.xlsx"
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    lines = set(html.unescape(_workbook_text(path)).split("\n"))
    back = load_workbook(path, read_only=True)
    values = [str(v) for row in back.active.iter_rows(values_only=True) for v in row if v is not None]
    back.close()
    for value in values:
        if value.startswith("="):  # openpyxl stores such a string as a formula: <f> holds it without "="
            value = value[1:]
        assert all(part in lines for part in value.split("\n")), value


def test_the_gate_finds_a_name_split_over_rich_text_runs_and_an_author(tmp_path):
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    from analysis.publish import Gate, PrivacyLeak, publish

    wb = Workbook()
    wb.active["A1"] = CellRichText(["thanks ", TextBlock(InlineFont(b=True), "Jöran"), " Çelik for the slides"])
    wb.save(tmp_path / "rich.xlsx")
    gate = Gate({"name": {"Jöran Çelik"}})
    with pytest.raises(PrivacyLeak, match=r"rich.xlsx: \d value"):
        publish(tmp_path / "out", {"rich.xlsx": (tmp_path / "rich.xlsx").read_bytes()}, gate)
    wb = Workbook()
    wb.active["A1"] = "nothing personal"
    wb.properties.creator = "Jöran Çelik"  # document properties are scanned too
    wb.save(tmp_path / "author.xlsx")
    with pytest.raises(PrivacyLeak, match=r"author.xlsx: \d value"):
        publish(tmp_path / "out", {"author.xlsx": (tmp_path / "author.xlsx").read_bytes()}, gate)
    wb.properties.creator = "the suite"
    wb.save(tmp_path / "fine.xlsx")
    assert "fine.xlsx" in publish(tmp_path / "out", {"fine.xlsx": (tmp_path / "fine.xlsx").read_bytes()}, gate)


def test_csv_written_in_slices_is_the_file_written_at_once(tmp_path, monkeypatch):
    """write_csv converts a slice of rows at a time (publish.CSV_SLICE); the file is byte for byte
    the one written in a single slice, with categories, whole-second date-times (one with a fraction
    in a later slice keeps every row's fraction), empty cells and text that needs quotes."""
    from analysis import publish

    rows = 23
    frame = pd.DataFrame({
        "group": pd.Categorical(["strategy-first", "tool-first", None] * 7 + ["tool-first", "x, y"]),
        "at": pd.to_datetime(["2026-03-01 09:00:00"] * rows) + pd.to_timedelta(range(rows), unit="s"),
        "note": [f'r{i} "q", =1' if i % 4 else None for i in range(rows)],
        "score": [i / 4 if i % 5 else None for i in range(rows)],
    })
    fraction = frame.assign(at=frame["at"].where(frame.index != 19, pd.Timestamp("2026-03-01 10:00:00.5")))
    for table in (frame, fraction, frame.iloc[:0]):
        monkeypatch.setattr(publish, "CSV_SLICE", 1 << 16)
        publish.write_csv(table, tmp_path / "once.csv")
        monkeypatch.setattr(publish, "CSV_SLICE", 4)
        publish.write_csv(table, tmp_path / "sliced.csv")
        assert (tmp_path / "sliced.csv").read_bytes() == (tmp_path / "once.csv").read_bytes()
    text = (tmp_path / "sliced.csv").read_text()
    assert text.splitlines()[0] == '"group","at","note","score"'
    publish.write_csv(fraction, tmp_path / "f.csv")
    assert "09:00:01.000" in (tmp_path / "f.csv").read_text()  # one fraction: all keep theirs
    publish.write_csv(frame, tmp_path / "w.csv")
    assert "2026-03-01 09:00:01," in (tmp_path / "w.csv").read_text()


def test_words_as_written_are_the_words_read_back(tmp_path_factory):
    """publish takes a table's words from the writer as it writes (write_csv for a CsvTable,
    write_parquet for a parquet frame), not by reading the file again. Reference: the gate's own
    reading of the written file (publish._table_words), on random frames with text (quotes, commas,
    line breaks, HTML escapes, formulas, non-ASCII), categories of text and of numbers, nullable
    integers, floats, booleans and date-times with and without a fraction of a second or a time
    zone, CSV in slices of a few rows."""
    import pyarrow.compute as pc
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from analysis import publish

    text = st.one_of(st.none(), st.text(alphabet=_ALPHABET + ",;\n\r\"'&<>=+-@ßÉİ€ \xa0", max_size=12))

    @st.composite
    def frame(draw):
        rows = draw(st.integers(0, 9))
        column = st.lists(text, min_size=rows, max_size=rows)
        numbers = st.lists(st.one_of(st.none(), st.integers(-300, 300)), min_size=rows, max_size=rows)
        floats = st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False, width=32)),
                          min_size=rows, max_size=rows)
        seconds = st.lists(st.integers(0, 10**9), min_size=rows, max_size=rows)
        data = {
            draw(st.text(alphabet=_ALPHABET + " ,\"", min_size=1, max_size=8)) + "_t": draw(column),
            "cat": pd.Categorical(draw(column)),
            "cat_n": pd.Categorical(draw(numbers)),
            "n": pd.array(draw(numbers), dtype="Int16"),
            "x": draw(floats),
            "flag": [bool(v) for v in draw(seconds)] if draw(st.booleans()) else draw(numbers),
            "at": pd.to_datetime(draw(seconds), unit="s") + pd.to_timedelta(
                draw(st.sampled_from([0, 0, 500])), unit="ms"),
        }
        return pd.DataFrame(data)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(frame(), st.integers(1, 4))
    def agree(table, rows_a_slice):
        publish.CSV_SLICE = rows_a_slice
        path = tmp_path_factory.mktemp("written") / "t.csv"
        written = publish.write_csv(table, path, words=True)
        read = publish._table_words(path)
        assert written is not None and read is not None
        assert set(pc.unique(written).to_pylist()) == set(read.to_pylist())
        table = table.assign(zoned=table["at"].dt.tz_localize("UTC").dt.tz_convert("Europe/Amsterdam"))
        table.attrs = {"study": "words"}
        path = path.with_suffix(".parquet")
        written = publish._write(path, table, words=True)
        read = publish._table_words(path)
        assert written is not None and read is not None
        assert set(pc.unique(written).to_pylist()) == set(read.to_pylist())
        before = path.with_suffix(".pandas.parquet")  # (the file written before: controls removed, to_parquet)
        publish.remove_controls(table, path.name)[0].to_parquet(before, index=False)
        pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(before))
        assert pd.read_parquet(path).attrs == table.attrs

    saved = publish.CSV_SLICE
    try:
        agree()
    finally:
        publish.CSV_SLICE = saved


def test_free_text_scrubbed_alike_whatever_the_column_type(sample_study, sample_clean, sample_processed):
    """protect replaces only the cells scrubbing alters in Arrow text (the type clean gives), and
    makes every other text column Arrow text cell by cell: both ways give the same column, and the
    clean data handed in is left as it was."""
    from analysis.protect import free_text_columns

    columns = sorted({column for _, _, column, _ in free_text_columns(sample_study, sample_clean.raws)}
                     & set(sample_clean.data.columns))
    assert columns and all(str(sample_clean.data[c].dtype) == "str" for c in columns)
    typed = {c: sample_clean.data[c].copy() for c in columns}
    as_objects = dataclasses.replace(sample_clean, data=sample_clean.data.astype({c: object for c in columns}))
    other = protect(as_objects, sample_study)
    for column in columns:
        pd.testing.assert_series_equal(other.data[column], sample_processed.data[column])
        pd.testing.assert_series_equal(sample_clean.data[column], typed[column])
    altered = sum(int((sample_processed.data[c].fillna("") != sample_clean.data[c].fillna("")).sum()) for c in columns)
    changes = sample_processed.changes
    logged = changes[changes["variable"].isin(columns) & changes["rule"].str.match("scrubbed |answer cut")]
    assert altered > 0 and altered == len(logged.drop_duplicates(["source", "source_row", "variable"]))
