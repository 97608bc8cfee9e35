"""Property tests (hypothesis) for the readers and the cleaning invariants."""

import os
import string

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.clean import clean_study
from analysis.codebook import load_study
from analysis.errors import InputError
from analysis.io import FORMATS, read_export

from conftest import AGREE3, write_tiny_study

SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", 60)), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# The tiny study's scales, with variables that may be absent: any bytes may make a valid export.
OPTIONAL_CODEBOOK = AGREE3.split("variables:")[0] + """\
variables:
  q1:
    role: item
    scale: agree3
    waves: [pre]
    optional: true
    match: {regex: ["^Q1"]}
  note:
    role: text
    waves: [pre]
    optional: true
    match: {regex: ["(?i)note"]}
"""


@SETTINGS
@given(data=st.binary(max_size=400), fmt=st.sampled_from(sorted(f for f in FORMATS if not FORMATS[f].excel)))
def test_arbitrary_bytes_give_a_result_or_the_documented_error(tmp_path, data, fmt):
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    try:
        raw = read_export(path, fmt)
    except InputError as err:
        assert "export.csv" in str(err) and "expected" in str(err)
        return
    assert (raw.frame["_row"].diff().dropna() == 1).all()
    study = tmp_path / "study.yaml"
    (tmp_path / "codebook.yaml").write_text(OPTIONAL_CODEBOOK)
    study.write_text(f"codebook: codebook.yaml\nsources:\n  - {{path: export.csv, wave: pre, format: {fmt}}}\n")
    try:
        result = clean_study(load_study(study))
    except InputError as err:
        assert "expected" in str(err)
        return
    assert len(result.data) + len(result.quarantine) == len(raw.frame)


LABELS = ["Disagree", "Neutral", "Agree", "Oneens", "Neutraal", "Eens", "agree", " AGREE ", "3 - Agree",
          "I don't know", "", "7", "maybe"]
EMAILS = ["ann@example.org", "Ann@Example.org ", "bob@example.org", "cy@example.org", "", "test@x.org"]


@st.composite
def messy_export(draw):
    rows = draw(st.lists(st.tuples(st.sampled_from(EMAILS), st.sampled_from(["Yes", "No", ""]),
                                   st.sampled_from(LABELS), st.sampled_from(LABELS),
                                   st.integers(1, 28), st.integers(0, 23)), min_size=0, max_size=25))
    lines = ["Timestamp,Email,Consent,Q1 statement,Q2 reversed"]
    for email, consent, q1, q2, day, hour in rows:
        lines.append(f"3/{day}/2026 {hour}:00:00,{email},{consent},{q1},{q2}")
    if draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), ",,,,")
    return "\n".join(lines) + "\n"


POST = "Timestamp,Email,Q1 statement,Q2 reversed,Note\n2026-03-02 10:00:00,ann@example.org,Eens,Oneens,hi\n"


@SETTINGS
@given(pre=messy_export())
def test_conservation_on_generated_messy_exports(tmp_path_factory, pre):
    folder = tmp_path_factory.mktemp("messy")
    result = clean_study(load_study(write_tiny_study(folder, pre, POST)))
    for source in result.summary["sources"]:
        assert source["rows_in"] == source["rows_clean"] + source["rows_quarantined"]
    kept = set(zip(result.data["source"], result.data["source_row"]))
    aside = set(zip(result.quarantine["source"], result.quarantine["source_row"]))
    assert not kept & aside
    assert len(kept | aside) == sum(s["rows_in"] for s in result.summary["sources"])
    assert not result.data.duplicated(["key", "wave"]).any()
    # every value that is not a label of the scale is missing and logged, never silently
    invalid = result.data["q1_missing"] == "invalid"
    logged = set(zip(result.changes.loc[result.changes["variable"] == "q1", "source"],
                     result.changes.loc[result.changes["variable"] == "q1", "source_row"]))
    assert set(zip(result.data.loc[invalid, "source"], result.data.loc[invalid, "source_row"])) <= logged


@SETTINGS
@given(delimiter=st.sampled_from([",", ";", "\t"]), newline=st.sampled_from(["\n", "\r\n"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
       names=st.lists(st.text(alphabet=string.ascii_letters + "éëïöü’ ", min_size=1, max_size=12), min_size=1,
                      max_size=6))
def test_bytes_as_they_come_read_the_same(tmp_path, delimiter, newline, encoding, names):
    body = newline.join([delimiter.join(["Naam", "Note"])] + [delimiter.join([f'"{n}"', f'"line1{newline}line2"'])
                                                             for n in names]) + newline
    path = tmp_path / f"x-{encoding}.csv"
    try:
        path.write_bytes(body.encode(encoding))
    except UnicodeEncodeError:
        return
    raw = read_export(path)
    assert raw.frame["Naam"].tolist() == names
    assert raw.frame["Note"].tolist() == ["line1\nline2"] * len(names) or \
        raw.frame["Note"].tolist() == [f"line1{newline}line2"] * len(names)
    assert raw.frame["_row"].tolist() == list(range(2, 2 + len(names)))


def test_double_encoded_utf8_is_repaired_and_logged(tmp_path):
    text = "Timestamp,Email,Consent,Q1 statement,Q2 reversed\n3/1/2026 9:00:00,jos@example.org,Yes,Eens,Oneens\n"
    post = "Timestamp,Email,Q1 statement,Q2 reversed,Note\n2026-03-02 10:00:00,jos@example.org,Eens,Eens,Caf\u00e9 na afloop\n"
    study = write_tiny_study(tmp_path, text, post)
    (tmp_path / "post.csv").write_bytes(post.encode("utf-8").decode("cp1252").encode("utf-8"))
    result = clean_study(load_study(study))
    assert result.data["note"].dropna().tolist() == ["Café na afloop"]
    repaired = result.changes[result.changes["rule"] == "repaired double-encoded UTF-8"]
    assert repaired[["variable", "old", "new"]].values.tolist() == [["note", "CafÃ© na afloop", "Café na afloop"]]


def test_decimal_comma_in_a_semicolon_export(tmp_path):
    codebook = AGREE3 + "  hours:\n    role: number\n    waves: [pre]\n    match: {text: [Hours]}\n"
    pre = "Timestamp;Email;Consent;Q1 statement;Q2 reversed;Hours\n3/1/2026 9:00:00;a@x.org;Yes;Eens;Eens;2,5\n"
    post = "Timestamp,Email,Q1 statement,Q2 reversed,Note\n"
    result = clean_study(load_study(write_tiny_study(tmp_path, pre, post, codebook=codebook)))
    assert result.data["hours"].tolist() == [2.5]
    assert result.changes["rule"].tolist() == ["decimal comma"]


def test_surveymonkey_two_header_rows_and_the_column_n_variant(tmp_path):
    two = ("Respondent ID,Collector ID,Start Date,End Date,Which tools do you use?,,Your role\n"
           ",,,,Twitter,LinkedIn,Response\n"
           "1,9,2026-03-01,2026-03-01,Twitter,,Teacher\n")
    one = ("Respondent ID,Collector ID,Start Date,End Date,Which tools do you use?,Column6,Your role\n"
           "1,9,2026-03-01,2026-03-01,Twitter,,Teacher\n")
    (tmp_path / "two.csv").write_text(two)
    (tmp_path / "one.csv").write_text(one)
    a, b = read_export(tmp_path / "two.csv"), read_export(tmp_path / "one.csv")
    assert a.format == b.format == "surveymonkey"
    assert list(a.questions.values())[4:] == ["Which tools do you use? - Twitter", "Which tools do you use? - LinkedIn",
                                              "Your role"]
    assert list(b.questions.values())[4:] == ["Which tools do you use?", "Which tools do you use? [2]", "Your role"]
    assert a.frame["_row"].tolist() == [3] and b.frame["_row"].tolist() == [2]
    pd.testing.assert_series_equal(a.frame.iloc[:, 4], b.frame.iloc[:, 4], check_names=False)


def test_decimal_comma_in_some_rows_only(tmp_path):
    codebook = AGREE3 + "  hours:\n    role: number\n    waves: [pre]\n    match: {text: [Hours]}\n"
    pre = ("Timestamp;Email;Consent;Q1 statement;Q2 reversed;Hours\n3/1/2026 9:00:00;a@x.org;Yes;Eens;Eens;2,5\n"
           "3/1/2026 9:01:00;b@x.org;Yes;Eens;Eens;3\n")
    post = "Timestamp,Email,Q1 statement,Q2 reversed,Note\n"
    result = clean_study(load_study(write_tiny_study(tmp_path, pre, post, codebook=codebook)))
    assert result.data.set_index("key")["hours"].to_dict() == {"a@x.org": 2.5, "b@x.org": 3.0}
    assert result.changes[["source_row", "old", "new", "rule"]].values.tolist() == [[2, "2,5", "2.5", "decimal comma"]]


# --- reading a large file in parts (analysis.io._parse_in_parts) --------------------------------
# The second implementation is pandas reading the same bytes in one piece.

_CELLS = st.one_of(
    st.text(alphabet="ab; é", max_size=8),  # plain
    st.text(alphabet="ab, \n\r\"é", max_size=8).map(lambda t: '"' + t.replace('"', '""') + '"'),  # quoted
)
_STRAY = st.text(alphabet='ab,;"\r\n é', max_size=8)  # anything: stray quotes, bare CR, delimiters


@st.composite
def csv_bytes(draw):
    width = draw(st.integers(1, 4))
    messy = draw(st.booleans())  # now and then a ragged row or a stray quote
    cell = st.one_of(_CELLS, _STRAY) if messy else _CELLS
    rows = draw(st.lists(st.lists(cell, min_size=width - messy, max_size=width), min_size=4, max_size=30))
    end = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    return (bom + end.join(",".join(r) for r in rows) + draw(st.sampled_from(["", end]))).encode("utf-8")


def _one_piece(path):
    try:
        return pd.read_csv(path, encoding="utf-8", **_OPTIONS), None
    except Exception as exc:  # noqa: BLE001
        return None, exc


# as _read_records reads a comma-separated file
_OPTIONS = dict(sep=",", header=None, keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c")


@SETTINGS
@given(data=csv_bytes(), blocks=st.integers(2, 12), parts=st.integers(2, 5))
def test_a_file_read_in_parts_reads_as_in_one_piece(tmp_path, data, blocks, parts):
    from analysis.io import _parse_in_parts, _scan

    path = tmp_path / "export.csv"
    path.write_bytes(data)
    whole, error = _one_piece(path)
    try:
        facts = _scan(path, 2, block=max(1, len(data) // blocks))
        in_parts = _parse_in_parts(path, "utf-8", _OPTIONS, facts, parts, 2)
    except UnicodeDecodeError:  # pragma: no cover - the data are UTF-8
        raise
    if in_parts is None:  # could not split, or a part failed: the caller reads it in one piece
        return
    assert error is None, f"parts parsed where one piece fails: {error}"
    pd.testing.assert_frame_equal(in_parts, whole)


def test_answers_with_line_breaks_are_read_in_parts(tmp_path):
    """The case pandas cannot split: a line end inside an answer near every cut."""
    from analysis.io import _parse_in_parts, _scan

    rows = ['"Timestamp","Reflection"'] + [f'"3/1/2026 9:00:{k % 60:02d}","Line one\r\nline ""{k}"", two"'
                                           for k in range(2000)]
    path = tmp_path / "export.csv"
    path.write_bytes("\r\n".join(rows).encode("utf-8") + b"\r\n")
    facts = _scan(path, 2, block=4096)
    in_parts = _parse_in_parts(path, "utf-8", _OPTIONS, facts, 4, 2)
    assert in_parts is not None
    pd.testing.assert_frame_equal(in_parts, _one_piece(path)[0])
    assert in_parts[1].iloc[-1] == 'Line one\r\nline "1999", two'


@SETTINGS
@given(data=st.lists(st.sampled_from([b"a", b'"', b"\xc3", b"\x83", b"\x82", b"\xa2", b"\xe2", b"\xac", "é".encode()]),
                     max_size=60).map(b"".join), block=st.integers(1, 9))
def test_double_encoding_markers_found_in_any_block(tmp_path, data, block):
    from analysis.io import _MOJIBAKE_BYTES, _scan

    path = tmp_path / "export.csv"
    path.write_bytes(data)
    # second implementation: Python's own substring search
    assert _scan(path, 2, block=block).mojibake == any(marker in data for marker in _MOJIBAKE_BYTES)
    assert _scan(path, 2, block=block).quotes.sum() == data.count(b'"')
