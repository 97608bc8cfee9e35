"""Privacy: stable keyed pseudonyms, scrubbed free text, no PII in processed outputs."""

import json

import pandas as pd
import pytest

from analysis.clean import clean_study
from analysis.codebook import load_study
from analysis.privacy import (DEMO_KEY, name_pattern, neutralise_formulas, pii_values, process_study, protect,
                              pseudonym, resolve_key, scrub_text, write_processed)


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
