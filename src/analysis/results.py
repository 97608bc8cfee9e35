"""Results: the typed loader notebooks and reports read stored results with.

A results folder is what :func:`analysis.pipeline.build` writes. :func:`load`
gives a :class:`Results` whose attributes are the stored tables, read when
first asked for. A stage that could not run on the study raises
:class:`StageMissing` naming why. Nothing here cleans or fits, and nothing
reads ``private/``: a notebook kernel never holds raw values.

Examples
--------
>>> from analysis.paths import SAMPLE_RESULTS
>>> res = load(SAMPLE_RESULTS)
>>> res.available("profiles"), res.profile_info["k"], len(res.responses)
(True, 3, 610)
>>> res.settings.confidence
0.95
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from analysis.codebook import Codebook, codebook_from_dict
from analysis.pipeline import MANIFEST, STAGES, WHY_NOT
from analysis.settings import Settings


class StageMissing(LookupError):
    """A stage's results were asked for, but the stage could not run on this study."""

    def __init__(self, stage: str, why: str | None, detail: dict | None = None):
        self.stage, self.why, self.detail = stage, why, detail or {}
        reason = WHY_NOT.get(why, "it has not been run") if why else "it has not been run"
        super().__init__(f"no {stage} results: {reason}")


#: Which stage writes each file.
FILES = {
    "responses.parquet": "clean", "changes.csv": "clean", "summary.json": "clean", "study.json": "clean",
    "reliability.csv": "scales", "items.csv": "scales", "scores.parquet": "scales",
    "fit.csv": "profiles", "profiles.csv": "profiles", "stability.csv": "profiles",
    "profile_means.csv": "profiles", "certainty.csv": "profiles", "crosscheck.csv": "profiles",
    "profiles.json": "profiles",
    "effects.csv": "compare", "outcomes.csv": "compare",
    "reflections.csv": "reflect", "coding_sheet.xlsx": "reflect", "reflection_shares.csv": "reflect",
    "reflection_quotes.csv": "reflect", "reflection_agreement.csv": "reflect", "reflections.json": "reflect",
}


@dataclass
class Results:
    """The stored results of one study (see :mod:`analysis.pipeline` for the files)."""

    folder: Path
    manifest: dict
    _cache: dict = field(default_factory=dict, repr=False)

    # --- what ran ---------------------------------------------------------------------
    def status(self, stage: str) -> str:
        """``done``, ``not available``, or ``not run``."""
        record = self.manifest["stages"].get(stage)
        return record["status"] if record else "not run"

    def available(self, stage: str) -> bool:
        return self.status(stage) == "done"

    def why_not(self, stage: str) -> tuple[str | None, dict]:
        """The reason code (:data:`analysis.pipeline.WHY_NOT`) and its details; ``(None, {})`` if it ran."""
        record = self.manifest["stages"].get(stage) or {}
        return record.get("why"), record.get("detail") or {}

    def require(self, stage: str) -> None:
        if not self.available(stage):
            why, detail = self.why_not(stage)
            raise StageMissing(stage, why, detail)

    # --- reading ----------------------------------------------------------------------
    def read(self, name: str):
        """One stored file by name: a DataFrame (parquet, csv) or a dict (json)."""
        if name in self._cache:
            return self._cache[name]
        if name not in FILES:
            raise KeyError(f"{name!r} is not a result file ({', '.join(FILES)})")
        self.require(FILES[name])
        path = self.folder / name
        if path.suffix == ".parquet":
            value = pd.read_parquet(path)
        elif path.suffix == ".csv":
            value = pd.read_csv(path, keep_default_na=True)
        elif path.suffix == ".xlsx":
            from analysis.reflect import read_sheet_frame

            value = read_sheet_frame(path)
        else:
            value = json.loads(path.read_text(encoding="utf-8"))
        self._cache[name] = value
        return value

    @cached_property
    def study(self) -> dict:
        """The study's design as plain values (:func:`analysis.codebook.describe_study`)."""
        return self.read("study.json")

    @cached_property
    def codebook(self) -> Codebook:
        return codebook_from_dict(self.study["codebook"])

    @cached_property
    def settings(self) -> Settings:
        values = dict(self.manifest["settings"])
        values["readiness"] = tuple(values.get("readiness") or ())
        return Settings(**values)

    @property
    def language(self) -> str:
        return self.settings.language

    def wave(self, role: str) -> str | None:
        """The wave that plays ``role``: baseline, after or followup."""
        return self.study["roles"].get(role)

    # clean
    responses = property(lambda self: self.read("responses.parquet"), doc="One row per participant and wave.")
    changes = property(lambda self: self.read("changes.csv"), doc="Every value the cleaning altered.")
    summary = property(lambda self: self.read("summary.json"), doc="Rows in, kept and set aside per source.")
    # scales
    reliability = property(lambda self: self.read("reliability.csv"), doc="Alpha and omega per construct and wave.")
    item_statistics = property(lambda self: self.read("items.csv"), doc="Per item: item-rest r, alpha if dropped.")
    scores = property(lambda self: self.read("scores.parquet"), doc="Construct scores per participant and wave.")
    # profiles
    fit = property(lambda self: self.read("fit.csv"), doc="Every profile model fitted, and the choice.")
    profile_table = property(lambda self: self.read("profiles.csv"), doc="participant, profile, posteriors.")
    stability = property(lambda self: self.read("stability.csv"), doc="Bootstrap stability per profile.")
    profile_means = property(lambda self: self.read("profile_means.csv"), doc="Construct means per profile.")
    certainty = property(lambda self: self.read("certainty.csv"), doc="How sure the assignments are.")
    crosscheck = property(lambda self: self.read("crosscheck.csv"), doc="Simpler clusterings compared.")
    profile_info = property(lambda self: self.read("profiles.json"), doc="k, model, names, centroids.")
    # compare
    effects = property(lambda self: self.read("effects.csv"), doc="Entry-point effects.")
    outcomes = property(lambda self: self.read("outcomes.csv"), doc="The outcomes compared.")
    # reflect
    reflections = property(lambda self: self.read("reflections.csv"), doc="Codes and tools found, one row each.")
    coding_sheet = property(lambda self: self.read("coding_sheet.xlsx"), doc="One row per reflection, for coders.")
    reflection_shares = property(lambda self: self.read("reflection_shares.csv"),
                                 doc="Share of writers with each code per entry point and profile.")
    reflection_quotes = property(lambda self: self.read("reflection_quotes.csv"), doc="Example quotes per code.")
    reflection_info = property(lambda self: self.read("reflections.json"), doc="Counts, codes, coders.")

    @property
    def reflection_agreement(self) -> pd.DataFrame | None:
        """Agreement per code between the auto-coder and human coders (None: no human codes)."""
        self.require("reflect")
        return self.read("reflection_agreement.csv") if (self.folder / "reflection_agreement.csv").is_file() else None

    @property
    def posteriors(self) -> pd.DataFrame:
        """Profile probabilities: indexed by participant, one column per profile, rows sum to 1."""
        from analysis.compare import check_posteriors

        return check_posteriors(self.profile_table)

    @property
    def profile_names(self) -> list[str]:
        return list(self.profile_info["names"]) if self.available("profiles") else []


def load(folder) -> Results:
    """Open a results folder written by :func:`analysis.pipeline.build`.

    Raises
    ------
    FileNotFoundError
        The folder has no ``manifest.json``.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no results ({MANIFEST} is missing): build them with "
                                "`python -m analysis report STUDY --out DIR` or analysis.pipeline.build")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    unknown = set(manifest.get("stages", {})) - set(STAGES) - {"report"}
    if unknown:
        raise ValueError(f"{path}: unknown stages {sorted(unknown)}")
    return Results(folder, manifest)
