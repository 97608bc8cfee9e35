"""Settings of an analysis, in one place.

Every number the stages use and a report may mention (seed, confidence level,
profile range, resamples, smallest cell...) lives in :class:`Settings`. Its
defaults are overridden by the study file's optional ``analysis:`` block,
which command-line flags override in turn::

    analysis:
      readiness: [tool_skills, focus, guts]   # constructs that define readiness profiles
      baseline: pre                           # wave roles (default: the study's waves in order)
      after: post
      followup: followup
      confidence: 0.95
      k_max: 6

The settings used are written to the results folder (``manifest.json``) and
shown in every report's footer; words in reports that depend on them are
made from them.

Examples
--------
>>> s = Settings().replace(confidence=0.9, k_max=4)
>>> s.confidence, s.k_range
(0.9, (1, 2, 3, 4))
>>> Settings().replace(k_max=0)
Traceback (most recent call last):
...
ValueError: k_max must be an integer of at least 1 (and at least k_min); got 0
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

#: Report languages with a complete message catalogue.
LANGUAGES = ("en", "nl")
#: Corrections of per-profile effects for classification error (``analysis.compare.CORRECTIONS``).
CORRECTIONS = ("bch", "none")


@dataclass(frozen=True)
class Settings:
    """What the analysis does, beyond what the study file's data describe.

    Attributes
    ----------
    seed : int
        Seed of every random step (profile fits, resamples, permutations).
    confidence : float
        Level of every interval in every stage and report.
    readiness : tuple of str
        Constructs that define readiness profiles (codebook construct names),
        measured in the ``baseline`` wave. Empty: no profiles.
    baseline, after, followup : str or None
        Which wave plays which role: readiness and "before" scores come from
        ``baseline``; ``after`` is right after the workshop, ``followup``
        later. ``None``: the study's waves in order.
    k_min, k_max : int
        Range of numbers of profiles tried.
    k : int or None
        A number of profiles fixed by the researcher (``None``: chosen).
    resamples : int
        Bootstrap resamples of the profile stability check.
    blrt_reps : int
        Bootstrap samples of each likelihood-ratio test in the fit table.
    n_boot : int
        Bootstrap resamples of omega's interval.
    min_n : int
        Fewest people (posterior-weighted) per entry point for a cell of the
        comparison to be interpreted.
    min_sessions : int
        Fewest sessions per entry point for a cell to be interpreted.
    permutations : int
        Random session permutations when the sessions allow more assignments
        than this (otherwise every assignment is enumerated).
    correction : str
        Per-profile effects corrected for classification error: ``"bch"``
        (default) or ``"none"`` (plain posterior weights; the other is kept
        in ``effects.csv`` for comparison).
    language : str
        Language of the reports (:data:`LANGUAGES`).
    """

    seed: int = 20260301
    confidence: float = 0.95
    readiness: tuple = ()
    baseline: str | None = None
    after: str | None = None
    followup: str | None = None
    k_min: int = 1
    k_max: int = 6
    k: int | None = None
    resamples: int = 100
    blrt_reps: int = 19
    n_boot: int = 1000
    min_n: int = 10
    min_sessions: int = 2
    permutations: int = 9999
    correction: str = "bch"
    language: str = "en"
    #: Where each value came from: "default", "study file" or "command line".
    origin: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        _check(self)

    def replace(self, origin: str = "command line", **changes) -> Settings:
        """A copy with ``changes`` (``None`` values are ignored), recording where they came from."""
        changes = {k: v for k, v in changes.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)} - {"origin"}
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        if "readiness" in changes:
            changes["readiness"] = tuple(changes["readiness"])
        return dataclasses.replace(self, **changes, origin={**self.origin, **{k: origin for k in changes}})

    @property
    def k_range(self) -> tuple:
        """Numbers of profiles tried, ``k_min`` to ``k_max``."""
        return tuple(range(self.k_min, self.k_max + 1))

    def as_dict(self) -> dict:
        """The settings as plain values (for the manifest and reports)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "origin"}
        out["readiness"] = list(self.readiness)
        return out

    def subset(self, *names: str) -> dict:
        """The values of some settings: what one stage depends on."""
        return {name: self.as_dict()[name] for name in names}


#: Names a study file's ``analysis:`` block may use.
KEYS = tuple(f.name for f in dataclasses.fields(Settings) if f.name != "origin")


def _positive_int(value, *, zero: bool = False) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= (0 if zero else 1)


def _check(s: Settings) -> None:
    """Raise ``ValueError`` naming the first setting with an impossible value."""
    if not _positive_int(s.seed, zero=True):
        raise ValueError(f"seed must be a non-negative integer; got {s.seed!r}")
    if not isinstance(s.confidence, (int, float)) or isinstance(s.confidence, bool) or not 0.5 <= s.confidence < 1:
        raise ValueError(f"confidence must be a number from 0.5 to below 1, such as 0.95; got {s.confidence!r}")
    if not _positive_int(s.k_min):
        raise ValueError(f"k_min must be an integer of at least 1; got {s.k_min!r}")
    if not _positive_int(s.k_max) or s.k_max < s.k_min:
        raise ValueError(f"k_max must be an integer of at least 1 (and at least k_min); got {s.k_max!r}")
    if s.k is not None and (not _positive_int(s.k) or not s.k_min <= s.k <= s.k_max):
        raise ValueError(f"k must be an integer from k_min to k_max ({s.k_min}-{s.k_max}); got {s.k!r}")
    for name in ("resamples", "permutations", "min_sessions"):
        if not _positive_int(getattr(s, name)):
            raise ValueError(f"{name} must be an integer of at least 1; got {getattr(s, name)!r}")
    for name in ("blrt_reps", "n_boot", "min_n"):
        if not _positive_int(getattr(s, name), zero=True):
            raise ValueError(f"{name} must be an integer of at least 0; got {getattr(s, name)!r}")
    if not isinstance(s.readiness, tuple) or not all(isinstance(c, str) and c for c in s.readiness):
        raise ValueError(f"readiness must be a list of construct names; got {s.readiness!r}")
    if len(set(s.readiness)) < len(s.readiness):
        raise ValueError(f"readiness lists a construct twice: {list(s.readiness)}")
    for name in ("baseline", "after", "followup"):
        value = getattr(s, name)
        if value is not None and not (isinstance(value, str) and value):
            raise ValueError(f"{name} must be the name of a wave; got {value!r}")
    if s.correction not in CORRECTIONS:
        raise ValueError(f"correction must be one of {', '.join(CORRECTIONS)}; got {s.correction!r}")
    if s.language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}; got {s.language!r}")
