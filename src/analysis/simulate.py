"""Synthetic workshop study with planted truth (not a pipeline stage).

Writes what a researcher would bring: three raw exports in the formats real
survey tools produce, a study file, a codebook, and ``truth.json`` with each
participant's planted readiness profile and the planted entry-point effects.
Only tests and checks read ``truth.json``.

The generating model
--------------------
* Workshop sessions alternate strategy-first / tool-first; entry point is
  assigned per session.
* Each participant belongs to one of three readiness profiles with its own
  means on the latent constructs tool skills, focus and guts (1-5 scale), plus
  a personal deviation (sd ``within_sd``).
* Pre-survey items are the latent construct plus item noise, rounded to a
  five-point Likert code; reverse-keyed items are mirrored (6 - code).
* A person's *benefit* from the workshop is ``+effect/2`` in tool-first and
  ``-effect/2`` in strategy-first, with ``effect`` depending on the profile
  (the planted interaction), plus a session effect and personal noise. Post
  confidence, intention and satisfaction and follow-up adoption all rise with
  benefit and with baseline readiness.
* ``truth.json`` states the effects on the latent scale and, computed by Monte
  Carlo from the same model, on the observed scale each outcome is coded on
  (mean difference of item codes; risk difference for adoption).

Examples
--------
>>> import tempfile
>>> out = simulate_study(tempfile.mkdtemp(), seed=3, design=Design(n_participants=60))
>>> sorted(p.name for p in out.iterdir())  # doctest: +NORMALIZE_WHITESPACE
['codebook.yaml', 'raw', 'study.yaml', 'truth.json']
"""

from __future__ import annotations

import csv
import datetime as dt
import io as _io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from analysis.protect import DEMO_KEY, pseudonym

# --- the study's content ------------------------------------------------------

CONSTRUCTS = ("tool_skills", "focus", "guts")

#: strategy key -> (English, Dutch) wording used in questions.
STRATEGIES = {
    "cooperation": ("cooperation and collaboration", "samenwerken"),
    "branding": ("personal branding", "persoonlijke profilering"),
    "conversations": ("online conversations with peer professionals",
                      "online gesprekken met vakgenoten"),
    "networking": ("networking", "netwerken"),
    "scanning": ("information processing and scanning", "informatie verwerken en scannen"),
}
_STRATEGY_OFFSET = {"cooperation": 0.1, "branding": -0.2, "conversations": 0.0,
                    "networking": 0.2, "scanning": -0.1}

#: (variable, construct, reverse-keyed, statement) of the pre-survey readiness grid.
READINESS_ITEMS = (
    ("ts_twitter", "tool_skills", False, "I know how to post a message on Twitter that others can see"),
    ("ts_linkedin", "tool_skills", False, "I can set up and update my LinkedIn profile"),
    ("ts_blog", "tool_skills", False, "I can write and publish a blog post"),
    ("ts_follow", "tool_skills", False, "I can find and follow relevant people on a social platform"),
    ("ts_confused", "tool_skills", True, "Social media tools confuse me"),
    ("fo_goal", "focus", False, "I know what I want to achieve with social media in my work"),
    ("fo_select", "focus", False, "I can pick the online activities that matter for my professional goals"),
    ("fo_plan", "focus", False, "I plan the time I spend on professional social media"),
    ("fo_lost", "focus", True, "I get lost in my timeline and forget why I opened it"),
    ("gu_new", "guts", False, "I dare to try a new online medium before I know it well"),
    ("gu_opinion", "guts", False, "I am comfortable posting my own opinion where colleagues can read it"),
    ("gu_experiment", "guts", False, "I like experimenting with new apps and platforms"),
    ("gu_hesitate", "guts", True, "I hesitate to post because I fear making mistakes in public"),
)

AGREE5 = (("Strongly disagree", "Helemaal mee oneens"), ("Disagree", "Mee oneens"),
          ("Neutral", "Neutraal"), ("Agree", "Mee eens"), ("Strongly agree", "Helemaal mee eens"))
SATISFACTION5 = (("Very dissatisfied", "Zeer ontevreden"), ("Dissatisfied", "Ontevreden"),
                 ("Neutral", "Neutraal"), ("Satisfied", "Tevreden"), ("Very satisfied", "Zeer tevreden"))
YESNO = (("No", "Nee"), ("Yes", "Ja"))

# Question wording per export (kept here so exports and codebook never disagree).
Q_PRE_GRID = "How much do you agree with each statement? [{}]"
Q_PRE_CONF = "I feel confident using social media for... [{}]"
Q_POST_CONF = "Ik voel me zeker in het gebruik van sociale media voor... - {}"
Q_POST_INT = "Ik ben van plan de komende maand sociale media te gebruiken voor... - {}"
Q_FOLLOW_ADOPT = "Since the workshop, have you used social media for {} in your work?"
Q_EMAIL = {"pre": "Email address", "post": "Wat is uw e-mailadres?",
           "followup": "What is the email address you used at the workshop?"}
Q_NAME = "Full name"
Q_WORKSHOP = "Which workshop session do you attend?"
Q_CONSENT = "I agree that my answers are used, without my name, for research on this workshop."
Q_SATISFACTION = "Hoe tevreden bent u over deze workshop?"
Q_REFLECTION = "Wat neemt u mee uit deze workshop? U mag in het Nederlands of Engels antwoorden."
Q_FOLLOW_COMMENT = "Anything else you would like to tell the trainers?"

QUALTRICS_META_TEXT = ("Start Date", "End Date", "Response Type", "IP Address", "Progress",
                       "Duration (in seconds)", "Finished", "Recorded Date", "Response ID",
                       "Recipient Last Name", "Recipient First Name", "Recipient Email",
                       "External Data Reference", "Location Latitude", "Location Longitude",
                       "Distribution Channel", "User Language")
QUALTRICS_META = ("StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)",
                  "Finished", "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName",
                  "RecipientEmail", "ExternalReference", "LocationLatitude", "LocationLongitude",
                  "DistributionChannel", "UserLanguage")
MSFORMS_META = ("ID", "Start time", "Completion time", "Email", "Name", "Last modified time")

_FIRST = ("Jan", "Sanne", "Pieter", "Anouk", "Daan", "Femke", "Lucas", "Lotte", "Bram", "Eva",
          "Thijs", "Noor", "Sem", "Iris", "Ruben", "Fleur", "Joost", "Maaike", "Koen", "Esther",
          "Emily", "James", "Olivia", "Thomas", "Sophie", "Daniel", "Hannah", "Oliver", "Grace",
          "Samuel", "Chloe", "Henry", "Amira", "Youssef", "Fatima", "Mehmet", "Priya", "Wei",
          "Lina", "Mateo")
_LAST = ("de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
         "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
         "Brouwer", "de Wit", "Dijkstra", "Smits", "Brown", "Taylor", "Wilson", "Evans", "Walker",
         "Wright", "Hughes", "Green", "Clarke", "Hall", "Yilmaz", "El Amrani", "Patel", "Chen",
         "Kowalski", "Novak", "Rossi", "Garcia", "Nguyen", "Haddad")
_DOMAINS = ("hu.example.nl", "uu.example.nl", "school.example.org", "gemeente.example.nl",
            "zorg.example.com", "mail.example.com")

_REFLECTIONS_EN = (
    "I finally understand how to use LinkedIn for networking.",
    "The hands-on part with Twitter went a bit fast for me.",
    "Starting from the strategies helped me see why I would use these tools at all.",
    "I will set aside ten minutes a day to scan what my peers share.",
    "Thanks to {name} for the tips on personal branding!",
    "Mail me at {email} if you want to keep the conversation going.",
    "Follow me at {handle} - I will share my first blog post there.",
    "Call me on {phone} to plan a follow-up session.",
    "Great session, {name_lower} and I are starting a reading group.",
)
_REFLECTIONS_NL = (
    "Ik weet nu hoe ik een blog kan starten.",
    "Het praktische deel met Twitter ging voor mij te snel.",
    "Door met de strategieen te beginnen snap ik waarom ik dit zou doen.",
    "Ik ga vaker lezen wat vakgenoten delen om bij te blijven.",
    "Bedankt {name} voor de hulp met LinkedIn!",
    "Mail me gerust op {email} voor een vervolg.",
    "Volg mij op {handle}, daar deel ik mijn eerste stappen.",
    "Bel me op {phone} als je wilt sparren.",
    "Samen met {name_lower} ga ik een netwerkgroep opzetten.",
)
_INJECTIONS = ("<script>alert('reflection')</script> nice workshop",
               "=HYPERLINK(\"http://evil.example\",\"click\")",
               "<img src=x onerror=alert(1)> leuk")


@dataclass(frozen=True)
class Profile:
    """One planted readiness profile."""

    name: str
    means: dict
    share: float
    #: Planted entry-point effect on benefit: tool-first minus strategy-first.
    effect: float


PROFILES = (
    Profile("new to the tools", {"tool_skills": 1.8, "focus": 2.6, "guts": 1.9}, 0.35, 0.8),
    Profile("focused but tool-shy", {"tool_skills": 2.4, "focus": 4.2, "guts": 2.8}, 0.30, 0.4),
    Profile("confident explorers", {"tool_skills": 4.2, "focus": 3.4, "guts": 4.2}, 0.35, -0.6),
)

SESSIONS = (
    ("Utrecht, 3 March 2026", "strategy-first", dt.date(2026, 3, 3)),
    ("Amsterdam, 10 March 2026", "tool-first", dt.date(2026, 3, 10)),
    ("Rotterdam, 17 March 2026", "strategy-first", dt.date(2026, 3, 17)),
    ("Eindhoven, 24 March 2026", "tool-first", dt.date(2026, 3, 24)),
    ("Groningen, 31 March 2026", "strategy-first", dt.date(2026, 3, 31)),
    ("Arnhem, 7 April 2026", "tool-first", dt.date(2026, 4, 7)),
)


@dataclass(frozen=True)
class Design:
    """Knobs of the generating model; the defaults make the committed sample.

    ``separation`` scales the distance of profile means from their grand mean
    (1 = the sample; smaller = harder to tell apart). ``effect_scale``
    multiplies every planted entry-point effect (0 = no true effect).
    """

    n_participants: int = 240
    separation: float = 1.0
    effect_scale: float = 1.0
    within_sd: float = 0.35
    item_sd: float = 0.6
    outcome_sd: float = 0.55
    benefit_sd: float = 0.35
    session_sd: float = 0.12
    followup_share: float = 0.6
    post_share: float = 0.93
    profiles: tuple = field(default=PROFILES)
    dirty: bool = True


# --- the generating model ------------------------------------------------------

def _likert(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 1, 5).astype(int)


def _readiness(latent: np.ndarray) -> np.ndarray:
    """Baseline readiness on the 1-5 scale from the three latent constructs."""
    return 0.5 + latent @ np.array([0.3, 0.3, 0.25])


def _outcomes(latent: np.ndarray, benefit: np.ndarray, sd: float,
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Observed codes of every outcome, given latent readiness and benefit."""
    n = len(benefit)
    r = _readiness(latent)
    out: dict[str, np.ndarray] = {}
    for s, off in _STRATEGY_OFFSET.items():
        out[f"pre_conf_{s}"] = _likert(r + off + rng.normal(0, sd, n))
        out[f"post_conf_{s}"] = _likert(r + 0.5 + benefit + off + rng.normal(0, sd, n))
        out[f"post_int_{s}"] = _likert(r + 0.3 + benefit + off + rng.normal(0, sd, n))
        logit = -0.4 + 0.8 * (r - 2.7) + 1.5 * benefit + 0.5 * off
        out[f"adopt_{s}"] = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    out["satisfaction"] = _likert(3.5 + 0.1 * (r - 2.7) + 0.9 * benefit + rng.normal(0, 0.7, n))
    return out


def _profile_means(design: Design) -> np.ndarray:
    means = np.array([[p.means[c] for c in CONSTRUCTS] for p in design.profiles])
    grand = means.mean(axis=0)
    return grand + design.separation * (means - grand)


def _arm_sign(entry_point) -> np.ndarray:
    return np.where(np.asarray(entry_point) == "tool-first", 0.5, -0.5)


def planted_effects(design: Design, n_draws: int = 200_000, seed: int = 20260301) -> dict:
    """Population entry-point effects (tool-first minus strategy-first).

    Monte Carlo over the generating model with common random numbers: each
    draw is scored under both entry points. Session effects are drawn too, so
    the values are averages over sessions.

    Returns
    -------
    dict
        ``latent``: planted effect on benefit per profile; ``observed``:
        outcome -> profile (and ``"all"``) -> effect on the coded scale;
        ``interaction``: differences between profiles on the observed scale.
    """
    rng = np.random.default_rng(seed)
    means = _profile_means(design)
    shares = np.array([p.share for p in design.profiles])
    observed: dict[str, dict[str, float]] = {}
    per_profile = []
    for k, prof in enumerate(design.profiles):
        latent = means[k] + rng.normal(0, design.within_sd, (n_draws, 3))
        noise = rng.normal(0, design.benefit_sd, n_draws) + rng.normal(0, design.session_sd, n_draws)
        effect = prof.effect * design.effect_scale
        state = rng.bit_generator.state
        arms = {}
        for arm, sign in (("tool-first", 0.5), ("strategy-first", -0.5)):
            rng.bit_generator.state = state  # same outcome noise in both arms
            arms[arm] = _outcomes(latent, sign * effect + noise, design.outcome_sd, rng)
        diffs = {v: float(arms["tool-first"][v].mean() - arms["strategy-first"][v].mean())
                 for v in arms["tool-first"] if not v.startswith("pre_")}
        for composite, prefix in (("confidence", "post_conf_"), ("intention", "post_int_"),
                                  ("adoption", "adopt_")):
            diffs[composite] = float(np.mean([d for v, d in diffs.items() if v.startswith(prefix)]))
        per_profile.append(diffs)
    for v in per_profile[0]:
        observed[v] = {p.name: round(d[v], 4) for p, d in zip(design.profiles, per_profile)}
        observed[v]["all"] = round(float(sum(s * d[v] for s, d in zip(shares, per_profile))), 4)
    names = [p.name for p in design.profiles]
    interaction = {v: {f"{a} minus {b}": round(observed[v][a] - observed[v][b], 4)
                       for i, a in enumerate(names) for b in names[i + 1:]}
                   for v in ("confidence", "intention", "satisfaction", "adoption")}
    return {
        "contrast": "tool-first minus strategy-first",
        "latent": {p.name: round(p.effect * design.effect_scale, 4) for p in design.profiles},
        "observed": observed,
        "interaction": interaction,
        "method": f"Monte Carlo, {n_draws} draws per profile and arm, common random numbers",
    }


# --- people ---------------------------------------------------------------------

def _names(n: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``n`` different (first, last) names; past the first-by-last pairs, first names get initials."""
    pairs = [(f, l) for f in _FIRST for l in _LAST]
    if n <= len(pairs):
        order = rng.permutation(len(pairs))[:n]
        return [pairs[i] for i in order]
    rounds = -(-n // len(pairs))
    order = rng.permutation(len(pairs) * rounds)[:n]
    return [(_with_initials(pairs[i % len(pairs)][0], i // len(pairs)), pairs[i % len(pairs)][1]) for i in order]


def _with_initials(first: str, round_: int) -> str:
    """``first`` in round 0; then ``first A.``, ..., ``first Z.``, ``first A.A.``...: a new name per round."""
    letters = ""
    while round_:
        round_, k = divmod(round_ - 1, 26)
        letters = chr(ord("A") + k) + "." + letters
    return f"{first} {letters}" if letters else first


def _email(first: str, last: str, domain: str) -> str:
    local = ".".join(part for part in re.split(r"[ .]+", first) if part)
    return f"{local}.{last.replace(' ', '')}@{domain}".lower()


def _session_sizes(n: int, rng: np.random.Generator) -> np.ndarray:
    sizes = np.full(len(SESSIONS), n // len(SESSIONS))
    sizes[: n % len(SESSIONS)] += 1
    jitter = rng.integers(-3, 4, size=len(SESSIONS) // 2)
    sizes[0::2] += jitter
    sizes[1::2] -= jitter
    return sizes


def _timestamp(day: dt.date, rng: np.random.Generator, hours=(8, 22)) -> dt.datetime:
    seconds = int(rng.integers(hours[0] * 3600, hours[1] * 3600))
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)


def _people(design: Design, rng: np.random.Generator) -> dict:
    n = design.n_participants
    sizes = _session_sizes(n, rng)
    session = np.repeat(np.arange(len(SESSIONS)), sizes)
    shares = np.array([p.share for p in design.profiles])
    profile = rng.choice(len(design.profiles), size=n, p=shares / shares.sum())
    latent = _profile_means(design)[profile] + rng.normal(0, design.within_sd, (n, 3))
    entry = np.array([SESSIONS[s][1] for s in session])
    session_effect = rng.normal(0, design.session_sd, len(SESSIONS))
    effect = np.array([design.profiles[k].effect for k in profile]) * design.effect_scale
    benefit = _arm_sign(entry) * effect + session_effect[session] + rng.normal(0, design.benefit_sd, n)
    names = _names(n, rng)
    domains = rng.choice(len(_DOMAINS), size=n)
    return {
        "n": n, "session": session, "profile": profile, "latent": latent, "entry": entry,
        "benefit": benefit, "names": names,
        "email": [_email(f, l, _DOMAINS[d]) for (f, l), d in zip(names, domains)],
        "outcomes": _outcomes(latent, benefit, design.outcome_sd, rng),
        "items": _readiness_items(latent, design, rng),
        "post": rng.random(n) < design.post_share,
        "followup": rng.random(n) < design.followup_share,
    }


def _readiness_items(latent: np.ndarray, design: Design, rng) -> dict[str, np.ndarray]:
    items = {}
    for var, construct, reverse, _ in READINESS_ITEMS:
        x = latent[:, CONSTRUCTS.index(construct)] + rng.normal(0, design.item_sd, len(latent))
        code = _likert(x)
        items[var] = 6 - code if reverse else code
    return items


# --- dirt -----------------------------------------------------------------------

def _label_variant(label: str, code: int, rng) -> str:
    kind = int(rng.integers(5))
    return (label.lower(), label.upper(), f"  {label} ", f"{code} - {label}",
            label.replace(" ", "  ") if " " in label else f"{label} ")[kind]


def _free_text(person: int, people: dict, language: str, rng, canary: bool) -> tuple[str, int]:
    """A personal sentence (canary) and which template it is; without canary only the draw is made
    (the planted reflections have their own generator, the draw keeps the rest of the study as it was)."""
    first, last = people["names"][person]
    templates = _REFLECTIONS_NL if language == "nl" else _REFLECTIONS_EN
    plain, personal = templates[:4], templates[4:]
    if not canary:
        k = int(rng.integers(len(plain)))
        return plain[k], -1
    other = int(rng.integers(people["n"]))
    o_first, o_last = people["names"][other]
    phone = ("06 {} {}".format(rng.integers(1000, 9999), rng.integers(1000, 9999)),
             "+31 6 {}".format(rng.integers(10_000_000, 99_999_999)),
             "020-{}".format(rng.integers(1_000_000, 9_999_999)))[int(rng.integers(3))]
    email = people["email"][person]
    k = int(rng.integers(len(personal)))
    return personal[k].format(
        name=f"{o_first} {o_last}", name_lower=f"{o_first} {o_last}".lower(),
        email=email.upper() if rng.random() < 0.5 else email,
        handle="@" + f"{re.sub('[ .]', '', first)}_{last.replace(' ', '')}".lower()[:15], phone=phone), k


def _reflection(person: int, wave: str, variable: str, people: dict, language: str, personal=None) -> str:
    """The reflection ``person`` writes in ``wave`` (the same on a second submission), recorded with its
    planted codes in ``people["written"]``. ``personal``: (sentence, template) of a canary, or None."""
    written = people["written"].setdefault(wave, {})
    if person in written:
        return written[person]["text"]
    planted = _planted_reflection(person, 1 if wave == "post" else 2, people, language)
    if personal is not None:
        sentence, k = personal
        codes, tools = _PERSONAL_CODES[language][k]
        if planted["junk"] or person % 2:
            planted = {"text": sentence, "codes": sorted(codes), "tools": sorted(tools), "junk": False}
        else:
            planted = {"text": sentence + " " + planted["text"], "codes": sorted(set(codes) | set(planted["codes"])),
                       "tools": sorted(set(tools) | set(planted["tools"])), "junk": False}
    written[person] = {"variable": variable, **planted}
    return planted["text"]


def _typed_email(email: str, rng, p_case: float = 0.25, p_space: float = 0.05) -> str:
    """What a participant types: sometimes capitals, sometimes stray spaces."""
    if rng.random() < p_case:
        local, domain = email.split("@")
        email = ".".join(w.capitalize() for w in local.split(".")) + "@" + domain.capitalize()
    if rng.random() < p_space:
        email = f" {email} "
    return email


# --- exports --------------------------------------------------------------------

def _csv_bytes(header: list[str], rows: list[list[str]], *, bom: bool, extra_header=()) -> bytes:
    buf = _io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for h in extra_header:
        writer.writerow(h)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode("utf-8") + buf.getvalue().encode("utf-8")


def _deterministic_zip(path: Path) -> None:
    """Rewrite an xlsx with fixed dates (zip entries, and the 'modified' property that
    openpyxl stamps at save time) so that it is byte-for-byte reproducible."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    stamp = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")
    entries = [(name, stamp.sub(rb"\g<1>2026-01-01T00:00:00Z\g<2>", data) if name == "docProps/core.xml" else data)
               for name, data in entries]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)


def _pre_export(people: dict, design: Design, rng) -> tuple[bytes, dict]:
    header = ["Timestamp", Q_EMAIL["pre"], Q_NAME, Q_WORKSHOP, Q_CONSENT]
    header += [Q_PRE_GRID.format(text) for *_, text in READINESS_ITEMS]
    header += [Q_PRE_CONF.format(en) for en, _ in STRATEGIES.values()]
    item_vars = [v for v, *_ in READINESS_ITEMS] + [f"pre_conf_{s}" for s in STRATEGIES]
    dirt = {"duplicates": 0, "tests": 0, "empty": 0, "no_consent": 0, "variants": 0,
            "out_of_range": 0, "blank": 0}
    records = []  # (timestamp, row)

    def answers(i, redraw=False):
        cells = []
        for v in item_vars:
            code = int(people["items"][v][i] if v in people["items"] else people["outcomes"][v][i])
            if redraw and rng.random() < 0.3:
                code = int(np.clip(code + rng.integers(-1, 2), 1, 5))
            label = AGREE5[code - 1][0]
            u = rng.random() if design.dirty else 1.0
            if u < 0.02:
                label, dirt["blank"] = "", dirt["blank"] + 1
            elif u < 0.05:
                label, dirt["variants"] = _label_variant(label, code, rng), dirt["variants"] + 1
            cells.append(label)
        return cells

    for i in range(people["n"]):
        day = SESSIONS[people["session"][i]][2] - dt.timedelta(days=int(rng.integers(1, 10)))
        first, last = people["names"][i]
        row = [None, people["email"][i], f"{first} {last}", SESSIONS[people["session"][i]][0], "Yes"]
        ts = _timestamp(day, rng)
        if design.dirty and rng.random() < 0.03:  # submitted twice, the later one counts
            records.append((ts - dt.timedelta(hours=int(rng.integers(2, 48))),
                            row[:1] + [_typed_email(people["email"][i], rng, 0.5)] + row[2:] + answers(i)))
            dirt["duplicates"] += 1
            records.append((ts, row + answers(i, redraw=True)))
        else:
            records.append((ts, row + answers(i)))
    if design.dirty:
        first_day = SESSIONS[0][2] - dt.timedelta(days=12)
        for name, email in (("Test", "test@workshop.example.org"), ("test trainer", "trainer+test@workshop.example.org")):
            records.append((_timestamp(first_day, rng), [None, email, name, SESSIONS[0][0], "Yes"]
                            + ["Agree"] * len(item_vars)))
            dirt["tests"] += 1
        for k in range(3):  # people who decline consent and never continue
            f, l = _FIRST[k], _LAST[-k - 1]
            s = int(rng.integers(len(SESSIONS)))
            records.append((_timestamp(SESSIONS[s][2] - dt.timedelta(days=2), rng),
                            [None, _email(f, l, "optout.example.net"), f"{f} {l}", SESSIONS[s][0], "No"]
                            + [AGREE5[int(rng.integers(5))][0] for _ in item_vars]))
            dirt["no_consent"] += 1
        grid = header.index(Q_PRE_GRID.format(READINESS_ITEMS[0][3]))
        for value in ("6", "0"):  # out of range
            r = int(rng.integers(len(records)))
            records[r][1][grid + int(rng.integers(len(item_vars)))] = value
            dirt["out_of_range"] += 1
    records.sort(key=lambda rec: rec[0])
    rows = [[f"{ts.month}/{ts.day}/{ts.year} {ts.hour}:{ts:%M:%S}"] + row[1:] for ts, row in records]
    if design.dirty:  # an Excel re-save left an empty record in the middle
        rows.insert(len(rows) // 2, [""] * len(header))
        dirt["empty"] += 1
    return _csv_bytes(header, rows, bom=False), dirt


def _qualtrics_row(rid: str, start: dt.datetime, status: str, progress: int, email: str, answers: list,
                   rng) -> list[str]:
    end = start + dt.timedelta(seconds=int(rng.integers(120, 900)))
    finished = "True" if progress == 100 else "False"
    ip = "" if status == "Survey Preview" else f"192.0.2.{int(rng.integers(1, 255))}"
    fmt = "%Y-%m-%d %H:%M:%S"
    return [start.strftime(fmt), end.strftime(fmt), status, ip, str(progress),
            str(int((end - start).total_seconds())), finished, end.strftime(fmt), rid, "", "", "", "",
            "52.0907" if ip else "", "5.1214" if ip else "",
            "preview" if status == "Survey Preview" else "anonymous", "NL", email] + answers


def _post_export(people: dict, design: Design, rng) -> tuple[bytes, dict]:
    conf = [f"post_conf_{s}" for s in STRATEGIES]
    intent = [f"post_int_{s}" for s in STRATEGIES]
    qids = ["Q1"] + [f"Q2_{k + 1}" for k in range(5)] + [f"Q3_{k + 1}" for k in range(5)] + ["Q4", "Q5"]
    texts = ([Q_EMAIL["post"]] + [Q_POST_CONF.format(nl) for _, nl in STRATEGIES.values()]
             + [Q_POST_INT.format(nl) for _, nl in STRATEGIES.values()] + [Q_SATISFACTION, Q_REFLECTION])
    header = list(QUALTRICS_META) + qids
    def import_id(name):
        spec = {"ImportId": name, **({"timeZone": "Europe/Amsterdam"} if name.endswith("Date") else {})}
        return json.dumps(spec, separators=(",", ":"))

    import_ids = ([import_id(m) for m in ("startDate", "endDate", "status", "ipAddress",
                   "progress", "duration", "finished", "recordedDate", "_recordId", "recipientLastName",
                   "recipientFirstName", "recipientEmail", "externalDataReference", "locationLatitude",
                   "locationLongitude", "distributionChannel", "userLanguage")]
                  + [import_id("QID" + q[1:]) for q in qids])
    dirt = {"preview": 0, "incomplete_then_complete": 0, "duplicates": 0, "dont_know": 0,
            "variants": 0, "blank": 0, "canaries": 0, "injections": 0}
    records, owners = [], []
    alphabet = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

    def rid():
        return "R_" + "".join(alphabet[int(x)] for x in rng.integers(0, len(alphabet), 15))

    def answers(i):
        cells = []
        for v in conf + intent + ["satisfaction"]:
            scale = SATISFACTION5 if v == "satisfaction" else AGREE5
            code = int(people["outcomes"][v][i])
            label = scale[code - 1][1]
            u = rng.random() if design.dirty else 1.0
            if u < 0.015:
                label, dirt["dont_know"] = "Weet ik niet", dirt["dont_know"] + 1
            elif u < 0.03:
                label, dirt["blank"] = "", dirt["blank"] + 1
            elif u < 0.05:
                label, dirt["variants"] = _label_variant(label, code, rng), dirt["variants"] + 1
            cells.append(label)
        u = rng.random()
        language = "nl" if rng.random() < 0.6 else "en"
        if u < 0.3:
            text = people["written"].get("post", {}).get(i, {}).get("text", "")
        elif design.dirty and u < 0.6:
            text = _reflection(i, "post", "reflection", people, language,
                               personal=_free_text(i, people, language, rng, canary=True))
            dirt["canaries"] += 1
        else:
            _free_text(i, people, language, rng, canary=False)
            text = _reflection(i, "post", "reflection", people, language)
        return cells + [text]

    for i in np.flatnonzero(people["post"]):
        day = SESSIONS[people["session"][i]][2]
        start = _timestamp(day, rng, hours=(16, 18))
        email = _typed_email(people["email"][i], rng)
        full = answers(i)
        if design.dirty and rng.random() < 0.02:  # an abandoned attempt, then a complete one
            part = full[:4] + [""] * (len(full) - 4)
            records.append(_qualtrics_row(rid(), start - dt.timedelta(minutes=30), "IP Address", 36,
                                          email, part, rng))
            owners.append(i)
            dirt["incomplete_then_complete"] += 1
        records.append(_qualtrics_row(rid(), start, "IP Address", 100, email, full, rng))
        owners.append(i)
        if design.dirty and rng.random() < 0.015:  # pressed the link again the next morning
            records.append(_qualtrics_row(rid(), start + dt.timedelta(hours=15), "IP Address", 100,
                                          _typed_email(people["email"][i], rng), answers(i), rng))
            owners.append(i)
            dirt["duplicates"] += 1
    if design.dirty:
        for k, text in enumerate(_INJECTIONS):
            owner = owners[(5 + 17 * k) % len(records)]
            for record, whose in zip(records, owners):  # every submission of that person, so the kept one too
                if whose == owner:
                    record[-1] = text
            codes, tools = _INJECTION_CODES[k]
            people["written"].setdefault("post", {})[owner] = {"variable": "reflection", "text": text,
                                                               "codes": list(codes), "tools": list(tools),
                                                               "junk": False}
            dirt["injections"] += 1
        for _ in range(2):
            records.append(_qualtrics_row(rid(), _timestamp(SESSIONS[0][2] - dt.timedelta(days=3), rng),
                                          "Survey Preview", 100, "", ["Mee eens"] * 11 + ["test"], rng))
            dirt["preview"] += 1
    records.sort(key=lambda r: r[0])
    return _csv_bytes(header, records, bom=True, extra_header=(list(QUALTRICS_META_TEXT) + texts, import_ids)), dirt


def _followup_export(people: dict, design: Design, rng, path: Path) -> dict:
    from openpyxl import Workbook

    adopt = [f"adopt_{s}" for s in STRATEGIES]
    header = list(MSFORMS_META) + [Q_EMAIL["followup"]]
    header += [Q_FOLLOW_ADOPT.format(en) for en, _ in STRATEGIES.values()] + [Q_FOLLOW_COMMENT]
    dirt = {"duplicates": 0, "tests": 0, "empty": 0, "blank": 0, "canaries": 0}
    records = []

    def answers(i):
        cells = []
        for v in adopt:
            label = YESNO[int(people["outcomes"][v][i])][0]
            if design.dirty and rng.random() < 0.02:
                label, dirt["blank"] = None, dirt["blank"] + 1
            cells.append(label)
        if design.dirty and rng.random() < 0.12:
            text = _reflection(i, "followup", "followup_comment", people, "en",
                               personal=_free_text(i, people, "en", rng, canary=True))
            dirt["canaries"] += 1
        elif i in people["written"].get("followup", {}) or (i * 7919 + people["text_seed"]) % 4 == 0:
            text = _reflection(i, "followup", "followup_comment", people, "en")
        else:
            text = None
        return cells + [text]

    for i in np.flatnonzero(people["followup"]):
        day = SESSIONS[people["session"][i]][2] + dt.timedelta(weeks=6, days=int(rng.integers(0, 14)))
        start = _timestamp(day, rng)
        records.append([start, _typed_email(people["email"][i], rng, 0.2)] + answers(i))
        if design.dirty and rng.random() < 0.02:
            records.append([start + dt.timedelta(days=2), people["email"][i]] + answers(i))
            dirt["duplicates"] += 1
    if design.dirty:
        records.append([_timestamp(SESSIONS[-1][2] + dt.timedelta(weeks=6), rng),
                        "test@workshop.example.org"] + ["Yes"] * 5 + ["test"])
        dirt["tests"] += 1
        records.append([_timestamp(SESSIONS[-1][2] + dt.timedelta(weeks=7), rng), None] + [None] * 6)
        dirt["empty"] += 1
    records.sort(key=lambda r: r[0])
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(header)
    for k, (start, *rest) in enumerate(records, start=1):
        done = start + dt.timedelta(seconds=int(rng.integers(60, 600)))
        ws.append([k, start, done, "anonymous", None, done] + rest)
    for row in ws.iter_rows(min_row=2, min_col=2, max_col=3):
        for cell in row:
            cell.number_format = "m/d/yy h:mm:ss"
    fixed = dt.datetime(2026, 1, 1)
    wb.properties.created = wb.properties.modified = fixed
    wb.properties.creator = "Microsoft Forms"
    wb.save(path)
    _deterministic_zip(path)
    return dirt


# --- reflections with planted codes ---------------------------------------------------
# Each phrase: (codes it plants, text); "{tool}" is filled with a tool mention (planted as a tool).
_TOOL_MENTIONS = (("twitter", "Twitter"), ("twitter", "twitter"), ("twitter", "X (Twitter)"), ("linkedin", "LinkedIn"),
                  ("linkedin", "linkedin"), ("mastodon", "Mastodon"), ("blog", "a blog"), ("youtube", "YouTube"),
                  ("wiki", "the wiki"), ("rss", "RSS feeds"), ("instagram", "Instagram"))
_TOOL_MENTIONS_NL = (("twitter", "Twitter"), ("twitter", "X (Twitter)"), ("linkedin", "LinkedIn"),
                     ("linkedin", "Linkedin"), ("mastodon", "Mastodon"), ("blog", "een blog"), ("youtube", "YouTube"),
                     ("wiki", "een wiki"), ("rss", "RSS-feeds"), ("instagram", "Instagram"))
_PHRASES = {
    "en": {
        "collaboration": ("I want to work together with colleagues on a shared document.",
                          "We could collaborate on {tool} with the other schools.",
                          "Co-creating a lesson with people from other teams sounds good.",
                          "Our team wants to use {tool} for teamwork on projects."),
        "personal_branding": ("My profile on {tool} needs work, it says nothing about my expertise.",
                              "I learned how to make my own work visible online.",
                              "Personal branding felt vain before, now I see the point.",
                              "Showcasing what I do on {tool} could help my reputation."),
        "peer_conversations": ("I want to join the discussion on {tool} with other teachers.",
                               "Replying to posts from peers is a good first step.",
                               "Online conversations with colleagues elsewhere seem worthwhile to me.",
                               ("I will ask questions to peers on {tool} instead of only reading.", ("focus_goal",))),
        "networking": ("My network on {tool} is tiny, I should connect with more people.",
                       "Networking online is easier than at conferences.",
                       "I made new contacts during the session.",
                       "Connecting with people in my field is what I want from {tool}."),
        "information_scanning": (("I will scan {tool} for a few minutes a day to stay up to date.", ("focus_goal",)),
                                 ("Filtering the flood of information was the most useful part.", ("positive_workshop",)),
                                 "Keeping up with research through {tool} makes sense to me.",
                                 "I now read what my peers share instead of searching everything myself."),
        "needs_basics": ("How can I send a message on {tool} that others see too?",
                         "I still don't know how to post something on {tool}.",
                         "The hands-on part went too fast, I got lost.",
                         "I need someone to explain the basics again, step by step."),
        "guts_fear": ("Posting in public still feels scary to me.",
                      "I am afraid of saying something stupid on {tool}.",
                      "I feel nervous about putting my thoughts online.",
                      "I hesitate to try {tool}, everyone can read it."),
        "guts_courage": ("It takes guts, but I dared to post my first message.",
                         "I am not afraid anymore to try {tool}.",
                         ("I will step out of my comfort zone and just try it.", ("focus_goal",)),
                         "It was not scary at all once I tried it."),
        "focus_goal": ("My goal is to post once a week about my lessons.",
                       "Next week I am going to set up a plan for my department.",
                       "From now on I will spend ten minutes every day on this.",
                       "I plan to write one post per month."),
        "positive_workshop": ("Great workshop, thanks!", "Very useful and inspiring afternoon.",
                              "I really enjoyed the session.", "Interesting examples, well organised."),
        "negative_workshop": ("The afternoon was too long for me.", "Some parts were a bit boring.",
                              "It was not very useful for my work.", "The examples were too basic."),
    },
    "nl": {
        "collaboration": ("Ik wil samenwerken met collega's aan een gedeeld document.",
                          "Met andere scholen kunnen we via {tool} samen iets maken.",
                          "Samen met het team een project opzetten lijkt me zinvol.",
                          ("We gaan {tool} gebruiken om samen te werken.", ("focus_goal",))),
        "personal_branding": ("Mijn profiel op {tool} zegt nog niets over mijn expertise.",
                              "Ik zie nu hoe ik mijn werk zichtbaar kan maken.",
                              "Personal branding vond ik eerst ijdel, nu snap ik het.",
                              "Ik wil mezelf beter profileren op {tool}."),
        "peer_conversations": ("Ik wil op {tool} in gesprek met andere docenten.",
                               "Reageren op berichten van vakgenoten is een begin.",
                               "Discussies met collega's van andere scholen lijken me zinvol.",
                               ("Ik ga vragen stellen aan vakgenoten op {tool}.", ("focus_goal",))),
        "networking": ("Mijn netwerk op {tool} is klein, ik wil meer mensen leren kennen.",
                       "Netwerken gaat online makkelijker dan op een congres.",
                       "Ik heb vandaag nieuwe contacten opgedaan.",
                       "Via {tool} wil ik contact leggen met mensen uit mijn vak."),
        "information_scanning": (("Ik ga elke dag even {tool} scannen om bij te blijven.", ("focus_goal",)),
                                 ("Informatie filteren was voor mij het nuttigste deel.", ("positive_workshop",)),
                                 "Via {tool} wil ik op de hoogte blijven van onderzoek.",
                                 ("Ik ga vaker lezen wat vakgenoten delen.", ("focus_goal",))),
        "needs_basics": ("Hoe kan ik een bericht op {tool} plaatsen dat anderen ook zien?",
                         "Ik weet nog steeds niet hoe ik iets moet posten op {tool}.",
                         "Het praktische deel ging te snel, ik was de draad kwijt.",
                         "Ik heb de basis nog een keer nodig, stap voor stap."),
        "guts_fear": ("Iets openbaar posten vind ik nog steeds eng.",
                      "Ik ben bang dat ik iets doms zeg op {tool}.",
                      "Ik word er zenuwachtig van om mijn gedachten online te zetten.",
                      "De drempel om {tool} te proberen is hoog voor mij."),
        "guts_courage": ("Het vraagt lef, maar ik heb mijn eerste bericht gepost.",
                         "Ik vond het helemaal niet eng om {tool} te proberen.",
                         "Ik ben niet meer bang om iets te posten.",
                         "Ik durf nu gewoon te beginnen met {tool}."),
        "focus_goal": ("Mijn doel is om elke week iets over mijn lessen te posten.",
                       "Volgende week maak ik een plan voor mijn afdeling.",
                       "Vanaf nu besteed ik elke dag tien minuten hieraan.",
                       "Ik neem me voor om één bericht per maand te schrijven."),
        "positive_workshop": ("Leuke workshop, bedankt!", "Heel nuttig en inspirerend.",
                              "Erg leerzame middag.", "Interessante voorbeelden en fijne trainers."),
        "negative_workshop": ("De middag duurde te lang.", "Sommige delen waren saai.",
                              "Het was niet erg nuttig voor mijn werk.", "De voorbeelden waren te basaal."),
    },
}
#: How likely each code is to be written about, per planted profile (new to the tools, focused but
#: tool-shy, confident explorers); the entry point shifts needs_basics and guts.
_CODE_WEIGHTS = {
    "collaboration": (1, 1.5, 2), "personal_branding": (0.5, 1, 2.5), "peer_conversations": (0.7, 1.2, 2),
    "networking": (0.8, 1, 2.5), "information_scanning": (1, 2.5, 1.5), "needs_basics": (3, 1.5, 0.3),
    "guts_fear": (2, 2, 0.3), "guts_courage": (0.7, 1, 2), "focus_goal": (0.8, 2.5, 1.5),
    "positive_workshop": (2, 2, 2), "negative_workshop": (0.6, 0.6, 0.8),
}
_JUNK_ANSWERS = ("-", "n.v.t.", "nvt", "geen", "Nothing", "none", "n/a", "asdf", "\U0001F44D", "...", "niets",
                 "No comment", "geen opmerkingen", "x", "?")
#: Codes and tools of the personal templates (_REFLECTIONS_*[4:]) and of the injected texts.
_PERSONAL_CODES = {
    "en": ((("positive_workshop", "personal_branding"), ()), (("peer_conversations",), ()),
           (("focus_goal",), ("blog",)), (("focus_goal",), ()), (("positive_workshop", "collaboration"), ())),
    "nl": ((("positive_workshop",), ("linkedin",)), ((), ()), ((), ()), (("peer_conversations",), ()),
           (("collaboration", "networking", "focus_goal"), ())),
}
_INJECTION_CODES = ((("positive_workshop",), ()), ((), ()), (("positive_workshop",), ()))


def _typo(text: str, rng) -> str:
    """Swap two letters of one word of four or more letters (what people type in a hurry)."""
    words = text.split(" ")
    long = [k for k, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long:
        return text
    k = long[int(rng.integers(len(long)))]
    w = words[k]
    j = int(rng.integers(1, len(w) - 2))
    words[k] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def _planted_reflection(person: int, wave: int, people: dict, language: str) -> dict:
    """A reflection written from planted codes: 1-3 sentences, tools, junk, typos; its own generator
    (seeded by study seed, person and wave) so the other answers of the study do not change."""
    rng = np.random.default_rng([people["text_seed"], 14, person, wave])
    if rng.random() < 0.08:
        return {"text": _JUNK_ANSWERS[int(rng.integers(len(_JUNK_ANSWERS)))], "codes": [], "tools": [], "junk": True}
    profile = int(people["profile"][person])
    names = list(_CODE_WEIGHTS)
    w = np.array([_CODE_WEIGHTS[c][profile] for c in names], float)
    if people["entry"][person] == "tool-first":
        w[names.index("needs_basics")] *= 0.6
        w[names.index("guts_courage")] *= 1.4
    picked = rng.choice(len(names), size=int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15])), replace=False, p=w / w.sum())
    mentions = _TOOL_MENTIONS_NL if language == "nl" else _TOOL_MENTIONS
    sentences, codes, tools = [], [], []
    for k in picked:
        code = names[k]
        bank = _PHRASES[language][code]
        sentence = bank[int(rng.integers(len(bank)))]
        sentence, extra = (sentence, ()) if isinstance(sentence, str) else sentence
        codes += list(extra)
        if "{tool}" in sentence:
            tool, shown = mentions[int(rng.integers(len(mentions)))]
            sentence = sentence.format(tool=shown)
            tools.append(tool)
        if rng.random() < 0.08:
            sentence = _typo(sentence, rng)
        sentences.append(sentence)
        codes.append(code)
    return {"text": " ".join(sentences), "codes": sorted(set(codes)), "tools": sorted(set(tools)), "junk": False}


# --- study file and codebook ---------------------------------------------------

def _scale(levels, missing=None) -> dict:
    spec = {"levels": [{"code": k, "en": en, "nl": nl} for k, (en, nl) in
                       enumerate(levels, start=1 if len(levels) > 2 else 0)]}
    if missing:
        spec["missing"] = missing
    return spec


def sample_codebook() -> dict:
    """The codebook of the simulated study, as a plain dict (written to YAML)."""
    variables: dict[str, dict] = {
        "submitted": {"role": "timestamp", "waves": ["pre", "post", "followup"],
                      "match": {"text": ["Timestamp", "RecordedDate", "Completion time"]}},
        "email": {"role": "identifier", "pii": True, "waves": ["pre", "post", "followup"],
                  "match": {"text": list(Q_EMAIL.values())}},
        "name": {"role": "identifier", "pii": True, "waves": ["pre"], "match": {"text": [Q_NAME]}},
        "workshop": {"role": "group", "waves": ["pre"], "match": {"text": [Q_WORKSHOP]}},
        "consent": {"role": "consent", "scale": "yesno", "waves": ["pre"], "match": {"text": [Q_CONSENT]}},
    }
    for var, construct, reverse, text in READINESS_ITEMS:
        variables[var] = {"role": "item", "construct": construct, "scale": "agree5", "reverse": reverse,
                          "waves": ["pre"], "match": {"text": [Q_PRE_GRID.format(text)]}, "label": text}
    for s, (en, nl) in STRATEGIES.items():
        variables[f"pre_conf_{s}"] = {"role": "item", "scale": "agree5", "waves": ["pre"],
                                      "match": {"text": [Q_PRE_CONF.format(en)]}, "label": {"en": en, "nl": nl}}
    for s, (en, nl) in STRATEGIES.items():
        variables[f"post_conf_{s}"] = {"role": "item", "scale": "agree5", "waves": ["post"],
                                       "match": {"text": [Q_POST_CONF.format(nl)]}, "label": {"en": en, "nl": nl}}
    for s, (en, nl) in STRATEGIES.items():
        variables[f"post_int_{s}"] = {"role": "item", "scale": "agree5", "waves": ["post"],
                                      "match": {"text": [Q_POST_INT.format(nl)]}, "label": {"en": en, "nl": nl}}
    variables["satisfaction"] = {"role": "item", "scale": "satisfaction5", "waves": ["post"],
                                 "match": {"text": [Q_SATISFACTION]},
                                 "label": {"en": "How satisfied are you with this workshop?", "nl": Q_SATISFACTION}}
    variables["reflection"] = {"role": "text", "waves": ["post"], "match": {"text": [Q_REFLECTION]}}
    for s, (en, nl) in STRATEGIES.items():
        variables[f"adopt_{s}"] = {"role": "item", "scale": "yesno", "waves": ["followup"],
                                   "match": {"text": [Q_FOLLOW_ADOPT.format(en)]}, "label": {"en": en, "nl": nl}}
    variables["followup_comment"] = {"role": "text", "waves": ["followup"], "match": {"text": [Q_FOLLOW_COMMENT]}}
    # Columns the tools add that identify people: never analysed, known to the leak gate.
    variables["ip_address"] = {"role": "ignore", "pii": True, "waves": ["post"], "match": {"text": ["IPAddress"]}}
    variables["location"] = {"role": "ignore", "pii": True, "waves": ["post"],
                             "match": {"regex": ["^Location(Latitude|Longitude)$"]}}
    return {
        "version": 1,
        "scales": {
            "agree5": _scale(AGREE5, {"dont_know": ["I don't know", "Weet ik niet"],
                                      "not_applicable": ["N/A", "n.v.t."]}),
            "satisfaction5": _scale(SATISFACTION5, {"dont_know": ["I don't know", "Weet ik niet"]}),
            "yesno": _scale(YESNO),
        },
        "constructs": {
            "tool_skills": {"label": {"en": "tool skills", "nl": "vaardigheid met de tools"}},
            "focus": {"label": {"en": "focus", "nl": "focus"}},
            "guts": {"label": {"en": "guts", "nl": "durf"}},
        },
        "outcomes": {
            "confidence": {"label": {"en": "confidence", "nl": "zelfvertrouwen"}, "family": "confidence",
                           "items": [f"post_conf_{s}" for s in STRATEGIES],
                           "baseline": [f"pre_conf_{s}" for s in STRATEGIES]},
            "intention": {"label": {"en": "intention", "nl": "voornemen"}, "family": "intention",
                          "items": [f"post_int_{s}" for s in STRATEGIES]},
            "adoption": {"label": {"en": "adoption", "nl": "in gebruik genomen"}, "family": "adoption",
                         "items": [f"adopt_{s}" for s in STRATEGIES]},
            "satisfaction": {"label": {"en": "satisfaction", "nl": "tevredenheid"}, "family": "satisfaction",
                             "items": ["satisfaction"]},
        },
        "variables": variables,
    }


def sample_study_file() -> dict:
    """The study file of the simulated study, as a plain dict (written to YAML)."""
    return {
        "study": "Social media in professional practice: workshop evaluation (simulated sample)",
        "codebook": "codebook.yaml",
        "participant_key": "email",
        "pseudonym_key": "demo",
        "sources": [
            {"path": "raw/pre_google_forms.csv", "wave": "pre", "format": "google_forms"},
            {"path": "raw/post_qualtrics.csv", "wave": "post", "format": "qualtrics"},
            {"path": "raw/followup_microsoft_forms.xlsx", "wave": "followup", "format": "microsoft_forms"},
        ],
        "waves": ["pre", "post", "followup"],
        "groups": {
            "workshop": "workshop",
            "entry_point": {"from": "workshop", "map": {label: arm for label, arm, _ in SESSIONS}},
        },
        "exclude": [
            {"variable": "email", "pattern": r"^(test|trainer\+test)@", "reason": "test submission"},
            {"variable": "name", "pattern": r"(?i)^\s*test\b", "reason": "test submission"},
        ],
        "analysis": {"readiness": list(CONSTRUCTS)},
    }


def _dump_yaml(data: dict, path: Path, comment: str) -> None:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(comment + text, encoding="utf-8")


def simulate_study(out_dir, seed: int = 2026, design: Design = Design()) -> Path:
    """Write a synthetic study (raw exports, study file, codebook, truth).

    Parameters
    ----------
    out_dir : path-like
        Folder to write into (created; existing files are overwritten).
    seed : int
        Seed of the random generator; the same seed gives identical bytes.
    design : Design
        Knobs of the generating model.

    Returns
    -------
    pathlib.Path
        ``out_dir``.
    """
    out = Path(out_dir)
    (out / "raw").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    people = _people(design, rng)
    people.update(text_seed=seed, written={})
    pre, pre_dirt = _pre_export(people, design, rng)
    (out / "raw" / "pre_google_forms.csv").write_bytes(pre)
    post, post_dirt = _post_export(people, design, rng)
    (out / "raw" / "post_qualtrics.csv").write_bytes(post)
    follow_dirt = _followup_export(people, design, rng, out / "raw" / "followup_microsoft_forms.xlsx")
    header = (f"# Written by `python -m analysis simulate --seed {seed}`; regenerate rather than edit.\n")
    _dump_yaml(sample_study_file(), out / "study.yaml", header)
    _dump_yaml(sample_codebook(), out / "codebook.yaml", header)

    participants = {}
    for i in range(people["n"]):
        waves = ["pre"] + (["post"] if people["post"][i] else []) + (["followup"] if people["followup"][i] else [])
        participants[pseudonym(people["email"][i], DEMO_KEY)] = {
            "profile": design.profiles[people["profile"][i]].name,
            "workshop": SESSIONS[people["session"][i]][0],
            "entry_point": str(people["entry"][i]),
            "waves": waves,
            "latent": {c: round(float(x), 3) for c, x in zip(CONSTRUCTS, people["latent"][i])},
        }
    truth = {
        "seed": seed,
        "design": {"n_participants": design.n_participants, "separation": design.separation,
                   "effect_scale": design.effect_scale, "within_sd": design.within_sd,
                   "item_sd": design.item_sd, "session_sd": design.session_sd},
        "pseudonym_key": "demo (analysis.protect.DEMO_KEY)",
        "profiles": [{"name": p.name, "share": p.share,
                      "means": {c: round(float(m), 4) for c, m in zip(CONSTRUCTS, means)}}
                     for p, means in zip(design.profiles, _profile_means(design))],
        "sessions": [{"workshop": label, "entry_point": arm} for label, arm, _ in SESSIONS],
        "effects": planted_effects(design),
        "dirt": {"pre": pre_dirt, "post": post_dirt, "followup": follow_dirt},
        "participants": participants,
        # the codes planted in each free-text answer (analysis.reflect's codes and tools)
        "reflections": [{"participant": pseudonym(people["email"][i], DEMO_KEY), "wave": wave,
                         **{k: v for k, v in record.items() if k != "text"}}
                        for wave, written in people["written"].items() for i, record in sorted(written.items())
                        if str(record["text"]).strip()],
    }
    (out / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
