"""Readers: every record kept with its provenance; formats detected; bad files named."""

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.io import COMPLETE, PREVIEW, ROW, SOURCE, detect_format, read_export
from analysis.paths import SAMPLE_DIR

RAW = SAMPLE_DIR / "raw"


def _physical_records(path):
    import csv

    with open(path, newline="", encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


@pytest.mark.parametrize("name, fmt, header_rows", [
    ("pre_google_forms.csv", "google_forms", 1),
    ("post_qualtrics.csv", "qualtrics", 3),
])
def test_csv_readers_keep_every_record_with_its_spreadsheet_row(name, fmt, header_rows):
    raw = read_export(RAW / name)
    records = _physical_records(RAW / name)
    assert raw.format == fmt
    assert len(raw.frame) == len(records) - header_rows
    assert raw.frame[ROW].tolist() == list(range(header_rows + 1, len(records) + 1))
    assert (raw.frame[SOURCE] == name).all()
    # the cell at (row r, column c) is what a spreadsheet shows at that place
    r = raw.frame.iloc[10]
    assert r[raw.answer_columns].tolist() == records[int(r[ROW]) - 1]


def test_all_blank_record_is_a_row_not_dropped():
    raw = read_export(RAW / "pre_google_forms.csv")
    blank = raw.frame[raw.answer_columns].apply(lambda c: c.str.strip() == "").all(axis=1)
    assert blank.sum() == 1


def test_qualtrics_question_text_preview_and_finished():
    raw = read_export(RAW / "post_qualtrics.csv")
    assert raw.questions["Q1"] == "Wat is uw e-mailadres?"
    assert raw.questions["StartDate"] == "Start Date"
    assert raw.frame[PREVIEW].sum() == (raw.frame["Status"] == "Survey Preview").sum() == 2
    assert (~raw.frame[COMPLETE]).sum() == (raw.frame["Finished"] == "False").sum() > 0


def test_microsoft_forms_xlsx_dates_become_iso_text():
    raw = read_export(RAW / "followup_microsoft_forms.xlsx")
    assert raw.format == "microsoft_forms"
    assert raw.frame["Start time"].str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|").all()
    assert raw.frame["ID"].iloc[:3].tolist() == ["1", "2", "3"]


def test_semicolon_delimited_cp1252_csv(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("Naam;Antwoord\r\nJosé;Helemaal mee eens\r\nZoë;\"twee\nregels\"\r\n".encode("cp1252"))
    raw = read_export(path)
    assert raw.format == "csv"
    assert raw.frame["Naam"].tolist() == ["José", "Zoë"]
    assert raw.frame["Antwoord"].tolist() == ["Helemaal mee eens", "twee\nregels"]
    assert raw.frame[ROW].tolist() == [2, 3]


def test_repeated_headers_are_kept_apart(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("Other,Other,Q\na,b,c\n", encoding="utf-8")
    raw = read_export(path)
    assert raw.answer_columns == ["Other", "Other.1", "Q"]


def test_ragged_row_is_a_clear_error(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("A,B\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_export(path)
    assert "ragged.csv, row 3: expected at most 2 fields" in str(err.value)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="expected an existing export file"):
        read_export(tmp_path / "nope.csv")
    (tmp_path / "a.csv").write_text("A\n1\n")
    with pytest.raises(InputError, match="expected a format among"):
        read_export(tmp_path / "a.csv", fmt="spss")


def test_detect_format_of_sample_exports():
    assert detect_format(RAW / "pre_google_forms.csv") == "google_forms"
    assert detect_format(RAW / "post_qualtrics.csv") == "qualtrics"
    assert detect_format(RAW / "followup_microsoft_forms.xlsx") == "microsoft_forms"


def test_readers_never_write_to_raw_files(tmp_path):
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in RAW.iterdir()}
    for p in RAW.iterdir():
        read_export(p)
    assert before == {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in RAW.iterdir()}


def test_limesurvey_incomplete_rows_have_no_submitdate(tmp_path):
    path = tmp_path / "lime.csv"
    path.write_text('"id","submitdate","lastpage","startlanguage","seed","Q1[SQ001]"\n'
                    '"1","2026-03-01 10:00:00","3","nl","123","A2"\n'
                    '"2","","1","nl","456",""\n', encoding="utf-8")
    raw = read_export(path)
    assert raw.format == "limesurvey"
    assert raw.frame[COMPLETE].tolist() == [True, False]
    assert raw.meta_columns == ["id", "submitdate", "lastpage", "startlanguage", "seed"]


def test_qualtrics_numeric_values_export_codes_like_the_choice_text_export(tmp_path):
    """Qualtrics can export choice text or numeric values; both clean to the same codes."""
    from analysis.clean import clean_study
    from analysis.codebook import load_study
    from analysis.simulate import AGREE5, SATISFACTION5

    lines = (RAW / "post_qualtrics.csv").read_text(encoding="utf-8-sig").splitlines(keepends=True)
    numeric = {label: str(code) for scale in (AGREE5, SATISFACTION5) for code, (en, nl) in enumerate(scale, 1)
               for label in (en, nl)}
    import csv
    import io

    out = lines[:3]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for cells in csv.reader(io.StringIO("".join(lines[3:]))):  # reflections hold quoted commas
        assert len(cells) == 30
        cells[2] = {"IP Address": "0", "Survey Preview": "1"}.get(cells[2], cells[2])  # status, finished as numbers
        cells[6] = {"True": "1", "False": "0"}[cells[6]]
        cells[18:29] = [numeric.get(c, c) for c in cells[18:29]]
        writer.writerow(cells)
    out.append(buf.getvalue())
    folder = tmp_path / "study"
    (folder / "raw").mkdir(parents=True)
    (folder / "raw" / "post_qualtrics.csv").write_text("".join(out), encoding="utf-8")
    for name in ("study.yaml", "codebook.yaml"):
        (folder / name).write_text((SAMPLE_DIR / name).read_text())
    for name in ("pre_google_forms.csv", "followup_microsoft_forms.xlsx"):
        (folder / "raw" / name).write_bytes((RAW / name).read_bytes())
    numeric_result = clean_study(load_study(folder / "study.yaml"))
    text_result = clean_study(load_study(SAMPLE_DIR / "study.yaml"))
    cols = ["key", "post_conf_cooperation_code", "satisfaction_code"]
    text_post = text_result.data[text_result.data["wave"] == "post"][cols].set_index("key")
    num_post = numeric_result.data[numeric_result.data["wave"] == "post"][cols].set_index("key")
    shared = text_post.index.intersection(num_post.index)
    assert len(shared) > 150
    pd.testing.assert_frame_equal(text_post.loc[shared], num_post.loc[shared])
    assert numeric_result.summary["sources"][1]["quarantined_by_reason"]["preview"] == 2


def test_double_encoded_text_in_a_workbook_is_repaired(tmp_path):
    """An .xlsx is compressed: its cells are looked at, not its bytes."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Naam", "Opmerking"])
    wb.active.append(["Jos", "Caf\u00e9 na afloop".encode().decode("cp1252")])  # "CafÃ© na afloop"
    wb.save(tmp_path / "export.xlsx")
    raw = read_export(tmp_path / "export.xlsx", "xlsx")
    assert raw.frame["Opmerking"].tolist() == ["Café na afloop"]
    assert raw.repairs[["source_row", "column", "old"]].values.tolist() == [[2, "Opmerking", "CafÃ© na afloop"]]


def test_compressed_export_is_a_clear_error(tmp_path):
    """Its bytes are not the export's: delimiter, encoding and double-encoding are judged from bytes."""
    import gzip

    path = tmp_path / "export.csv.gz"
    path.write_bytes(gzip.compress("naam,opmerking\np1,Caf\u00e9\n".encode("utf-8")))
    with pytest.raises(InputError, match="export.csv.gz.*compressed file: unpack it"):
        read_export(path, "csv")


def test_bytes_that_are_not_utf8_after_a_bom_are_a_clear_error(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,\xff\n")
    with pytest.raises(InputError, match="export.csv.*byte-order mark"):
        read_export(path, "csv")


@pytest.mark.parametrize("name", ["pre_google_forms.csv", "post_qualtrics.csv"])
def test_exports_read_in_parts_read_as_in_one_piece(monkeypatch, name):
    """Through read_export: small blocks so that the sample exports are read in parts."""
    import analysis.io as io

    one_piece = read_export(RAW / name)
    calls = []
    real = io._parse_in_parts

    def spy(*args):
        calls.append(real(*args))
        return calls[-1]

    monkeypatch.setattr(io, "_BLOCK", 512)
    monkeypatch.setattr(io, "_cores", lambda: 3)
    monkeypatch.setattr(io, "_parse_in_parts", spy)
    in_parts = read_export(RAW / name)
    assert calls and calls[0] is not None  # it was read in parts
    pd.testing.assert_frame_equal(in_parts.frame, one_piece.frame)
    assert in_parts.questions == one_piece.questions and in_parts.encoding == one_piece.encoding
