"""Codebook stage: load and validate the study file and the codebook (YAML).

The **study file** says where the exports are and how the study is built::

    study: A title
    codebook: codebook.yaml          # relative to the study file
    participant_key: email           # identifier variable that links waves (optional)
    pseudonym_key: demo              # "demo" only for the sample; omit for real data
    waves: [pre, post, followup]
    sources:
      - {path: raw/pre.csv, wave: pre, format: google_forms}   # format optional
    groups:
      workshop: workshop             # variable naming the session
      entry_point: {from: workshop, map: {"Utrecht, 3 March": strategy-first},
                    patterns: {"(?i)online": tool-first}}   # regex searched when a label is not in map
    exclude:                         # rows set aside as test submissions
      - {variable: email, pattern: "^test@", reason: test submission}
    roster: trainers.txt             # names (one per line) scrubbed from free text too
    consent: {required: true}        # a participant with no consent answer on record is set aside
    analysis:                        # optional settings (see analysis.settings)
      readiness: [tool_skills, focus, guts]
      baseline: pre                  # wave roles; default: the waves in order

The **codebook** names every variable the analysis uses and how to find it::

    scales:
      agree5:
        levels: [{code: 1, en: Strongly disagree, nl: Helemaal mee oneens}, ...]
        missing: {dont_know: ["I don't know", Weet ik niet]}
    variables:
      ts_twitter:
        role: item                   # identifier, group, timestamp, consent, item, text, ignore
        construct: tool_skills
        scale: agree5
        reverse: false
        pii: false
        waves: [pre]                 # must match exactly one column in these waves' sources
        match: {text: [...], normalised: [...], regex: [...]}
        label: {en: "I can post on Twitter", nl: ...}   # as shown in reports (optional)
      grid:                          # an item block: one variable per item, matched by the pattern
        pattern: "How much do you agree with each statement? [{item}]"
        scale: agree5
        waves: [pre]
        items: {ts_blog: I can write a blog post, ts_confused: {text: Tools confuse me, reverse: true}}
      vcs:                           # multi-select, one column per option ("any text" for an Other column)
        role: multiselect
        layout: columns
        options: [Git, {key: other, en: Other, any_text: true}]
    constructs:                      # plain labels of constructs (optional)
      tool_skills: {label: {en: tool skills, nl: vaardigheid met de tools}, aspect: tool_skills}
    outcomes:                        # what the entry-point comparison measures
      confidence:
        label: {en: confidence, nl: zelfvertrouwen}
        family: confidence           # confidence, intention, adoption, satisfaction or other
        items: [post_conf_cooperation, post_conf_branding]
        baseline: [pre_conf_cooperation, pre_conf_branding]   # optional: adds confidence_gain

Every problem is an :class:`~analysis.errors.InputError` naming the file, the
line and the key. Every key, with examples: ``docs/codebook.md``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.errors import InputError
from analysis.io import FORMATS
from analysis.settings import KEYS as SETTING_KEYS, Settings

ROLES = ("identifier", "group", "timestamp", "consent", "item", "multiselect", "number", "text", "ignore")
MATCH_KINDS = ("text", "normalised", "regex")
#: The two entry points a workshop session can start from (the design's arms).
ENTRY_POINTS = ("strategy-first", "tool-first")
#: What an outcome measures, as reports name it.
OUTCOME_FAMILIES = ("confidence", "intention", "adoption", "satisfaction", "other")
#: The workshop's three readiness aspects; a construct may say it measures one (``aspect:``),
#: which lets profiles be named in the trainers' words whatever the construct is called.
READINESS_ASPECTS = ("tool_skills", "focus", "guts")


# --- YAML with line numbers ------------------------------------------------------

class _Mapping(dict):
    """A dict that remembers the line of each key (1-based)."""

    lines: dict
    line: int


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    mapping = _Mapping()
    mapping.lines = {}
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise InputError(loader.name, "each key once", row=key_node.start_mark.line + 1, column=str(key))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(path: Path) -> _Mapping:
    if not path.is_file():
        raise InputError(path, "an existing YAML file")
    with path.open(encoding="utf-8") as fh:
        loader = _LineLoader(fh)
        loader.name = str(path)
        try:
            data = loader.get_single_data()
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(path, f"valid YAML ({getattr(exc, 'problem', exc)})",
                             row=mark.line + 1 if mark else None) from None
        finally:
            loader.dispose()
    if not isinstance(data, _Mapping):
        raise InputError(path, "a mapping of keys at the top level", row=1)
    return data


def _check_keys(path: Path, mapping, allowed, required=(), where: str = "") -> None:
    if not isinstance(mapping, _Mapping):
        raise InputError(path, f"a mapping{' for ' + where if where else ''}", column=where or None)
    for key in mapping:
        if key not in allowed:
            raise InputError(path, f"a known key ({', '.join(allowed)})", row=mapping.lines[key],
                             column=f"{where}.{key}" if where else str(key))
    for key in required:
        if key not in mapping:
            raise InputError(path, f"required key {key!r}", row=mapping.line, column=where or None)


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# --- text normalisation shared by column matching and label coding ----------------

_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def normalise_text(text: str) -> str:
    """Fold case, Unicode form, HTML, curly quotes and whitespace away.

    Examples
    --------
    >>> normalise_text("<strong>What  do you</strong>\\u00a0expect?")
    'what do you expect?'
    >>> normalise_text("I\\u2019m ") == normalise_text("i'm")
    True
    """
    text = html.unescape(_TAGS.sub(" ", str(text)))
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return _SPACE.sub(" ", text).strip()


# --- codebook ---------------------------------------------------------------------

@dataclass(frozen=True)
class Scale:
    """An ordered response scale with labels in several languages.

    Examples
    --------
    >>> s = Scale("yn", ((0, {"en": "No", "nl": "Nee"}), (1, {"en": "Yes", "nl": "Ja"})),
    ...           {"dont_know": ("Weet ik niet",)})
    >>> s.codes["ja"], s.missing_codes["weet ik niet"], s.labels
    (1, 'dont_know', ['No', 'Yes'])
    """

    name: str
    levels: tuple  # of (code, {language: label})
    missing: dict = field(default_factory=dict)  # reason -> labels

    @property
    def labels(self) -> list[str]:
        """Canonical label of each level (its first language), in order."""
        return [next(iter(labels.values())) for _, labels in self.levels]

    @property
    def codes(self) -> dict[str, int]:
        """Normalised label (any language) -> code."""
        return {normalise_text(label): code for code, labels in self.levels for label in labels.values()}

    @property
    def missing_codes(self) -> dict[str, str]:
        """Normalised missing-code label -> reason (e.g. ``dont_know``)."""
        return {normalise_text(label): reason for reason, labels in self.missing.items() for label in labels}

    @property
    def min_code(self) -> int:
        return min(code for code, _ in self.levels)

    @property
    def max_code(self) -> int:
        return max(code for code, _ in self.levels)


@dataclass(frozen=True)
class Variable:
    """One variable of the codebook and how to find its column."""

    name: str
    role: str
    waves: tuple
    text: tuple = ()
    normalised: tuple = ()
    regex: tuple = ()
    scale: Scale | None = None
    reverse: bool = False
    construct: str | None = None
    pii: bool = False
    line: int = 0
    #: May be absent from a source (real question sets change between years).
    optional: bool = False
    #: Multi-select: (key, labels) per option; ``separator`` for answers joined in one cell.
    options: tuple = ()
    separator: str | None = None
    layout: str = "joined"
    #: Multi-select in columns: keys of the options whose cell may hold any text ("Other: ...").
    any_text: tuple = ()
    #: How reports show the variable: language -> text (default: its question text).
    label: dict = field(default_factory=dict)

    def shown(self, language: str = "en") -> str:
        """The variable as a participant read it: its label, else its question text, else its name.

        Examples
        --------
        >>> Variable("q", "item", ("pre",), text=("How much do you agree? [I plan my time]",)).shown()
        'How much do you agree? [I plan my time]'
        >>> Variable("q", "item", ("pre",), label={"en": "I plan", "nl": "Ik plan"}).shown("nl")
        'Ik plan'
        """
        if self.label:
            return in_language(self.label, language)
        return (self.text or self.normalised or (self.name,))[0]

    def option_columns(self) -> list[str]:
        """Names of the output columns of a multi-select variable (``var:key``)."""
        return [f"{self.name}:{key}" for key, _ in self.options]

    def matches(self, column: str, question: str) -> bool:
        """Whether a column (by header or question text) is this variable's.

        Examples
        --------
        >>> v = Variable("q", "item", ("pre",), normalised=("your  ROLE?",))
        >>> v.matches("Q7", "<b>Your role?</b>"), v.matches("Q8", "Your goal?")
        (True, False)
        """
        candidates = (column, question)
        if any(c in self.text for c in candidates):
            return True
        wanted = {normalise_text(t) for t in self.normalised}
        if any(normalise_text(c) in wanted for c in candidates):
            return True
        return any(re.search(p, c) for p in self.regex for c in candidates)


def in_language(labels: dict, language: str = "en") -> str:
    """A text in the wanted language, else English, else the first given.

    Examples
    --------
    >>> in_language({"en": "focus", "nl": "focus op doelen"}, "nl"), in_language({"en": "guts"}, "nl")
    ('focus op doelen', 'guts')
    """
    for lang in (language, "en"):
        if labels.get(lang):
            return labels[lang]
    return next(iter(labels.values()))


@dataclass(frozen=True)
class Construct:
    """A construct measured by several items, with the label reports use."""

    name: str
    label: dict = field(default_factory=dict)
    #: Which readiness aspect (:data:`READINESS_ASPECTS`) it measures, if any.
    aspect: str | None = None

    def shown(self, language: str = "en") -> str:
        """Plain label, or the name with spaces.

        Examples
        --------
        >>> Construct("prior_use").shown(), Construct("ts", {"en": "tool skills"}).shown()
        ('prior use', 'tool skills')
        """
        return in_language(self.label, language) if self.label else self.name.replace("_", " ")


@dataclass(frozen=True)
class OutcomeSpec:
    """An outcome the entry-point comparison measures, as the codebook declares it.

    One item is compared on its own (ordinal, or binary for a two-level
    scale); several items form a composite, the mean of a person's answered
    items, and each item is also compared on its own. ``baseline`` items
    (one per item, asked before the workshop) add a gain: after minus before.
    """

    name: str
    family: str
    items: tuple
    label: dict = field(default_factory=dict)
    baseline: tuple = ()
    line: int = 0

    def shown(self, language: str = "en") -> str:
        return in_language(self.label, language) if self.label else self.name.replace("_", " ")


@dataclass(frozen=True)
class Codebook:
    """All variables, scales, constructs and outcomes of a study."""

    path: Path
    variables: dict
    scales: dict
    constructs: dict = field(default_factory=dict)
    outcomes: dict = field(default_factory=dict)

    def construct(self, name: str) -> Construct:
        """The construct called ``name`` (declared or not)."""
        return self.constructs.get(name) or Construct(name)

    def by_role(self, *roles: str) -> list[Variable]:
        return [v for v in self.variables.values() if v.role in roles]

    def match_columns(self, questions: dict, wave: str, source: str,
                      parts: dict | None = None) -> dict[str, list[str]]:
        """Map each variable of ``wave`` to its column(s) in one export.

        A variable matches exactly one column, except role ``ignore`` which
        may match several (such as a tool's latitude and longitude). A text
        variable whose question the export asks only in numbered slots
        (``parts``, see :class:`analysis.io.RawExport`) has no column of its
        own: its list is empty and :meth:`match_parts` finds the slots.

        Raises
        ------
        InputError
            A variable that matches no column, or two columns.
        """
        parts = parts or {}
        found: dict[str, list[str]] = {}
        for var in self.variables.values():
            if wave not in var.waves:
                continue
            if var.role == "multiselect" and var.layout == "columns":
                cols = _option_block(var, list(questions))
            else:
                cols = [c for c, q in questions.items() if var.matches(c, q)]
            if not cols and any(var.matches(q, q) for q, _ in parts.values()):
                if var.role != "text":
                    raise InputError(self.path, f"a column in {source} for variable {var.name!r}, found only "
                                     "numbered parts of its question (a question with several answers needs "
                                     "role text)", row=var.line, column=var.name)
                found[var.name] = []
                continue
            if not cols and var.optional:
                continue
            if not cols:
                raise InputError(self.path, _no_column(var, questions, source), row=var.line, column=var.name)
            if len(cols) > 1 and var.role != "ignore" and not (var.role == "multiselect" and var.layout == "columns"):
                raise InputError(self.path, f"one column in {source} for variable {var.name!r}, "
                                 f"found {len(cols)}: {', '.join(cols[:3])}", row=var.line, column=var.name)
            if var.role == "multiselect" and var.layout == "joined":
                labels = {normalise_text(label) for _, ls in var.options for label in ls}
                if normalise_text(re.sub(r"\.\d+$", "", cols[0])) in labels:
                    raise InputError(self.path, f"the question's one column in {source} for multi-select "
                                     f"{var.name!r}, found {cols[0]!r}, headed by one of its options: the export has "
                                     "a column per option (set layout: columns)", row=var.line, column=var.name)
            found[var.name] = cols
        return found

    def match_parts(self, columns: dict, parts: dict, source: str) -> dict[str, dict[str, str]]:
        """The slots and write-ins of each variable's question: ``{variable: {clean column: export column}}``.

        ``columns`` is what :meth:`match_columns` found; ``parts`` maps export
        columns to ``(question, part)``. A part no variable has taken by its
        own header belongs to the variable matching its question: slot ``"2"``
        becomes ``<variable>_2``, a write-in ``<variable>_other``. Parts are
        free text, whatever the variable's role.

        Raises
        ------
        InputError
            Two columns for one part, or a part named like another variable.

        Examples
        --------
        >>> cb = Codebook(Path("codebook.yaml"), {"tools": Variable("tools", "text", ("pre",), text=("Which?",))}, {})
        >>> parts = {"T #1:Which?": ("Which?", "1"), "T #2:Which?": ("Which?", "2")}
        >>> cb.match_parts(cb.match_columns({c: c for c in parts}, "pre", "export.csv", parts), parts, "export.csv")
        {'tools': {'tools_1': 'T #1:Which?', 'tools_2': 'T #2:Which?'}}
        """
        taken = {c for cols in columns.values() for c in cols}
        names = set(self.variables) | {
            f"{name}{suffix}" for name, var in self.variables.items() if var.role in ("item", "consent")
            for suffix in ("_code", "_missing")} | {
            c for var in self.variables.values() if var.role == "multiselect" for c in var.option_columns()}
        found: dict[str, dict[str, str]] = {}
        owner: dict[str, str] = {}
        for name in columns:
            var = self.variables[name]
            if var.role == "ignore":
                continue
            for col, (question, part) in parts.items():
                if col in taken or not var.matches(question, question):
                    continue
                if col in owner:
                    raise InputError(self.path, f"variable {name!r} in {source}: the question of {col!r} is "
                                     f"also variable {owner[col]!r}'s", row=var.line, column=name)
                owner[col] = name
                column = f"{name}_{part}"
                mine = found.setdefault(name, {})
                if column in mine or column in names:
                    what = (f"two columns for part {part!r} ({mine[column]!r}, {col!r})" if column in mine
                            else f"part {part!r} of its question ({col!r}) named {column!r} like another variable")
                    raise InputError(self.path, f"variable {name!r} in {source}: {what}; map the columns "
                                     "with variables of their own", row=var.line, column=name)
                mine[column] = col
        return found


def _tried(var: Variable) -> str:
    """The match a variable tried, in a user's words."""
    kinds = [(kind, values) for kind, values in (("text", var.text), ("normalised text", var.normalised),
                                                  ("regex", var.regex)) if values]
    return "; ".join(f"{kind} {', '.join(repr(v) for v in values[:3])}" for kind, values in kinds) or "no match"


def closest_headers(wanted: str, questions: dict, n: int = 3) -> list[str]:
    """The export's headers nearest to ``wanted`` (compared normalised), best first.

    Examples
    --------
    >>> closest_headers("Your rol?", {"Q1": "Your role?", "Q2": "Your goal?", "Q3": "Age"})
    ['Q1', 'Q2']
    """
    import difflib

    norm = {}
    for col, question in questions.items():
        for text in dict.fromkeys((col, question)):
            norm.setdefault(normalise_text(text), col)
    hits = difflib.get_close_matches(normalise_text(wanted), list(norm), n=n * 2, cutoff=0.5)
    return list(dict.fromkeys(norm[h] for h in hits))[:n]


def _no_column(var: Variable, questions: dict, source: str) -> str:
    """What to fix when a variable matches no column: the match tried and the nearest headers."""
    if var.role == "multiselect" and var.layout == "columns":
        labels = [labels[0] for _, labels in var.options]
        near = list(dict.fromkeys(c for label in labels for c in closest_headers(label, questions, 1)))
        return (f"a run of adjacent columns in {source} headed by the options of multi-select {var.name!r} "
                f"({', '.join(repr(x) for x in labels[:6])}{', ...' if len(labels) > 6 else ''}); "
                f"nearest headers: {', '.join(repr(c) for c in near[:6]) or 'none'}")
    wanted = (var.text or var.normalised or tuple(re.sub(r"[\\^$]", "", p) for p in var.regex) or (var.name,))[0]
    near = closest_headers(wanted, questions)
    return (f"a column in {source} for variable {var.name!r} matching {_tried(var)}; closest headers: "
            f"{', '.join(repr(c) for c in near) or 'none'}")


def _option_block(var: Variable, columns: list[str]) -> list[str]:
    """The contiguous run of columns headed by a multi-select's options, in order.

    Typeform writes one column per option, headed by the option's text; "Other"
    may head several blocks, so the block is found as a whole.
    """
    def head(col: str) -> str:
        return normalise_text(re.sub(r"\.\d+$", "", col))

    wanted = [{normalise_text(label) for label in labels} for _, labels in var.options]
    for start in range(len(columns) - len(wanted) + 1):
        if all(head(columns[start + k]) in w for k, w in enumerate(wanted)):
            block = columns[start:start + len(wanted)]
            if not var.text and not var.normalised and not var.regex:
                return block
            # with match texts, the column before the block must be the question
            if start and var.matches(columns[start - 1], columns[start - 1]):
                return block
    return []


def _option_key(label: str) -> str:
    """A column-name-safe key for an option label.

    Examples
    --------
    >>> [_option_key(x) for x in ["C", "C++", "C#", "Matlab / Octave"]]
    ['c', 'cplusplus', 'csharp', 'matlab_octave']
    """
    text = normalise_text(label).replace("+", "plus").replace("#", "sharp")
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_") or "option"


def _load_scale(path: Path, name: str, spec) -> Scale:
    _check_keys(path, spec, ("levels", "missing"), where=f"scales.{name}")
    levels = spec.get("levels")
    if not isinstance(levels, list) or not levels:
        raise InputError(path, "a non-empty list of levels", row=spec.line, column=f"scales.{name}.levels")
    parsed = []
    for level in levels:
        if not isinstance(level, dict) or not isinstance(level.get("code"), int) or len(level) < 2:
            raise InputError(path, "a level with an integer code and at least one label",
                             row=getattr(level, "line", spec.line), column=f"scales.{name}.levels")
        parsed.append((level["code"], {lang: str(lab) for lang, lab in level.items() if lang != "code"}))
    missing = spec.get("missing") or {}
    return Scale(name, tuple(parsed), {reason: tuple(map(str, _as_list(labels)))
                                       for reason, labels in missing.items()})


def _load_options(path: Path, spec, where: str) -> tuple:
    """Options of a multi-select: a list of labels, or of ``{key:, en:, nl:}`` mappings."""
    if spec["role"] != "multiselect":
        if "options" in spec:
            raise InputError(path, "options only on a variable of role 'multiselect'", row=spec.lines["options"],
                             column=f"{where}.options")
        return (), ()
    raw = spec.get("options")
    if not isinstance(raw, list) or not raw:
        raise InputError(path, "a non-empty list of options", row=spec.line, column=f"{where}.options")
    if spec.get("layout", "joined") not in ("joined", "columns"):
        raise InputError(path, "layout 'joined' or 'columns'", row=spec.lines["layout"], column=f"{where}.layout")
    if spec.get("layout", "joined") == "joined" and not spec.get("separator"):
        raise InputError(path, "a separator for answers joined in one cell (e.g. '; ')", row=spec.line,
                         column=f"{where}.separator")
    options, any_text = [], []
    for option in raw:
        if isinstance(option, dict):
            labels = tuple(str(v) for k, v in option.items() if k not in ("key", "any_text"))
            if not labels:
                raise InputError(path, "an option with a label (en: ...)", row=getattr(option, "line", spec.line),
                                 column=f"{where}.options")
            key = str(option.get("key") or _option_key(labels[0]))
            if option.get("any_text"):
                any_text.append(key)
        else:
            labels, key = (str(option),), _option_key(str(option))
        options.append((key, labels))
    keys = [k for k, _ in options]
    if len(set(keys)) != len(keys):
        raise InputError(path, "options with distinct keys", row=spec.lines["options"], column=f"{where}.options")
    return tuple(options), tuple(any_text)


def load_codebook(path) -> Codebook:
    """Load and validate a codebook.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> cb = load_codebook(SAMPLE_DIR / "codebook.yaml")
    >>> cb.variables["ts_confused"].reverse, cb.variables["ts_confused"].scale.labels[-1]
    (True, 'Strongly agree')
    """
    path = Path(path)
    data = _load_yaml(path)
    _check_keys(path, data, ("version", "scales", "variables", "constructs", "outcomes", "codes",
                                   "codes_replace_defaults", "tools"), required=("variables",))
    scales = {name: _load_scale(path, name, spec) for name, spec in (data.get("scales") or {}).items()}
    variables = {}
    allowed = ("role", "waves", "match", "scale", "reverse", "construct", "pii", "label", "description",
               "optional", "options", "separator", "layout")
    if not isinstance(data["variables"], _Mapping):
        raise InputError(path, "a mapping of variable names to their entries", row=data.lines["variables"],
                         column="variables")
    entries = []  # (name, spec, line): item blocks expanded in place
    for name, spec in data["variables"].items():
        if isinstance(spec, _Mapping) and "items" in spec:
            entries.extend(_expand_block(path, name, spec))
        else:
            entries.append((name, spec, data["variables"].lines[name]))
    for name, spec, line in entries:
        where = f"variables.{name}"
        if name in variables:
            raise InputError(path, "each variable name once (in variables and item blocks)", row=line, column=where)
        columns_layout = isinstance(spec, dict) and spec.get("layout") == "columns"
        _check_keys(path, spec, allowed, required=("role", "waves") + (() if columns_layout else ("match",)),
                    where=where)
        if spec["role"] not in ROLES:
            raise InputError(path, f"a role among {', '.join(ROLES)}", row=spec.lines["role"], column=f"{where}.role")
        options, any_text = _load_options(path, spec, where)
        match = spec.get("match") or _Mapping()
        match.lines = getattr(match, "lines", {})
        match.line = getattr(match, "line", spec.line)
        _check_keys(path, match, MATCH_KINDS, where=f"{where}.match")
        for pattern in _as_list(match.get("regex", [])):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise InputError(path, f"a valid regular expression ({exc})", row=match.lines["regex"],
                                 column=f"{where}.match.regex") from None
        scale = None
        if "scale" in spec:
            if spec["scale"] not in scales:
                raise InputError(path, f"a scale defined under 'scales' (have: {', '.join(scales)})",
                                 row=spec.lines["scale"], column=f"{where}.scale")
            scale = scales[spec["scale"]]
        elif spec["role"] in ("item", "consent"):
            raise InputError(path, f"a scale for a variable of role {spec['role']!r}", row=spec.line, column=where)
        variables[name] = Variable(
            name=name, role=spec["role"], waves=tuple(_as_list(spec["waves"])),
            text=tuple(map(str, _as_list(match.get("text", [])))),
            normalised=tuple(map(str, _as_list(match.get("normalised", [])))),
            regex=tuple(map(str, _as_list(match.get("regex", [])))),
            scale=scale, reverse=bool(spec.get("reverse", False)), construct=spec.get("construct"),
            pii=bool(spec.get("pii", spec["role"] == "identifier")), line=line,
            optional=bool(spec.get("optional", False)), options=options, any_text=any_text,
            separator=spec.get("separator"), layout=str(spec.get("layout", "joined")),
            label=_load_label(path, spec, "label", where))
    constructs = _load_constructs(path, data, variables)
    outcomes = _load_outcomes(path, data, variables)
    return Codebook(path, variables, scales, constructs, outcomes)


_BLOCK_KEYS = ("items", "pattern", "role", "waves", "scale", "construct", "reverse", "optional", "pii",
               "description")
_BLOCK_ITEM_KEYS = ("text", "construct", "reverse", "optional", "label", "description")


def _expand_block(path: Path, name: str, spec) -> list:
    """An item block as ordinary variable entries, in the order of its items.

    A block declares the statements of one grid question at once::

        readiness_grid:
          pattern: "How much do you agree with each statement? [{item}]"
          scale: agree5
          waves: [pre]
          construct: tool_skills          # default of every item (optional)
          items:
            ts_twitter: I know how to post a message on Twitter
            ts_confused: {text: Social media tools confuse me, reverse: true}

    Each item becomes variable ``ts_twitter`` ... whose column is the pattern
    with ``{item}`` replaced by the item's text (compared without case, HTML
    or spacing), labelled by that text unless it has a ``label`` of its own.
    """
    where = f"variables.{name}"
    _check_keys(path, spec, _BLOCK_KEYS, required=("items", "pattern", "waves"), where=where)
    pattern = spec["pattern"]
    if not isinstance(pattern, str) or "{item}" not in pattern:
        raise InputError(path, "a pattern holding {item} where each item's text goes, e.g. "
                         "'How much do you agree? [{item}]'", row=spec.lines["pattern"], column=f"{where}.pattern")
    items = spec["items"]
    if not isinstance(items, _Mapping) or not items:
        raise InputError(path, "a mapping of item names to their texts", row=spec.lines["items"],
                         column=f"{where}.items")
    shared = {k: spec[k] for k in ("role", "waves", "scale", "construct", "reverse", "optional", "pii")
              if k in spec}
    shared.setdefault("role", "item")
    out = []
    for item, value in items.items():
        line = items.lines[item]
        entry = _Mapping(shared)
        entry.lines = {k: spec.lines[k] for k in shared if k in spec.lines}
        entry.lines.setdefault("role", spec.line)
        entry.line = line
        if isinstance(value, _Mapping):
            _check_keys(path, value, _BLOCK_ITEM_KEYS, required=("text",), where=f"{where}.items.{item}")
            entry.update({k: v for k, v in value.items() if k != "text"})
            entry.lines.update(value.lines)
            text = value["text"]
        else:
            text = value
        if not isinstance(text, (str, int, float)) or isinstance(text, bool) or not str(text).strip():
            raise InputError(path, "the item's text as the export shows it in the pattern", row=line,
                             column=f"{where}.items.{item}")
        match = _Mapping(normalised=[pattern.replace("{item}", str(text))])
        match.lines, match.line = {"normalised": line}, line
        entry["match"] = match
        entry.lines["match"] = line
        entry.setdefault("label", str(text))
        out.append((item, entry, line))
    return out


def _load_label(path: Path, spec, key: str, where: str) -> dict:
    """A label: a plain text, or a mapping language -> text."""
    value = spec.get(key)
    if value is None:
        return {}
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return {"en": str(value)}
    if isinstance(value, dict) and value and all(isinstance(v, (str, int, float)) for v in value.values()):
        return {str(k): str(v) for k, v in value.items()}
    raise InputError(path, "a text, or a mapping of language to text (en: ..., nl: ...)",
                     row=spec.lines.get(key, spec.line), column=f"{where}.{key}")


def _load_constructs(path: Path, data, variables: dict) -> dict:
    measured = {v.construct for v in variables.values() if v.construct}
    out = {}
    for name, spec in (data.get("constructs") or {}).items():
        where = f"constructs.{name}"
        _check_keys(path, spec, ("label", "aspect", "description"), where=where)
        if name not in measured:
            raise InputError(path, f"a construct that some item measures (construct: {name})",
                             row=data["constructs"].lines[name], column=where)
        aspect = spec.get("aspect")
        if aspect is not None and aspect not in READINESS_ASPECTS:
            raise InputError(path, f"an aspect among {', '.join(READINESS_ASPECTS)}", row=spec.lines["aspect"],
                             column=f"{where}.aspect")
        out[name] = Construct(name, _load_label(path, spec, "label", where), aspect)
    for name in sorted(measured - set(out)):  # undeclared: labelled by their name
        out[name] = Construct(name, {}, name if name in READINESS_ASPECTS else None)
    return out


def _load_outcomes(path: Path, data, variables: dict) -> dict:
    out = {}
    names = set(variables)
    for name, spec in (data.get("outcomes") or {}).items():
        where = f"outcomes.{name}"
        _check_keys(path, spec, ("label", "family", "items", "baseline", "description"), required=("items",),
                    where=where)
        family = spec.get("family", "other")
        if family not in OUTCOME_FAMILIES:
            raise InputError(path, f"a family among {', '.join(OUTCOME_FAMILIES)}", row=spec.lines["family"],
                             column=f"{where}.family")
        lists = {}
        for key in ("items", "baseline"):
            value = _as_list(spec.get(key) or [])
            if key == "items" and not value:
                raise InputError(path, "at least one item", row=spec.lines[key], column=f"{where}.{key}")
            for item in value:
                var = variables.get(item)
                if var is None or var.role != "item":
                    raise InputError(path, f"a variable of role item (found {item!r})", row=spec.lines[key],
                                     column=f"{where}.{key}")
            lists[key] = tuple(map(str, value))
        if lists["baseline"] and len(lists["baseline"]) != len(lists["items"]):
            raise InputError(path, f"one baseline item per item ({len(lists['items'])}), found "
                             f"{len(lists['baseline'])}", row=spec.lines["baseline"], column=f"{where}.baseline")
        scales = {variables[i].scale.name for i in lists["items"] + lists["baseline"]}
        if len(scales) > 1:
            raise InputError(path, f"items on one answer scale, found {', '.join(sorted(scales))}",
                             row=spec.lines["items"], column=f"{where}.items")
        clash = ({name, f"{name}_gain"} & names) if len(lists["items"]) > 1 or lists["baseline"] else set()
        if name in out or clash:
            raise InputError(path, f"an outcome name that is not also a variable ({', '.join(sorted(clash))})",
                             row=data["outcomes"].lines[name], column=where)
        out[name] = OutcomeSpec(name, family, lists["items"], _load_label(path, spec, "label", where),
                                lists["baseline"], data["outcomes"].lines[name])
    return out


# --- study file -------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    path: Path
    name: str
    wave: str
    format: str | None
    #: Cell texts that mean "no answer" in this export (R writes ``NA``).
    na_values: tuple = ()


@dataclass(frozen=True)
class ExcludeRule:
    variable: str
    pattern: re.Pattern
    reason: str


@dataclass(frozen=True)
class Study:
    """A validated study file with its codebook."""

    path: Path
    title: str
    codebook: Codebook
    sources: tuple
    waves: tuple
    participant_key: str | None
    pseudonym_key: str | None
    workshop: str | None
    entry_point_map: dict
    exclude: tuple
    #: Names of people who are not identifiers in the exports (trainers): scrubbed and gated too.
    roster: tuple = ()
    #: The group variable whose answers the entry-point map is applied to (default: the workshop).
    entry_point_from: str | None = None
    #: (compiled regular expression, entry point) tried in order when an answer is not in the map.
    entry_point_patterns: tuple = ()
    settings: Settings = field(default_factory=Settings)
    roster_file: Path | None = None
    #: The consent variable every participant must have answered in some wave (``consent: {required: true}``).
    consent_required: str | None = None

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def has_entry_points(self) -> bool:
        """Whether the study file says which entry point each session used (by label or pattern)."""
        return bool(self.entry_point_map or self.entry_point_patterns)

    def entry_point_of(self, answer: str) -> str | None:
        """The entry point of a session label: its exact (normalised) label, else the first pattern found in it.

        Examples
        --------
        >>> from analysis.paths import SAMPLE_STUDY
        >>> study = load_study(SAMPLE_STUDY)
        >>> study.entry_point_of("utrecht,  3 March 2026"), study.entry_point_of("Lund")
        ('strategy-first', None)
        """
        found = self.entry_point_map.get(normalise_text(answer))
        if found is None:
            found = next((arm for pattern, arm in self.entry_point_patterns if pattern.search(answer)), None)
        return found

    def wave(self, role: str) -> str | None:
        """The wave that plays ``role`` (baseline, after, followup): set in ``analysis:``, else by order.

        Examples
        --------
        >>> from analysis.paths import SAMPLE_STUDY
        >>> study = load_study(SAMPLE_STUDY)
        >>> study.wave("baseline"), study.wave("after"), study.wave("followup")
        ('pre', 'post', 'followup')
        """
        set_to = getattr(self.settings, role)
        if set_to is not None:
            return set_to
        position = ("baseline", "after", "followup").index(role)
        return self.waves[position] if position < len(self.waves) else None

    @property
    def readiness(self) -> tuple:
        """The constructs that define readiness profiles (empty: none declared)."""
        return self.settings.readiness

    def with_settings(self, settings: Settings) -> Study:
        """The same study analysed with other settings (checked against the study)."""
        import dataclasses

        study = dataclasses.replace(self, settings=settings)
        _check_settings(study)
        return study


def _expand(root: Path, pattern: str) -> list[tuple[Path, str]]:
    """Files a source path names: one file, or every match of a glob (``data/*/*.csv``).

    A glob's files are named by their path below the pattern's fixed part, so a
    study of one export per workshop reads as ``2018/lund-may.csv``.
    """
    if not any(ch in pattern for ch in "*?["):
        file = root / pattern
        return [(file, pattern)] if file.is_file() else []
    parts = Path(pattern).parts
    fixed = next(k for k, part in enumerate(parts) if any(ch in part for ch in "*?["))
    base = root.joinpath(*parts[:fixed])
    matches = sorted(p for p in base.glob(str(Path(*parts[fixed:]))) if p.is_file())
    return [(p, p.relative_to(base).as_posix()) for p in matches]


_STUDY_KEYS = ("study", "codebook", "participant_key", "pseudonym_key", "sources", "waves", "groups",
               "exclude", "roster", "description", "analysis", "human_codes", "consent")


def _load_settings(path: Path, data) -> Settings:
    """The ``analysis:`` block over the defaults; a bad value names its line and key."""
    spec = data.get("analysis")
    if spec is None:
        return Settings()
    _check_keys(path, spec, SETTING_KEYS, where="analysis")
    values = dict(spec)
    if "readiness" in values:
        values["readiness"] = tuple(_as_list(values["readiness"] or []))
    try:
        return Settings().replace(origin="study file", **values)
    except ValueError as exc:
        key = next((k for k in spec if str(exc).startswith(k + " ")), None)
        raise InputError(path, str(exc), row=spec.lines.get(key, spec.line),
                         column=f"analysis.{key}" if key else "analysis") from None


def _check_settings(study: Study) -> None:
    """Settings that name waves or constructs must name the study's own."""
    s, cb = study.settings, study.codebook
    where = study.path
    for role in ("baseline", "after", "followup"):
        wave = getattr(s, role)
        if wave is not None and wave not in study.waves:
            raise InputError(where, f"a wave among {', '.join(study.waves)} for {role}, got {wave!r}",
                             column=f"analysis.{role}")
    measured = construct_waves(cb)
    baseline = study.wave("baseline")
    for construct in s.readiness:
        if construct not in measured:
            raise InputError(where, f"a construct of the codebook for readiness (have: "
                             f"{', '.join(sorted(measured)) or 'none'}), got {construct!r}", column="analysis.readiness")
        if baseline not in measured[construct]:
            raise InputError(where, f"readiness construct {construct!r} measured in the baseline wave "
                             f"{baseline!r}; its items are asked in {', '.join(sorted(measured[construct]))}",
                             column="analysis.readiness")


def construct_waves(codebook: Codebook) -> dict[str, set]:
    """The waves each construct's items are asked in."""
    found: dict[str, set] = {}
    for var in codebook.variables.values():
        if var.role == "item" and var.construct:
            found.setdefault(var.construct, set()).update(var.waves)
    return found


def load_study(path) -> Study:
    """Load and validate a study file and the codebook it names.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_STUDY
    >>> study = load_study(SAMPLE_STUDY)
    >>> [s.wave for s in study.sources], study.participant_key
    (['pre', 'post', 'followup'], 'email')
    >>> sorted(set(study.entry_point_map.values()))
    ['strategy-first', 'tool-first']
    """
    path = Path(path).resolve()
    data = _load_yaml(path)
    _check_keys(path, data, _STUDY_KEYS, required=("codebook", "sources"))
    codebook = load_codebook(path.parent / str(data["codebook"]))
    sources_spec = data["sources"]
    if not isinstance(sources_spec, list) or not sources_spec:
        raise InputError(path, "a non-empty list of sources", row=data.lines["sources"], column="sources")
    waves = tuple(_as_list(data.get("waves") or []))
    sources = []
    for spec in sources_spec:
        _check_keys(path, spec, ("path", "wave", "format", "name", "na_values"), required=("path", "wave"),
                    where="sources")
        if spec.get("format") is not None and spec["format"] not in FORMATS:
            raise InputError(path, f"a format among {', '.join(FORMATS)}", row=spec.lines["format"],
                             column="sources.format")
        if waves and spec["wave"] not in waves:
            raise InputError(path, f"a wave among {', '.join(waves)}", row=spec.lines["wave"], column="sources.wave")
        files = _expand(path.parent, str(spec["path"]))
        if not files:
            raise InputError(path, f"an existing export file at {spec['path']}", row=spec.lines["path"],
                             column="sources.path")
        for file, name in files:
            sources.append(Source(file, str(spec.get("name", name)) if len(files) == 1 else name, str(spec["wave"]),
                                  spec.get("format"), tuple(map(str, _as_list(spec.get("na_values", []))))))
    if not waves:
        waves = tuple(dict.fromkeys(s.wave for s in sources))

    def known_variable(name, key, roles):
        if name is None:
            return None
        var = codebook.variables.get(name)
        if var is None or var.role not in roles:
            raise InputError(path, f"a codebook variable with role {' or '.join(roles)}",
                             row=data.lines.get(key), column=key)
        return name

    key = known_variable(data.get("participant_key"), "participant_key", ("identifier",))
    groups = data.get("groups") or _Mapping()
    workshop, entry_map, entry_from, entry_patterns = None, {}, None, []
    if groups:
        _check_keys(path, groups, ("workshop", "entry_point"), where="groups")
        workshop = known_variable(groups.get("workshop"), "groups", ("group",))
        entry = groups.get("entry_point")
        if entry is not None:
            _check_keys(path, entry, ("from", "map", "patterns"), required=("from",), where="groups.entry_point")
            entry_from = known_variable(entry["from"], "groups", ("group",))
            if "map" not in entry and "patterns" not in entry:
                raise InputError(path, "a map of session labels to entry points, or patterns, or both",
                                 row=entry.line, column="groups.entry_point")
            for part in ("map", "patterns"):
                if part in entry and (not isinstance(entry[part], dict) or not entry[part]):
                    raise InputError(path, f"a mapping of {'answers' if part == 'map' else 'regular expressions'} "
                                     "to entry points", row=entry.lines[part], column=f"groups.entry_point.{part}")
                for label, arm in (entry.get(part) or {}).items():
                    if str(arm) not in ENTRY_POINTS:
                        raise InputError(path, f"an entry point among {', '.join(ENTRY_POINTS)}, got {str(arm)!r}",
                                         row=entry[part].lines[label], column=f"groups.entry_point.{part}")
            entry_map = {normalise_text(k): str(v) for k, v in (entry.get("map") or {}).items()}
            for pattern, arm in (entry.get("patterns") or {}).items():
                try:
                    entry_patterns.append((re.compile(str(pattern)), str(arm)))
                except re.error as exc:
                    raise InputError(path, f"a valid regular expression ({exc})", row=entry["patterns"].lines[pattern],
                                     column="groups.entry_point.patterns") from None
    rules = []
    for spec in data.get("exclude") or []:
        _check_keys(path, spec, ("variable", "pattern", "reason"), required=("variable", "pattern"), where="exclude")
        if spec["variable"] not in codebook.variables:
            raise InputError(path, "a codebook variable", row=spec.lines["variable"], column="exclude.variable")
        try:
            pattern = re.compile(str(spec["pattern"]))
        except re.error as exc:
            raise InputError(path, f"a valid regular expression ({exc})", row=spec.lines["pattern"],
                             column="exclude.pattern") from None
        rules.append(ExcludeRule(spec["variable"], pattern, str(spec.get("reason", "excluded by study file"))))
    roster, roster_file = (), None
    if data.get("roster"):
        roster_file = path.parent / str(data["roster"])
        if not roster_file.is_file():
            raise InputError(path, "an existing roster file (one name per line)", row=data.lines["roster"],
                             column="roster")
        lines = roster_file.read_text(encoding="utf-8-sig").splitlines()
        roster = tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    consent = None
    if data.get("consent") is not None:
        spec = data["consent"]
        _check_keys(path, spec, ("required", "variable"), where="consent")
        consents = [v.name for v in codebook.by_role("consent")]
        if spec.get("required", False) not in (True, False):
            raise InputError(path, "required: true or false", row=spec.lines["required"], column="consent.required")
        if spec.get("required", False):
            consent = spec.get("variable", consents[0] if len(consents) == 1 else None)
            if consent not in consents:
                raise InputError(path, "the codebook's consent variable (role: consent)"
                                 + (f", one of {', '.join(consents)}" if consents else "; the codebook has none"),
                                 row=spec.lines.get("variable", spec.line), column="consent.variable")
    settings = _load_settings(path, data)
    study = Study(path=path, title=str(data.get("study", path.stem)), codebook=codebook, sources=tuple(sources),
                  waves=waves, participant_key=key, pseudonym_key=data.get("pseudonym_key"),
                  workshop=workshop, entry_point_map=entry_map, exclude=tuple(rules), roster=roster,
                  entry_point_from=entry_from, settings=settings, roster_file=roster_file,
                  entry_point_patterns=tuple(entry_patterns), consent_required=consent)
    try:
        _check_settings(study)
    except InputError as exc:  # name the line of the analysis block
        block = data.get("analysis")
        key = (exc.column or "").removeprefix("analysis.")
        raise InputError(path, exc.expected, row=block.lines.get(key, block.line) if block else None,
                         column=exc.column) from None
    return study


# --- the study as the results folder keeps it ------------------------------------------

def codebook_to_dict(codebook: Codebook) -> dict:
    """A codebook as plain values (no file paths; match patterns other than texts left out).

    Examples
    --------
    >>> from analysis.paths import SAMPLE_DIR
    >>> cb = load_codebook(SAMPLE_DIR / "codebook.yaml")
    >>> back = codebook_from_dict(codebook_to_dict(cb))
    >>> back.variables["ts_confused"] == cb.variables["ts_confused"].__class__(**{
    ...     **cb.variables["ts_confused"].__dict__, "regex": (), "line": 0})
    True
    >>> back.outcomes["confidence"].items == cb.outcomes["confidence"].items
    True
    """
    scales = {name: {"levels": [[code, labels] for code, labels in s.levels],
                     "missing": {reason: list(labels) for reason, labels in s.missing.items()}}
              for name, s in codebook.scales.items()}
    variables = {}
    for name, v in codebook.variables.items():
        variables[name] = {"role": v.role, "waves": list(v.waves), "text": list(v.text),
                           "normalised": list(v.normalised), "scale": v.scale.name if v.scale else None,
                           "reverse": v.reverse, "construct": v.construct, "pii": v.pii, "optional": v.optional,
                           "options": [[key, list(labels)] for key, labels in v.options],
                           "separator": v.separator, "layout": v.layout, "label": dict(v.label)}
        if v.any_text:  # (only when declared: the stored description of older codebooks stays as it was)
            variables[name]["any_text"] = list(v.any_text)
    return {"scales": scales, "variables": variables,
            "constructs": {n: {"label": dict(c.label), "aspect": c.aspect} for n, c in codebook.constructs.items()},
            "outcomes": {n: {"family": o.family, "items": list(o.items), "label": dict(o.label),
                             "baseline": list(o.baseline)} for n, o in codebook.outcomes.items()}}


def codebook_from_dict(data: dict) -> Codebook:
    """The codebook :func:`codebook_to_dict` described."""
    scales = {name: Scale(name, tuple((code, dict(labels)) for code, labels in spec["levels"]),
                          {reason: tuple(labels) for reason, labels in spec["missing"].items()})
              for name, spec in data["scales"].items()}
    variables = {}
    for name, v in data["variables"].items():
        variables[name] = Variable(
            name=name, role=v["role"], waves=tuple(v["waves"]), text=tuple(v["text"]),
            normalised=tuple(v["normalised"]), scale=scales[v["scale"]] if v["scale"] else None,
            reverse=v["reverse"], construct=v["construct"], pii=v["pii"], optional=v["optional"],
            options=tuple((key, tuple(labels)) for key, labels in v["options"]), separator=v["separator"],
            layout=v["layout"], any_text=tuple(v.get("any_text", ())), label=dict(v["label"]))
    constructs = {n: Construct(n, dict(c["label"]), c["aspect"]) for n, c in data["constructs"].items()}
    outcomes = {n: OutcomeSpec(n, o["family"], tuple(o["items"]), dict(o["label"]), tuple(o["baseline"]))
                for n, o in data["outcomes"].items()}
    return Codebook(Path("codebook.yaml"), variables, scales, constructs, outcomes)


def describe_study(study: Study) -> dict:
    """What later stages and reports need to know of a study, as plain values.

    No file paths, no roster, no exclusion patterns: only what the study file
    and codebook say about the design (title, waves and their roles, sources,
    groups, the codebook) and the settings.

    Examples
    --------
    >>> from analysis.paths import SAMPLE_STUDY
    >>> d = describe_study(load_study(SAMPLE_STUDY))
    >>> d["roles"], d["readiness"], d["entry_point_from"]
    ({'baseline': 'pre', 'after': 'post', 'followup': 'followup'}, ['tool_skills', 'focus', 'guts'], 'workshop')
    """
    return {
        "title": study.title,
        "waves": list(study.waves),
        "roles": {role: study.wave(role) for role in ("baseline", "after", "followup")},
        "sources": [{"name": s.name, "wave": s.wave, "format": s.format} for s in study.sources],
        "participant_key": study.participant_key is not None,
        "workshop": study.workshop,
        "entry_point_from": study.entry_point_from,
        "entry_point_map": study.has_entry_points,
        "readiness": list(study.readiness),
        "settings": study.settings.as_dict(),
        "codebook": codebook_to_dict(study.codebook),
    }
