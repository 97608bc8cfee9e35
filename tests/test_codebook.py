"""Study file and codebook: loaded, validated, errors that name file, line and key."""

import pytest

from analysis.codebook import load_codebook, load_study, normalise_text
from analysis.errors import InputError

from conftest import AGREE3, STUDY, TINY_POST, TINY_PRE, write_tiny_study


def test_sample_codebook_roles_and_scales(sample_study):
    cb = sample_study.codebook
    items = cb.by_role("item")
    assert {v.construct for v in items if v.waves == ("pre",)} >= {"tool_skills", "focus", "guts"}
    agree = cb.scales["agree5"]
    assert agree.codes[normalise_text("Helemaal mee eens")] == agree.codes["strongly agree"] == 5
    assert agree.missing_codes["weet ik niet"] == "dont_know"
    assert {v.name for v in cb.variables.values() if v.pii} >= {"email", "name", "ip_address"}


def _error(tmp_path, codebook=AGREE3, study=STUDY):
    path = write_tiny_study(tmp_path / "s", TINY_PRE, TINY_POST, codebook=codebook, study=study)
    with pytest.raises(InputError) as err:
        from analysis.clean import clean_study

        clean_study(load_study(path))
    return err.value


def test_unknown_key_names_file_line_and_key(tmp_path):
    err = _error(tmp_path, codebook=AGREE3.replace("    reverse: true\n", "    reverse: true\n    revers: false\n"))
    assert err.file.endswith("codebook.yaml") and err.column == "variables.q2.revers"
    assert err.row == AGREE3.splitlines().index("    reverse: true") + 2


def test_scale_without_levels(tmp_path):
    broken = AGREE3.replace("""  yesno:
    levels:
      - {code: 0, en: "No", nl: Nee}
      - {code: 1, en: "Yes", nl: Ja}""", "  yesno:\n    levels: []")
    err = _error(tmp_path, codebook=broken)
    assert err.column == "scales.yesno.levels" and "non-empty list of levels" in str(err)


def test_variable_matching_no_column(tmp_path):
    err = _error(tmp_path, codebook=AGREE3.replace("match: {text: [Note]}", "match: {text: [Remark]}"))
    assert err.column == "note" and "post.csv" in str(err) and err.row is not None


def test_variable_matching_two_columns(tmp_path):
    err = _error(tmp_path, codebook=AGREE3.replace('regex: ["^Q2"]', 'regex: ["^Q"]'))
    assert err.column == "q2" and "found 2" in str(err)


def test_study_errors(tmp_path):
    err = _error(tmp_path, study=STUDY.replace("path: post.csv", "path: missing.csv"))
    assert err.column == "sources.path" and err.row == 7
    err = _error(tmp_path, study=STUDY + "colour: blue\n")
    assert err.column == "colour"
    err = _error(tmp_path, study=STUDY.replace("participant_key: email", "participant_key: q1"))
    assert err.column == "participant_key" and "identifier" in str(err)


def test_bad_role_and_duplicate_key_and_bad_yaml(tmp_path):
    err = _error(tmp_path, codebook=AGREE3.replace("role: text", "role: prose"))
    assert err.column == "variables.note.role"
    err = _error(tmp_path, codebook=AGREE3.replace("  note:\n", "  q1:\n"))
    assert err.column == "q1" and "each key once" in str(err)
    err = _error(tmp_path, codebook=AGREE3 + "  : [\n")
    assert "valid YAML" in str(err)


def test_codebook_loads_alone(tmp_path):
    (tmp_path / "cb.yaml").write_text(AGREE3)
    cb = load_codebook(tmp_path / "cb.yaml")
    assert cb.variables["q2"].reverse and cb.variables["email"].pii


def _slots_codebook(tmp_path, **variables):
    from analysis.codebook import Codebook, Variable

    return Codebook(tmp_path / "codebook.yaml", {name: Variable(name, role, ("pre",), text=(text,))
                                                 for name, (role, text) in variables.items()}, {})


def test_question_asked_in_slots_only_needs_role_text(tmp_path):
    from analysis.io import question_parts

    header = ["Part #1:Rate it", "Part #2:Rate it"]
    parts = {header[k]: part for k, part in question_parts(header).items()}
    cb = _slots_codebook(tmp_path, q=("item", "Rate it"))
    with pytest.raises(InputError, match="only numbered parts.*role text"):
        cb.match_columns({h: h for h in header}, "pre", "export.csv", parts)
    cb = _slots_codebook(tmp_path, q=("text", "Rate it"))
    columns = cb.match_columns({h: h for h in header}, "pre", "export.csv", parts)
    assert cb.match_parts(columns, parts, "export.csv") == {"q": {"q_1": "Part #1:Rate it", "q_2": "Part #2:Rate it"}}


@pytest.mark.parametrize("header, variables, error", [
    # a part named like another variable
    (["Tool #1:Which?", "Tool #2:Which?", "First tool?"], {"tools": ("text", "Which?"), "tools_1": ("text", "First tool?")},
     "named 'tools_1' like another variable"),
    # two columns for one part
    (["Tool #1:Which?", "Tool #2:Which?", "Version #1:Which?", "Version #2:Which?"], {"tools": ("text", "Which?")},
     "two columns for part '1'"),
])
def test_parts_that_clash_are_clear_errors(tmp_path, header, variables, error):
    from analysis.io import question_parts

    parts = {header[k]: part for k, part in question_parts(header).items()}
    cb = _slots_codebook(tmp_path, **variables)
    columns = cb.match_columns({h: h for h in header}, "pre", "export.csv", parts)
    with pytest.raises(InputError, match=error):
        cb.match_parts(columns, parts, "export.csv")


def test_columns_mapped_by_their_header_are_not_parts(tmp_path):
    from analysis.io import question_parts

    # a codebook that maps the write-in and a lone numbered grid row itself keeps working as before
    header = ["How?", "Other - Write In:How?", "Session #1:Rate it"]
    parts = {header[k]: part for k, part in question_parts(header).items()}
    assert parts == {"Other - Write In:How?": ("How?", "other")}  # one "#1:" alone is not a slot
    cb = _slots_codebook(tmp_path, how=("text", "How?"), how_other=("text", "Other - Write In:How?"),
                         session=("item", "Session #1:Rate it"))
    columns = cb.match_columns({h: h for h in header}, "pre", "export.csv", parts)
    assert columns == {"how": ["How?"], "how_other": ["Other - Write In:How?"], "session": ["Session #1:Rate it"]}
    assert cb.match_parts(columns, parts, "export.csv") == {}
