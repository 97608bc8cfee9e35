"""Pipeline: every stage runs once, and its results are stored for the next.

:func:`build` runs the stages in order (:data:`STAGES`), reading each raw
export once, and writes each stage's results into the results folder through
the one publish step (:func:`analysis.publish.publish`: nothing public is
kept unless the leak gate passes it); raw values go only under ``private/``.
``manifest.json`` records per stage its inputs, settings, files and a key
made of them, so a stage whose inputs, settings and code did not change is
not recomputed on the next run.

The results folder holds::

    manifest.json       stages, their keys, files and status; the settings; the package version
    study.json          the study's design and codebook as plain values (no paths, no personal data)
    responses.parquet   clean  : one row per participant and wave (also .csv), changes.csv, summary.json
    reliability.csv     scales : reliability per construct and wave, items.csv, scores.parquet
    fit.csv             profiles: fit table, profiles.csv (posteriors), stability.csv,
                                  profile_means.csv, certainty.csv, crosscheck.csv, profiles.json
    effects.csv         compare: entry-point effects, outcomes.csv
    reflections.csv     reflect: codes found in the free text, coding_sheet.xlsx, reflection_shares.csv,
                                 reflection_quotes.csv, reflections.json (reflection_agreement.csv with human codes)
    private/            quarantine.csv (raw rows set aside), gate.parquet (what the leak gate looks for)

A stage that cannot run on a study (no readiness constructs, no entry point,
no outcomes...) is recorded as *not available* with the reason
(:data:`WHY_NOT`), so that reports can say what the study lacks.

Examples
--------
>>> import tempfile
>>> from analysis.paths import SAMPLE_STUDY
>>> out = Path(tempfile.mkdtemp())
>>> first = build(SAMPLE_STUDY, out, until="clean")
>>> [(run.stage, run.status) for run in first.runs]
[('clean', 'done')]
>>> [(run.stage, run.status) for run in build(SAMPLE_STUDY, out, until="clean").runs]
[('clean', 'reused')]
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import __version__
from analysis.codebook import Study, describe_study, load_study
from analysis.paths import PACKAGE_DIR
from analysis.settings import Settings

#: The analysis stages, in the order they run.
STAGES = ("clean", "scales", "profiles", "compare", "reflect")
#: The stages whose results each stage reads.
UPSTREAM = {"clean": (), "scales": ("clean",), "profiles": ("scales",), "compare": ("clean", "profiles"),
            "reflect": ("clean", "profiles")}
#: The settings each stage depends on (a change recomputes it and what follows).
STAGE_SETTINGS = {
    "clean": (),
    "scales": ("readiness", "baseline", "confidence", "n_boot", "seed"),
    "profiles": ("readiness", "baseline", "k_min", "k_max", "k", "resamples", "blrt_reps", "seed", "confidence"),
    "compare": ("confidence", "min_n", "min_sessions", "permutations", "seed", "correction"),
    "reflect": ("confidence", "min_n", "min_sessions", "seed"),
}
MANIFEST = "manifest.json"
#: Paths and hashes of the input files: under private/ (file names and paths may name people).
INPUTS = "private/inputs.json"
#: Why a stage could not run, by code (the words are :func:`analysis.summarise.why_not`'s).
WHY_NOT = {
    "no_readiness": "the study declares no readiness constructs",
    "no_constructs": "the codebook assigns no item to a construct",
    "too_few_scores": "too few participants have a score on every readiness construct",
    "no_admissible": "no solution in the range of profiles tried has every profile large enough",
    "no_profiles": "the profiles stage did not run",
    "no_outcomes": "the codebook declares no outcomes",
    "no_entry_point": "the study file maps no answer to an entry point",
    "no_sessions": "the study names no workshop (session) variable",
    "no_entry_point_data": "no participant has both a session and an entry point",
    "mixed_sessions": "a session has participants with different entry points",
    "no_free_text": "the codebook declares no free-text (role: text) variable, or no one answered one",
}


class NotAvailable(Exception):
    """A stage cannot run on this study; ``why`` is a key of :data:`WHY_NOT`."""

    def __init__(self, why: str, **detail):
        self.why, self.detail = why, detail
        super().__init__(f"{WHY_NOT[why]} {detail}" if detail else WHY_NOT[why])


@dataclass
class StageRun:
    """What happened to one stage in one build."""

    stage: str
    status: str  # "done", "reused" or "not available"
    key: str
    why: str | None = None
    detail: dict = field(default_factory=dict)
    files: tuple = ()
    private: tuple = ()

    @property
    def available(self) -> bool:
        return self.status != "not available"


@dataclass
class Build:
    """The outcome of :func:`build`: the results folder and what each stage did."""

    folder: Path
    runs: list
    manifest: dict

    def run(self, stage: str) -> StageRun:
        return next(r for r in self.runs if r.stage == stage)


# --- keys: what a stage's results depend on ---------------------------------------------

def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _code_fingerprint() -> str:
    """A hash of the package's own code: results made by other code are made again."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".yaml", ".j2", ".css", ".po"):
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _file_identity(path: Path, known: dict) -> dict:
    """Size, modification time and hash of an input file; the hash is reused while size and time agree."""
    stat = path.stat()
    seen = known.get(str(path))
    if seen and seen["size"] == stat.st_size and seen["mtime_ns"] == stat.st_mtime_ns:
        return seen
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": _sha256(path)}


def _content(inputs: dict, study: Study) -> dict:
    """The inputs by what they are, not where they lie: a moved study folder is the same study."""
    out = {}
    for path, seen in inputs.items():
        if isinstance(seen, dict):
            try:
                path = Path(path).relative_to(study.root).as_posix()
            except ValueError:
                path = Path(path).name
            out[path] = seen["sha256"]
        else:
            out[path] = seen
    return out


def _key(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _clean_inputs(study: Study, known: dict) -> dict:
    """The files and key the cleaning depends on: study file, codebook, roster, exports, pseudonym key."""
    from analysis.protect import study_key

    files = [study.path, study.codebook.path] + [s.path for s in study.sources]
    files += [study.roster_file] if study.roster_file is not None else []
    inputs = {str(p): _file_identity(p, known) for p in files}
    key = study_key(study)
    # which key made the pseudonyms, without the key itself
    inputs["pseudonym key"] = hmac.new(key.encode(), b"workshop-analysis key fingerprint", "sha256").hexdigest()[:16]
    return inputs


# --- the stages ------------------------------------------------------------------------

class _Context:
    """What the stages of one build share: the study, the folder, results in memory or on disk."""

    def __init__(self, study: Study, out: Path, progress: bool | None):
        self.study, self.out, self.progress = study, out, progress
        self.memory: dict = {}
        self.available: dict[str, bool] = {}
        self._gate = None
        self.note = lambda text: None  # what the stage is doing, for the progress bar

    @property
    def settings(self) -> Settings:
        return self.study.settings

    @property
    def gate(self):
        from analysis.publish import Gate

        if self._gate is None:
            self._gate = Gate.load(self.out / "private")
        return self._gate

    def frame(self, name: str) -> pd.DataFrame:
        """A stored table, from memory if this build made it."""
        if name not in self.memory:
            path = self.out / name
            self.memory[name] = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        return self.memory[name]


def _run_clean(ctx: _Context) -> tuple[dict, dict]:
    from analysis.clean import clean_study
    from analysis.progress import bar
    from analysis.protect import protect
    from analysis.publish import CsvTable, Gate

    study = ctx.study
    with bar(total=3, desc="clean", progress=ctx.progress) as steps:
        steps.set_postfix_str("read and clean the exports")
        result = clean_study(study)  # the one read of every raw export
        _return_freed_memory()
        steps.update()
        steps.set_postfix_str("protect: pseudonyms, scrub free text")
        processed = protect(result, study)
        del result  # (the clean data as typed, before protection: freed; the raw exports stay for the gate)
        _return_freed_memory()
        steps.update()
        steps.set_postfix_str("collect personal values for the leak gate")
        ctx._gate = Gate.from_raws(study, processed.raws, processed.personal)  # (what protect found, reused)
        processed.raws = []  # (the raw exports are not needed past the gate: freed)
        _return_freed_memory()
        steps.update()
    ctx.memory["responses.parquet"] = processed.data
    public = {"responses.parquet": processed.data, "responses.csv": CsvTable(processed.data),
              "changes.csv": CsvTable(processed.changes), "summary.json": processed.summary,
              "study.json": _public_description(study, processed.source_names)}
    private = {"quarantine.csv": lambda p: processed.quarantine.to_csv(p, index=False),
               "long_answers.csv": lambda p: processed.long_answers.to_csv(p, index=False),
               ctx._gate.FILE: lambda p: ctx._gate.save(p.parent)}
    return public, private


def _return_freed_memory() -> None:
    """Give the memory Python has freed back to the system (glibc's ``malloc_trim``; elsewhere
    nothing). Freed memory glibc keeps can serve Python again but not pyarrow's own allocator, so
    without this a stage's peak holds both what it freed and what pyarrow takes next."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):  # not glibc
        pass


def _public_description(study: Study, source_names: dict) -> dict:
    """:func:`describe_study` with the export names as published (scrubbed of names)."""
    described = describe_study(study)
    for source in described.get("sources", []):
        source["name"] = source_names.get(source["name"], source["name"])
    return described


def _readiness_items(study: Study) -> dict:
    from analysis.scales import construct_items

    if not study.readiness:
        raise NotAvailable("no_readiness")
    return construct_items(study.codebook, study.readiness, wave=study.wave("baseline"))


def _run_scales(ctx: _Context) -> tuple[dict, dict]:
    """Reliability and scores of every construct in every wave it is asked in."""
    from analysis.scales import construct_items, construct_scores, item_statistics, reliability

    s, study = ctx.settings, ctx.study
    data = ctx.frame("responses.parquet")
    rel, stats, scores = [], [], []
    for wave in study.waves:
        items = construct_items(study.codebook, wave=wave)
        if not items:
            continue
        rows = data[data["wave"] == wave]
        rel.append(reliability(rows, items, n_boot=s.n_boot, seed=s.seed, confidence=s.confidence)
                   .assign(wave=wave))
        stats.append(item_statistics(rows, items).assign(wave=wave))
        scores.append(construct_scores(rows, items).reset_index().assign(wave=wave))
    if not rel:
        raise NotAvailable("no_constructs")
    first = ["wave", "construct"]
    rel = pd.concat(rel, ignore_index=True)
    stats = pd.concat(stats, ignore_index=True)
    scores = pd.concat(scores, ignore_index=True)
    scores = scores[["participant", "wave"] + [c for c in scores.columns if c not in ("participant", "wave")]]
    ctx.memory["scores.parquet"] = scores
    return {"reliability.csv": rel[first + [c for c in rel.columns if c not in first]],
            "items.csv": stats[first + [c for c in stats.columns if c not in first]],
            "scores.parquet": scores}, {}


#: Fewest participants with every readiness score for a profile analysis.
MIN_PROFILE_N = 20


def _run_profiles(ctx: _Context) -> tuple[dict, dict]:
    from analysis.profiles import (RESAMPLE_N, NoAdmissibleSolution, assignment_certainty, fit_profiles, k_verdict,
                                   profile_means, stability)

    s, study = ctx.settings, ctx.study
    _readiness_items(study)
    if not ctx.available.get("scales"):
        raise NotAvailable("no_constructs")
    scores = ctx.frame("scores.parquet")
    scores = scores[scores["wave"] == study.wave("baseline")].set_index("participant")[list(study.readiness)]
    complete = int(scores.notna().all(axis=1).sum())
    if complete < max(MIN_PROFILE_N, 2 * len(study.readiness)):
        raise NotAvailable("too_few_scores", n=complete, needed=max(MIN_PROFILE_N, 2 * len(study.readiness)))
    cb = study.codebook
    try:
        result = fit_profiles(scores, constructs=list(study.readiness), k_min=s.k_min, k_max=s.k_max, k=s.k,
                              seed=s.seed, resamples=s.resamples, confidence=s.confidence, blrt_reps=s.blrt_reps,
                              progress=ctx.progress, aspects={c: cb.construct(c).aspect for c in study.readiness},
                              labels={c: cb.construct(c).shown("en") for c in study.readiness})
    except NoAdmissibleSolution as exc:
        raise NotAvailable("no_admissible", k_min=exc.k_min, k_max=exc.k_max, share=round(100 * exc.min_share),
                           n=exc.min_n) from None
    stab = result.stability or stability(result, resamples=s.resamples, confidence=s.confidence,
                                         progress=ctx.progress)
    table = result.profiles_table()
    ctx.memory["profiles.csv"] = table
    grand, sd = result.scores.mean(), result.scores.std(ddof=1).replace(0, 1.0)
    rule = result.fit[result.fit["rule_choice"]].iloc[0]
    info = {"k": result.k, "covariance_type": result.covariance_type, "names": result.names,
            "criterion": result.criterion, "k_fixed": s.k, "k_verdict": k_verdict(result.fit), "rule_k": int(rule["k"]),
            "rule_covariance_type": str(rule["model"]),
            "constructs": list(result.constructs), "n": len(result.scores), "excluded": result.excluded,
            "resamples": stab.resamples, "resample_n": stab.resample_n or len(result.scores),
            "ari_mean": stab.ari_mean, "blrt_reps": s.blrt_reps, "blrt_n": min(len(result.scores), RESAMPLE_N),
            "centroids": result.centroids.round(6).to_dict(orient="index"),
            "z": ((result.centroids - grand) / sd).round(6).to_dict(orient="index")}
    return {"fit.csv": result.fit, "profiles.csv": table,
            "stability.csv": stab.per_profile.assign(ari_mean=stab.ari_mean, resamples=stab.resamples,
                                                     resample_n=stab.resample_n or len(result.scores)),
            "profile_means.csv": profile_means(result, confidence=s.confidence),
            "certainty.csv": assignment_certainty(result), "crosscheck.csv": result.comparison,
            "profiles.json": info}, {}


def _run_compare(ctx: _Context) -> tuple[dict, dict]:
    from analysis.compare import check_posteriors, entry_point_effects, find_outcomes, outcome_scores

    s, study = ctx.settings, ctx.study
    outcomes = find_outcomes(study.codebook)
    if not outcomes:
        raise NotAvailable("no_outcomes")
    if not study.has_entry_points:
        raise NotAvailable("no_entry_point")
    if study.workshop is None:
        raise NotAvailable("no_sessions")
    scores = outcome_scores(ctx.frame("responses.parquet"), outcomes)
    if scores.empty:
        raise NotAvailable("no_entry_point_data")
    arms = scores.groupby("workshop")["entry_point"].nunique()
    if (arms > 1).any():
        raise NotAvailable("mixed_sessions", session=str(arms[arms > 1].index[0]))
    posteriors = check_posteriors(ctx.frame("profiles.csv")) if ctx.available.get("profiles") else None
    effects = entry_point_effects(scores, outcomes=outcomes, posteriors=posteriors, confidence=s.confidence,
                                  min_n=s.min_n, min_sessions=s.min_sessions, n_resamples=s.permutations,
                                  seed=s.seed, correction=s.correction)
    table = pd.DataFrame([{"outcome": o.name, "kind": o.kind, "family": o.family, "measure": o.measure,
                           "label": o.label, "items": " ".join(o.items), "baseline": " ".join(o.baseline)}
                          for o in outcomes])
    return {"effects.csv": effects.round(6), "outcomes.csv": table}, {}


def _run_reflect(ctx: _Context) -> tuple[dict, dict]:
    from analysis.compare import check_posteriors
    from analysis.reflect import reflect_study

    s = ctx.settings
    posteriors = check_posteriors(ctx.frame("profiles.csv")) if ctx.available.get("profiles") else None
    files = reflect_study(ctx.study, ctx.frame("responses.parquet"), posteriors=posteriors, confidence=s.confidence,
                          min_n=s.min_n, min_sessions=s.min_sessions, seed=s.seed)
    if files is None:
        raise NotAvailable("no_free_text")
    if "reflection_agreement.csv" not in files:  # human codes withdrawn: their agreement no longer holds
        (ctx.out / "reflection_agreement.csv").unlink(missing_ok=True)
    return files, {}


def _reflect_inputs(study: Study) -> dict:
    """The filled-in coding sheets the reflect stage reads (a new sheet recomputes it)."""
    from analysis.reflect import human_code_files

    return {name: _sha256(p) if p.is_file() else "missing" for name, p in human_code_files(study).items()}


RUNNERS = {"clean": _run_clean, "scales": _run_scales, "profiles": _run_profiles, "compare": _run_compare,
           "reflect": _run_reflect}


# --- the build --------------------------------------------------------------------------

def read_manifest(folder) -> dict:
    """The manifest of a results folder (empty stages when there is none)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {"stages": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _intact(folder: Path, record: dict) -> bool:
    """The stage's files are all there, as the stage wrote them (size and time)."""
    for name, seen in record.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            return False
        stat = path.stat()
        if stat.st_size != seen["size"] or stat.st_mtime_ns != seen["mtime_ns"]:
            return False
    return True


def build(study, out, settings: Settings | None = None, until: str | None = None, *,
          progress: bool | None = None) -> Build:
    """Run the stages up to ``until`` (default: all), once each, and store their results in ``out``.

    Parameters
    ----------
    study : path-like or Study
        The study file (or a loaded study).
    out : path-like
        The results folder (created). Public results at its top, raw values
        under ``out/private/``.
    settings : Settings, optional
        Settings to use instead of the study's own (the command line's
        overrides); checked against the study.
    until : str, optional
        The last stage to run, one of :data:`STAGES`.
    progress : bool, optional
        Progress bars; default: a person at a terminal, never under CI.

    Returns
    -------
    Build

    Raises
    ------
    analysis.errors.InputError
        A mistake in the study's files.
    analysis.publish.PrivacyLeak
        A stage's output held a personal value: that stage kept nothing.
    """
    from analysis.progress import bar
    from analysis.publish import _owner_only, private_folder, publish

    if until is not None and until not in STAGES:
        raise ValueError(f"until must be one of {', '.join(STAGES)}; got {until!r}")
    study = study if isinstance(study, Study) else load_study(study)
    if settings is not None:
        study = study.with_settings(settings)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    private_folder(out)
    manifest = read_manifest(out)
    code = _code_fingerprint()
    known = json.loads((out / INPUTS).read_text(encoding="utf-8")) if (out / INPUTS).is_file() else {}
    inputs = _clean_inputs(study, known)
    _owner_only(out / INPUTS)  # paths may name people: readable by the owner only, from the start
    (out / INPUTS).write_text(json.dumps(inputs, indent=1), encoding="utf-8")
    manifest.update({"package": __version__, "code": code,
                     "settings": study.settings.as_dict(),
                     "settings_origin": {k: study.settings.origin.get(k, "default") for k in study.settings.as_dict()}})
    stages = STAGES[: STAGES.index(until) + 1] if until else STAGES
    ctx = _Context(study, out, progress)
    keys: dict[str, str] = {}
    runs = []
    stage_bar = bar(stages, desc="stages", progress=progress)
    for stage in stage_bar:
        stage_bar.set_postfix_str(stage)
        ctx.note = lambda text, stage=stage: stage_bar.set_postfix_str(f"{stage}: {text}")
        upstream = [keys[u] for u in UPSTREAM[stage]]
        key = _key(stage, code, study.settings.subset(*STAGE_SETTINGS[stage]), upstream,
                   _content(inputs, study) if stage == "clean" else
                   _reflect_inputs(study) if stage == "reflect" else None)
        keys[stage] = key
        record = manifest["stages"].get(stage)
        if record and record["key"] == key and _intact(out, record):
            public = tuple(n for n in record.get("files", {}) if not n.startswith("private/"))
            run = StageRun(stage, "reused" if record["status"] != "not available" else "not available", key,
                           record.get("why"), record.get("detail", {}), public)
        else:
            run = _run(stage, ctx, key, publish)
            record = {"key": key, "status": run.status, "why": run.why, "detail": run.detail,
                      "files": {name: _stat(out / name) for name in run.files + run.private}}
            manifest["stages"][stage] = record
            _write_manifest(out, manifest)
        ctx.available[stage] = run.available
        runs.append(run)
    _write_manifest(out, manifest)
    return Build(out, runs, manifest)


def _run(stage: str, ctx: _Context, key: str, publish) -> StageRun:
    try:
        public, private = RUNNERS[stage](ctx)
    except NotAvailable as exc:
        # results of an earlier run of this stage no longer describe the study
        for name in read_manifest(ctx.out)["stages"].get(stage, {}).get("files", {}):
            (ctx.out / name).unlink(missing_ok=True)
        return StageRun(stage, "not available", key, exc.why, exc.detail)
    ctx.note("write, and check for personal values")
    written = publish(ctx.out, public, ctx.gate, private=private)
    return StageRun(stage, "done", key, files=tuple(written), private=tuple(f"private/{n}" for n in private))


def _stat(path: Path) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _write_manifest(out: Path, manifest: dict) -> None:
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    tmp.replace(out / MANIFEST)
