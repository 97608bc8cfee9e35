"""Recovery benchmark of the profile search: does it find the planted number of profiles?

Run: ``.venv/bin/python bench/bench_profile_recovery.py [--quick] [--seeds 4] [--resamples 50] [--icl]
[--workers N] [--csv rows.csv]`` (defaults: 52 settings x 4 seeds; ``--quick``: 2 seeds, 104 studies,
about 5 s per study on 2 shared cores, twice the in-process generator's; ``--icl`` adds an in-process search per study;
``--workers``: studies side by side in processes)

Studies are drawn from a grid unlike the committed sample (whose design is fixed: three
profiles, 4-5 items per construct, n = 240):

* planted k = 1..4 profiles with unequal sizes (k = 4: 40/30/20/10%);
* profile shapes the sample does not have, such as *skilled but cautious* (tool skills high,
  guts low) and *bold beginners* (tool skills low, guts high), see :data:`SHAPES`;
* separation from weak to strong (a multiplier of the shapes' offsets, :data:`SEPARATIONS`;
  the table prints the smallest distance between two profile means in within-profile SDs);
* n = 120 and 600 participants;
* constructs uncorrelated (r = 0) or correlated (r = 0.5) within a profile;
* 4, 5 or 6 five-point Likert items per construct (by seed), one or two of them reverse-keyed,
  answered with a personal acquiescence (a tendency to agree) that reverse-keyed items cancel.

Each study goes through the real exports and the real pipeline, as a researcher would run it
(:func:`write_study`): its answers (an independent generator, not :mod:`analysis.simulate`,
whose item set is fixed) are written as a Google Forms or a SurveyMonkey CSV (alternating by
seed; SurveyMonkey with its two header rows, its own columns and e-mail collector), in English
or Dutch ("Helemaal oneens" .. "Helemaal eens", by setting), with statements unlike the
sample's (:data:`STATEMENTS`, negatively worded ones reverse-keyed), an e-mail column (the
participant key) and a session column; beside it a ``study.yaml`` (readiness constructs and
the bench's settings in its ``analysis:`` block: seed, stability resamples, BLRT off as it is
not part of the choice, no omega bootstrap) and a ``codebook.yaml`` (an item block declaring
each statement's construct and reverse keying). :func:`analysis.pipeline.build` runs it up to
the profiles stage, and the bench reads the stored results: the chosen k and the fit table
(``fit.csv``, ``profiles.json``), the assignment (``profiles.csv``) and the construct scores
(``scores.parquet``). Participants are matched to their planted profile by pseudonym: the
planted profiles lie in the study folder's ``truth.json``, keyed by the pseudonym the
pipeline derives from each e-mail with the demo key (as ``analysis simulate`` does; the file
also marks the folder synthetic, which the demo key requires), never in the export or the
results. ``tests/test_recovery_bench.py`` checks that the pipeline's scores equal
:func:`analysis.scales.construct_scores` on the planted keyed codes, in both formats: the
figures are those of the in-process generator (:func:`simulate_scores`) on the same seeds
(all 104 ``--quick`` studies, every rule, measured 2026-12-03).

The rules run on the pipeline's scores in the same run:

``stable BIC``  the suite's rule, as the pipeline chose it: lowest BIC whose every profile is stable
                and apart from every other (Bhattacharyya distance >= ``profiles.MIN_SEPARATION``),
                stepping k down;
``stable ICL``  the same ordered by ICL (``criterion="icl"``; with ``--icl``; the pipeline has no
                criterion setting, so :func:`analysis.profiles.fit_profiles` in-process);
``BIC``         the same fit table, lowest BIC among admissible solutions (the suite's rule before);
``sklearn``     plain ``GaussianMixture`` (full covariances, scikit-learn defaults), k = 1..6 by BIC.

Per setting it prints: planted k found / seeds, the k chosen, ARI with the planted profiles at
the chosen k and at the planted k (best-BIC admissible solution with that many profiles), and
the share of studies whose chosen solution has a profile below Jaccard 0.75 ("unstable", for
``BIC``; the suite's rule only ends on such a solution when none is stable), the verdict on the
number of profiles (``k_verdict`` in ``profiles.json``, :func:`analysis.profiles.k_verdict`: clear,
unclear, none) and the number of wrong choices whose every profile was called stable, by
verdict; then the time per study and the pipeline's share of it. The results keep no fitted
models: the ARI of a solution other than the chosen one (``BIC``'s pick, the planted k) refits
that model in-process on the pipeline's scores and seed (:func:`_solution_labels`), which gives
the same mixture (the test checks it on the chosen one). Not a test: nothing here asserts.
"""


from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from analysis import profiles
from analysis.protect import DEMO_KEY, SYNTHETIC_MARK, pseudonym
from analysis.scales import construct_scores

CONSTRUCTS = ("tool_skills", "focus", "guts")
#: Profile shapes: offsets from the scale midpoint 3 (tool skills, focus, guts), before separation.
SHAPES = {
    "skilled but cautious": (1.0, 0.2, -0.9),
    "bold beginners": (-1.0, -0.3, 0.8),
    "focused planners": (-0.2, 1.0, 0.1),
    "all-round ready": (0.9, 0.8, 1.0),
}
#: Profile shares per planted k (unequal on purpose).
SHARES = {1: (1.0,), 2: (0.65, 0.35), 3: (0.5, 0.3, 0.2), 4: (0.4, 0.3, 0.2, 0.1)}
SEPARATIONS = {"weak": 0.45, "medium": 0.7, "strong": 1.0, "very strong": 1.4}
WITHIN_SD, ITEM_SD, ACQUIESCENCE_SD = 0.35, 0.6, 0.2


def planted_means(k: int, separation: float) -> np.ndarray:
    """Profile means on the 1-5 scale: the first k shapes, scaled by the separation."""
    shapes = np.array(list(SHAPES.values())[:k]) if k > 1 else np.zeros((1, 3))
    return 3.0 + separation * shapes


def min_distance(means: np.ndarray) -> float:
    """Smallest distance between two profile means, in within-profile SDs (inf for one profile)."""
    d = [np.linalg.norm(a - b) for i, a in enumerate(means) for b in means[i + 1:]]
    return float(min(d) / WITHIN_SD) if d else float("inf")


def simulate_codes(k: int, separation: float, n: int, n_items: int, seed: int,
                   correlation: float = 0.0) -> tuple[dict, dict, set, np.ndarray]:
    """Answers of n participants as they tick them, and their planted profile (0..k-1).

    Returns ``items`` (construct -> item names), ``answered`` (item -> codes 1-5 as ticked),
    ``reverse`` (the reverse-keyed item names) and the planted profile of each participant.
    ``correlation``: of the three latent constructs within a profile (people with more tool
    skills tend to have more guts too, whatever their profile).
    """
    rng = np.random.default_rng(seed)
    shares = np.array(SHARES[k])
    profile = rng.choice(k, size=n, p=shares)
    cov = WITHIN_SD**2 * (np.full((3, 3), correlation) + (1 - correlation) * np.eye(3))
    latent = planted_means(k, separation)[profile] + rng.multivariate_normal(np.zeros(3), cov, n)
    agree = rng.normal(0, ACQUIESCENCE_SD, n)
    items, answered, reverse = {}, {}, set()
    for j, construct in enumerate(CONSTRUCTS):
        names = [f"{construct}_{i}" for i in range(n_items)]
        items[construct] = names
        reverse |= set(names[-(1 + (seed + j) % 2):])  # one or two reverse-keyed items
        for name in names:
            keyed = latent[:, j] + rng.normal(0, ITEM_SD, n)
            answered[name] = np.clip(np.rint((6 - keyed if name in reverse else keyed) + agree), 1, 5).astype(int)
    return items, answered, reverse, profile


def keyed_codes(answered: dict, reverse: set) -> pd.DataFrame:
    """The ``<item>_code`` columns as the pipeline should key them (reverse-keyed items as 6 - code)."""
    return pd.DataFrame({f"{name}_code": 6 - codes if name in reverse else codes for name, codes in answered.items()})


def simulate_scores(k: int, separation: float, n: int, n_items: int, seed: int,
                    correlation: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Construct scores of n participants (:func:`analysis.scales.construct_scores` on the keyed codes, no
    export in between) and their planted profile (0..k-1)."""
    items, answered, reverse, profile = simulate_codes(k, separation, n, n_items, seed, correlation)
    data = keyed_codes(answered, reverse).assign(participant=[f"P{i:04d}" for i in range(n)])
    scores = construct_scores(data, items)[list(CONSTRUCTS)]
    return scores, profile


# --- the study as a researcher would hand it to the pipeline ------------------------------

#: Statements per construct, (English, Dutch): agreeing ones, then ones a ready person disagrees with
#: (reverse-keyed). Unlike the sample's (about posting, LinkedIn, blogs).
STATEMENTS = {
    "tool_skills": (
        [("I can schedule posts ahead with a planning tool",
          "Ik kan berichten vooruit inplannen met een planningstool"),
         ("I can make a short video for my followers", "Ik kan een korte video maken voor mijn volgers"),
         ("I can read the statistics of my own page", "Ik kan de statistieken van mijn eigen pagina lezen"),
         ("I know how to tag colleagues in a post", "Ik weet hoe ik collega's tag in een bericht"),
         ("I can change who sees what I share", "Ik kan instellen wie ziet wat ik deel"),
         ("I can start a group for a project", "Ik kan een groep starten voor een project")],
        [("I need help to get an app working", "Ik heb hulp nodig om een app werkend te krijgen"),
         ("Settings and menus of platforms overwhelm me", "Instellingen en menu's van platforms overweldigen me")]),
    "focus": (
        [("I know which audience I want to reach", "Ik weet welk publiek ik wil bereiken"),
         ("I choose my platforms on purpose", "Ik kies mijn platforms bewust"),
         ("I set myself a goal for each post", "Ik stel mezelf een doel voor elk bericht"),
         ("I keep to a weekly time budget online", "Ik houd me aan een vast tijdsbudget per week online"),
         ("I can say what social media bring my work", "Ik kan zeggen wat sociale media mijn werk opleveren"),
         ("I drop channels that do not help me", "Ik stop met kanalen die me niet helpen")],
        [("I scroll without knowing what I am looking for", "Ik scrol zonder te weten wat ik zoek"),
         ("I post whatever comes to mind", "Ik post wat er in me opkomt")]),
    "guts": (
        [("I share unfinished ideas in public", "Ik deel onafgemaakte ideeën in het openbaar"),
         ("I react to experts I do not know", "Ik reageer op experts die ik niet ken"),
         ("I try a new platform when it appears", "Ik probeer een nieuw platform zodra het er is"),
         ("I give my opinion in a heated discussion", "Ik geef mijn mening in een verhitte discussie"),
         ("I post in a language I do not master well", "Ik post in een taal die ik niet goed beheers"),
         ("I ask questions where my manager reads along", "Ik stel vragen waar mijn leidinggevende meeleest")],
        [("I delete posts out of fear of criticism", "Ik verwijder berichten uit angst voor kritiek"),
         ("I only read and never write", "Ik lees alleen en schrijf nooit iets")]),
}
#: Likert labels as the exports write them (codes 1-5).
AGREE = {"en": ("Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"),
         "nl": ("Helemaal oneens", "Oneens", "Neutraal", "Eens", "Helemaal eens")}
PROMPT = {"en": "To what extent do you agree?", "nl": "In hoeverre bent u het eens met de volgende uitspraken?"}
SESSION_QUESTION = {"en": "Which session are you signing up for?", "nl": "Voor welke sessie schrijft u zich in?"}
EMAIL_QUESTION = {"en": "Email address", "nl": "E-mailadres"}
SESSIONS = {"en": [f"Session {i}: {city}, {day} May 2026" for i, (city, day) in
                   enumerate((("Leiden", 4), ("Delft", 6), ("Zwolle", 11), ("Breda", 13), ("Tilburg", 18),
                              ("Almere", 20), ("Haarlem", 25), ("Venlo", 27)), start=1)],
            "nl": [f"Sessie {i} - {city}, {day} mei 2026" for i, (city, day) in
                   enumerate((("Leiden", 4), ("Delft", 6), ("Zwolle", 11), ("Breda", 13), ("Tilburg", 18),
                              ("Almere", 20), ("Haarlem", 25), ("Venlo", 27)), start=1)]}
#: SurveyMonkey's own columns before the questions (its e-mail collector fills ``Email Address``).
MONKEY_META = ("Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
               "First Name", "Last Name", "Custom Data 1")
EXPORT_FORMATS = ("google_forms", "surveymonkey")


def study_design(seed: int) -> tuple[str, str]:
    """Export format (alternating by seed) and language (by setting) of a study."""
    return EXPORT_FORMATS[seed % 2], ("en", "nl")[(seed // 1000 + seed // 10000) % 2]


def _statements(items: dict, reverse: set, language: str) -> dict:
    """Item name -> its statement in ``language``."""
    out = {}
    for construct, names in items.items():
        agreeing, disagreeing = STATEMENTS[construct]
        lang = 0 if language == "en" else 1
        plain = iter(agreeing)
        negative = iter(disagreeing)
        for name in names:
            out[name] = next(negative if name in reverse else plain)[lang]
    return out


def _csv(rows: list[list[str]], bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" if bom else "").encode() + buf.getvalue().encode()


def write_study(folder, k: int, separation: float, n: int, n_items: int, seed: int, correlation: float = 0.0,
                fmt: str | None = None, language: str | None = None, settings: dict | None = None) -> dict:
    """Write one study of the grid as a researcher hands it to the pipeline: export, study file, codebook.

    The pre-wave export (``fmt``: Google Forms or SurveyMonkey, default by seed) holds an e-mail
    column (the participant key), a session column and the readiness statements as ticked, with
    text labels in ``language`` (default by setting). ``study.yaml`` declares the readiness
    constructs and the bench's settings (``settings``: the ``analysis:`` block, such as resamples);
    ``codebook.yaml`` the items, their constructs and reverse keying. The planted profile of each
    participant goes to ``truth.json`` beside them, keyed by pseudonym (as ``analysis simulate``
    writes it; it also marks the folder synthetic, which the demo pseudonym key requires) -- never
    into the export.

    Returns
    -------
    dict
        ``study`` (the study file), ``items``, ``keyed`` (the item codes as they should be
        keyed, in export row order), ``emails``, ``profile`` (planted, in export row order),
        ``format``, ``language``.
    """
    folder = Path(folder)
    (folder / "raw").mkdir(parents=True, exist_ok=True)
    auto_fmt, auto_language = study_design(seed)
    fmt, language = fmt or auto_fmt, language or auto_language
    items, answered, reverse, profile = simulate_codes(k, separation, n, n_items, seed, correlation)
    rng = np.random.default_rng([seed, 17])  # the rest of the export: its own generator
    names = [name for construct in CONSTRUCTS for name in items[construct]]
    order = rng.permutation(len(names))  # statements shuffled in the grid, as forms often do
    names = [names[i] for i in order]
    text = _statements(items, reverse, language)
    labels = AGREE[language]
    sessions = SESSIONS[language]
    session = rng.integers(len(sessions), size=n)
    emails = [f"deelnemer{i:04d}.{seed}@bench.example.org" if language == "nl" else
              f"participant{i:04d}.{seed}@bench.example.org" for i in range(n)]
    start = dt.datetime(2026, 4, 20, 8, 0) + pd.to_timedelta(np.sort(rng.integers(0, 14 * 86400, n)), unit="s")
    answers = [[labels[answered[name][i] - 1] for name in names] for i in range(n)]
    if fmt == "google_forms":
        pattern = f"{PROMPT[language]} [{{item}}]"
        header = ["Timestamp", EMAIL_QUESTION[language], SESSION_QUESTION[language]]
        header += [pattern.format(item=text[name]) for name in names]
        rows = [[f"{t.month}/{t.day}/{t.year} {t.hour}:{t:%M:%S}", emails[i], sessions[session[i]]] + answers[i]
                for i, t in enumerate(start)]
        data = _csv([header] + rows)
        email_match, time_match = EMAIL_QUESTION[language], "Timestamp"
    elif fmt == "surveymonkey":
        pattern = f"{PROMPT[language]} - {{item}}"
        top = list(MONKEY_META) + [SESSION_QUESTION[language], PROMPT[language]] + [""] * (len(names) - 1)
        sub = [""] * len(MONKEY_META) + ["Response"] + [text[name] for name in names]
        rows = []
        for i, t in enumerate(start):
            end = t + dt.timedelta(seconds=int(rng.integers(60, 600)))
            rows.append([str(11400000000 + 7 * i), "405123987", f"{t:%m/%d/%Y %I:%M:%S %p}",
                         f"{end:%m/%d/%Y %I:%M:%S %p}",
                         f"145.{rng.integers(1, 255)}.{rng.integers(1, 255)}.{rng.integers(1, 255)}", emails[i], "", "",
                         "", sessions[session[i]]] + answers[i])
        data = _csv([top, sub] + rows, bom=True)
        email_match, time_match = "Email Address", "End Date"
    else:
        raise ValueError(f"fmt must be one of {EXPORT_FORMATS}; got {fmt!r}")
    export = f"raw/pre_{fmt}.csv"
    (folder / export).write_bytes(data)
    nl = language == "nl"
    codebook = {
        "version": 1,
        "scales": {"agree5": {"levels": [{"code": c, "en": en, "nl": nl_}
                                         for c, (en, nl_) in enumerate(zip(AGREE["en"], AGREE["nl"]), start=1)]}},
        "constructs": {"tool_skills": {"label": {"en": "tool skills", "nl": "vaardigheid met de tools"}},
                       "focus": {"label": {"en": "focus", "nl": "focus"}},
                       "guts": {"label": {"en": "guts", "nl": "durf"}}},
        "variables": {
            "submitted": {"role": "timestamp", "waves": ["pre"], "match": {"text": [time_match]}},
            "email": {"role": "identifier", "pii": True, "waves": ["pre"], "match": {"text": [email_match]}},
            "session": {"role": "group", "waves": ["pre"], "match": {"text": [SESSION_QUESTION[language]]}},
            "readiness_grid": {"pattern": pattern, "role": "item", "scale": "agree5", "waves": ["pre"],
                               "items": {name: {"text": text[name], "construct": name.rsplit("_", 1)[0],
                                                "reverse": name in reverse} for name in names}},
        },
    }
    study = {
        "study": f"Recovery bench study {seed} ({'Dutch' if nl else 'English'}, {fmt})",
        "codebook": "codebook.yaml",
        "participant_key": "email",
        "pseudonym_key": "demo",
        "sources": [{"path": export, "wave": "pre", "format": fmt}],
        "waves": ["pre"],
        "groups": {"workshop": "session"},
        "analysis": {"readiness": list(CONSTRUCTS), "seed": int(seed), **(settings or {})},
    }
    for name, content in (("study.yaml", study), ("codebook.yaml", codebook)):
        (folder / name).write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True, width=120),
                                   encoding="utf-8")
    truth = {"seed": int(seed), "k": k, "profiles": {pseudonym(e, DEMO_KEY): int(p) for e, p in zip(emails, profile)}}
    (folder / SYNTHETIC_MARK).write_text(json.dumps(truth), encoding="utf-8")
    keyed = keyed_codes(answered, reverse)
    return {"study": folder / "study.yaml", "items": items, "keyed": keyed, "emails": emails, "profile": profile,
            "format": fmt, "language": language}


def planted_profiles(folder) -> pd.Series:
    """The planted profile (0..k-1) of each pseudonymised participant, from the study's ``truth.json``."""
    truth = json.loads((Path(folder) / SYNTHETIC_MARK).read_text(encoding="utf-8"))
    return pd.Series(truth["profiles"], name="planted")


def plain_bic(x: np.ndarray, seed: int, k_max: int = 6) -> np.ndarray:
    """Hard labels of scikit-learn's GaussianMixture (defaults) with the lowest BIC over k = 1..k_max."""
    best, labels = np.inf, None
    with threadpool_limits(1):
        for k in range(1, k_max + 1):
            gm = GaussianMixture(n_components=k, random_state=seed).fit(x)
            bic = gm.bic(x)
            if bic < best:
                best, labels = bic, gm.predict(x)
    return labels


def _ari(truth, labels) -> float:
    if len(set(truth)) == 1 and len(set(labels)) == 1:
        return 1.0
    return float(adjusted_rand_score(truth, labels))


RULES = ("stable BIC", "stable ICL", "BIC", "sklearn")


def _solution_labels(scores: pd.DataFrame, model: str, k: int, seed: int) -> pd.Series:
    """Hard labels of one solution of the fit table, refitted in-process on the pipeline's scores.

    The results keep no fitted models: :func:`analysis.profiles.fit_profiles` with just that
    covariance structure, k = 1..k, the pipeline's seed and starts and no stability checks
    (``resamples=0``) fits the same mixture (each model and k is fitted on its own, seeded). From
    k = 1, not k alone: a fit of one inadmissible solution leaves the rule nothing to choose.
    """
    one = profiles.fit_profiles(scores, constructs=list(CONSTRUCTS), k_min=1, k_max=k, covariance_types=[model],
                                seed=seed, resamples=0, blrt_reps=0, progress=False)
    return pd.Series(one.models[(model, k)].predict(one.scores.to_numpy()), index=one.scores.index)


def pipeline_study(folder, k: int, sep_name: str, n: int, r: float, seed: int, resamples: int) -> dict:
    """Write one study into ``folder``, run the pipeline up to the profiles stage, read back its results.

    Returns the stored ``fit`` table, ``scores`` (baseline construct scores), ``labels`` (the chosen
    profile per participant, from ``profiles.csv``), ``info`` (``profiles.json``), ``truth`` (planted
    profile per participant, matched by pseudonym) and ``seconds`` (pipeline time).
    """
    from analysis.pipeline import build

    folder = Path(folder)
    settings = {"resamples": resamples, "blrt_reps": 0, "n_boot": 0}
    written = write_study(folder / "study", k, SEPARATIONS.get(sep_name, 0.0), n, 4 + seed % 3, seed, r,
                          settings=settings)
    out = folder / "results"
    start = time.perf_counter()
    run = build(written["study"], out, until="profiles", progress=False)
    seconds = time.perf_counter() - start
    if not run.run("profiles").available:
        raise RuntimeError(f"study {seed}: profiles not available ({run.run('profiles').why})")
    scores = pd.read_parquet(out / "scores.parquet")
    scores = scores[scores["wave"] == "pre"].set_index("participant")[list(CONSTRUCTS)].astype(float)
    labels = pd.read_csv(out / "profiles.csv").set_index("participant")["profile"]
    truth = planted_profiles(folder / "study").reindex(scores.index)
    if truth.isna().any():
        raise RuntimeError(f"study {seed}: {int(truth.isna().sum())} participants not matched to a planted profile")
    return {"fit": pd.read_csv(out / "fit.csv"), "scores": scores, "labels": labels.reindex(scores.index),
            "info": json.loads((out / "profiles.json").read_text(encoding="utf-8")), "truth": truth.astype(int),
            "seconds": seconds, "format": written["format"], "language": written["language"]}


def one_study(k: int, sep_name: str, n: int, r: float, seed: int, resamples: int, icl: bool = False) -> dict:
    """One study of the grid through the exports and the pipeline, judged by every rule."""
    began = time.perf_counter()
    n_items = 4 + seed % 3
    out = {"k": k, "separation": sep_name, "n": n, "r": r, "seed": seed, "items": n_items}
    with tempfile.TemporaryDirectory(prefix="recovery-") as tmp:
        got = pipeline_study(tmp, k, sep_name, n, r, seed, resamples)
    fit, scores, truth = got["fit"], got["scores"], got["truth"].to_numpy()
    out.update(format=got["format"], language=got["language"], excluded=n - len(scores))
    labels = {}

    def labels_of(row) -> np.ndarray:
        key = (str(row["model"]), int(row["k"]))
        if key not in labels:
            labels[key] = _solution_labels(scores, *key, seed).to_numpy()
        return labels[key]

    chosen = fit[fit["chosen"]].iloc[0]
    assert int(chosen["k"]) == got["info"]["k"] and str(chosen["model"]) == got["info"]["covariance_type"]
    labels[(str(chosen["model"]), int(chosen["k"]))] = got["labels"].to_numpy()  # as stored in profiles.csv
    out["stable BIC k"] = int(chosen["k"])
    out["stable BIC ARI"] = _ari(truth, labels_of(chosen))
    out["stable BIC unstable"] = bool(chosen["jaccard_min"] < profiles.STABLE_JACCARD)
    out["stable BIC verdict"] = got["info"]["k_verdict"]
    admissible = fit[fit["converged"] & ~fit["small_profile"]]
    top = admissible.loc[admissible["bic"].idxmin()]  # always judged first
    out["BIC k"], out["BIC ARI"] = int(top["k"]), _ari(truth, labels_of(top))
    out["BIC unstable"] = bool(top["jaccard_min"] < profiles.STABLE_JACCARD)
    at_k = admissible[admissible["k"] == k] if (admissible["k"] == k).any() else fit[fit["k"] == k]
    out["planted ARI"] = _ari(truth, labels_of(at_k.loc[at_k["bic"].idxmin()]))
    if icl:  # the pipeline has no criterion setting: the same search ordered by ICL, in-process, on its scores
        result = profiles.fit_profiles(scores, constructs=list(CONSTRUCTS), seed=seed, blrt_reps=0,
                                       resamples=resamples, criterion="icl", progress=False)
        pick = result.fit[result.fit["chosen"]].iloc[0]
        out["stable ICL k"] = int(pick["k"])
        out["stable ICL ARI"] = _ari(truth, result.label.cat.codes.to_numpy())
        out["stable ICL unstable"] = bool(pick["jaccard_min"] < profiles.STABLE_JACCARD)
        out["stable ICL verdict"] = profiles.k_verdict(result.fit)
    sk = plain_bic(scores.to_numpy(), seed)
    out["sklearn k"], out["sklearn ARI"] = int(len(set(sk))), _ari(truth, sk)
    out["pipeline s"], out["seconds"] = got["seconds"], time.perf_counter() - began
    return out


def _one(args) -> dict:
    row = one_study(*args)
    print(f"  k {row['k']}, {row['separation']}, n {row['n']}, r {row['r']}, seed {row['seed']} ({row['format']}, "
          f"{row['language']}): stable BIC k {row['stable BIC k']}, {row['seconds']:.1f} s",
          file=sys.stderr, flush=True)
    return row


def _ks(values) -> str:
    return " ".join(f"{k}:{c}" for k, c in sorted(Counter(values).items()))


def table(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per setting: planted k found / seeds and mean ARI at the chosen k per rule, and more."""
    out = []
    for (k, sep, n, r), g in rows.groupby(["k", "separation", "n", "r"], sort=False):
        line = {"k": k, "sep": sep, "dist": round(min_distance(planted_means(k, SEPARATIONS.get(sep, 0.0))), 1),
                "n": n, "r": r}
        for rule in [r for r in RULES if f"{r} k" in g]:
            line[f"{rule} found"] = f"{int((g[f'{rule} k'] == k).sum())}/{len(g)}"
            line[f"{rule} ARI"] = round(g[f"{rule} ARI"].mean(), 2)
        line["ARI planted k"] = round(g["planted ARI"].mean(), 2)
        line["stable BIC k"] = _ks(g["stable BIC k"])
        if "stable ICL k" in g:
            line["stable ICL k"] = _ks(g["stable ICL k"])
        line["BIC unstable"] = f"{g['BIC unstable'].mean():.0%}"
        line["verdict"] = _ks(g["stable BIC verdict"])
        out.append(line)
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help="studies per setting (default 4)")
    parser.add_argument("--quick", action="store_true", help="2 seeds per setting")
    parser.add_argument("--resamples", type=int, default=50, help="stability resamples per check (default 50)")
    parser.add_argument("--icl", action="store_true", help="also the rule ordered by ICL (doubles the time)")
    parser.add_argument("--csv", help="also write one row per study here")
    parser.add_argument("--workers", type=int, default=1, help="studies run side by side in processes (default 1)")
    args = parser.parse_args()
    seeds = 2 if args.quick else args.seeds
    sizes = (120, 600)
    correlations = (0.0, 0.5)
    settings = [(1, "none", n, r) for r in correlations for n in sizes]
    settings += [(k, sep, n, r) for r in correlations for k in (2, 3, 4) for sep in SEPARATIONS for n in sizes]

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"{len(settings)} settings x {seeds} seeds; stability resamples {args.resamples}; "
          f"within-profile SD {WITHIN_SD}, item SD {ITEM_SD}, acquiescence SD {ACQUIESCENCE_SD}")
    print(f"each study: a {' or '.join(EXPORT_FORMATS)} export (by seed), English or Dutch (by setting), through "
          f"analysis.pipeline.build(until='profiles'); workers {args.workers}")
    jobs = []
    for k, sep, n, r in settings:
        for seed in range(1, seeds + 1):
            offset = list(SEPARATIONS).index(sep) + 1 if sep in SEPARATIONS else 0
            jobs.append((k, sep, n, r, 10000 * k + 1000 * offset + 10 * int(10 * r) + seed, args.resamples, args.icl))
    start = time.perf_counter()
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as pool:
            rows = list(pool.map(_one, jobs))
    else:
        rows = [_one(job) for job in jobs]
    rows = pd.DataFrame(rows)
    elapsed = time.perf_counter() - start
    if args.csv:
        rows.to_csv(args.csv, index=False)
    with pd.option_context("display.width", 300, "display.max_columns", 40):
        print(table(rows).to_string(index=False))
    good = rows[rows["separation"].isin(["strong", "very strong"]) | (rows["k"] == 1)]
    medium = rows[rows["separation"] == "medium"]
    weak = rows[rows["separation"] == "weak"]
    for label, part in (("good separation (strong, very strong; and k = 1)", good), ("medium separation", medium),
                        ("weak separation", weak)):
        rules = [rule for rule in RULES if f"{rule} k" in part]
        found = ", ".join(f"{rule} {int((part[f'{rule} k'] == part['k']).sum())}/{len(part)}" for rule in rules)
        ari = ", ".join(f"{rule} {part[f'{rule} ARI'].mean():.2f}" for rule in rules)
        print(f"{label}: planted k found by {found}; mean ARI at the chosen k: {ari}")
        for rule in [r for r in ("stable BIC", "stable ICL") if f"{r} k" in part]:
            wrong = part[(part[f"{rule} k"] != part["k"]) & ~part[f"{rule} unstable"]]
            print(f"  {rule}: wrong k with every profile called stable {len(wrong)}/{len(part)} "
                  f"({int((wrong[f'{rule} k'] > wrong['k']).sum())} too many, {int((wrong[f'{rule} k'] < wrong['k']).sum())} too few)")
            said = wrong[f"{rule} verdict"].value_counts()
            print(f"    of those, the number called clear {said.get('clear', 0)}, not clear (profiles overlap) "
                  f"{said.get('unclear', 0)}, no distinct profiles found (k = 1) {said.get('none', 0)}; "
                  f"right k called clear {int(((part[f'{rule} k'] == part['k']) & (part[f'{rule} verdict'] == 'clear')).sum())}")
    for fmt, part in rows.groupby("format"):
        print(f"{fmt} exports: {len(part)} studies, planted k found by stable BIC {int((part['stable BIC k'] == part['k']).sum())}"
              f"/{len(part)}, participants set aside by the cleaning {int(part['excluded'].sum())}")
    per = rows["seconds"]
    print(f"time: {elapsed:.0f} s for {len(rows)} studies ({elapsed / len(rows):.1f} s per study with {args.workers} "
          f"worker(s); per study {per.mean():.1f} s, of which the pipeline {rows['pipeline s'].mean():.1f} s "
          f"({rows['pipeline s'].sum() / per.sum():.0%}); n = 120: {per[rows['n'] == 120].mean():.1f} s, "
          f"n = 600: {per[rows['n'] == 600].mean():.1f} s)")


if __name__ == "__main__":
    main()
