"""Plots stage: every figure, one visual language.

Colours come from the Okabe-Ito palette, which stays distinguishable for the
common forms of colour blindness; the same thing always gets the same colour
(an entry point, a missing-data reason). Functions take the tidy tables the
other stages return and give back a :class:`matplotlib.figure.Figure` made
without pyplot: no global figure state, nothing shown twice; a notebook shows
the figure by ending a cell with it.
"""

from __future__ import annotations

import functools

import matplotlib as mpl
import pandas as pd
from babel.numbers import get_decimal_symbol
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

OKABE_ITO = {"orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999",
             "black": "#000000"}
ENTRY_POINT_COLOURS = {"strategy-first": OKABE_ITO["blue"], "tool-first": OKABE_ITO["orange"]}
#: Why an answer or a row is missing -> colour.
REASON_COLOURS = {"clean": OKABE_ITO["green"], "blank": OKABE_ITO["grey"], "dont_know": OKABE_ITO["purple"],
                  "not_applicable": OKABE_ITO["sky"], "invalid": OKABE_ITO["vermillion"],
                  "duplicate": OKABE_ITO["sky"], "empty": OKABE_ITO["grey"], "preview": OKABE_ITO["yellow"],
                  "test submission": OKABE_ITO["yellow"], "no consent": OKABE_ITO["purple"],
                  "missing participant key": OKABE_ITO["vermillion"]}
#: How a missing code is written on figures.
REASON_LABELS = {"dont_know": "don't know", "not_applicable": "N/A"}
#: Reasons that share a colour with a kindred reason are told apart by hatching.
REASON_HATCHES = {"preview": "///"}
STYLE = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.spines.top": False,
         "axes.spines.right": False, "axes.titlesize": 11, "axes.titleweight": "bold"}


class Described:
    """A figure as a report shows it: a PNG at twice the screen resolution, with its alt text.

    Notebooks display it like a figure; the alt text (made from the numbers the
    figure shows) goes into the page's ``<img alt=...>`` and is the plain-text
    form of the output.

    Examples
    --------
    >>> fig = Figure(figsize=(2, 1))
    >>> data, meta = Described(fig, "an empty frame")._repr_mimebundle_()
    >>> data["text/plain"], meta["image/png"]["alt"], meta["image/png"]["width"] > 0
    ('an empty frame', 'an empty frame', True)
    """

    def __init__(self, figure: Figure, alt: str):
        self.figure, self.alt = figure, alt

    def _repr_mimebundle_(self, include=None, exclude=None):
        import base64
        import io

        buffer = io.BytesIO()
        dpi = self.figure.get_dpi()
        self.figure.savefig(buffer, format="png", dpi=2 * dpi, bbox_inches="tight", metadata={"Software": None})
        width = int.from_bytes(buffer.getvalue()[16:20], "big") // 2  # the PNG header's width, at 1x
        return ({"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"), "text/plain": self.alt},
                {"image/png": {"alt": self.alt, "width": width}})


#: Every word a figure draws, in English; a report in another language passes its own ``words`` (the same
#: keys, from the message catalogue: :func:`analysis.summarise._plot_words`). Fields in braces are filled here.
#: ``words["names"]`` maps a data value (profile, entry point, reason, effect type) to the name shown; the
#: colours stay keyed by the value, so a profile keeps its colour in every language.
WORDS = {
    "rows.xlabel": "rows in the export", "rows.title": "Where every raw row went", "rows.clean": "clean",
    "missing.xlabel": "% of answers missing",
    "likert.xlabel": "% of answers on the scale (middle answer split over the centre line)",
    "likert.effect_title": "tool-first minus\nstrategy-first, {level} CI",
    "likert.symbol.Cliffs_delta": "Cliff's \u03b4", "likert.symbol.risk_difference": "risk diff.",
    "likert.symbol.mean_difference": "mean diff.",
    "forest.everyone": "everyone", "forest.too_few": "too few to interpret",
    "forest.xlabel": "tool-first minus strategy-first, {level} interval (diamonds: difference between profiles)",
    "forest.strategy_higher": "\u2190 strategy-first higher", "forest.tool_higher": "tool-first higher \u2192",
    "forest.numbers": "estimate [{level} CI]  n tool-first/strategy-first",
    "profiles.ylabel": "mean score ({level} interval)", "profiles.title": "What each readiness profile looks like",
    "fit.chosen": "chosen", "fit.too_small": "a profile too small", "fit.xlabel": "number of profiles",
    "fit.ylabel": "{index} (lower is better)", "fit.title": "How well each number of profiles fits",
    "stability.xlabel": "found again in resampled data (mean Jaccard, {level} range)",
    "stability.title": "How stable each profile is",
    "certainty.xlabel": "probability of the assigned profile", "certainty.ylabel": "participants",
    "certainty.title": "How sure each assignment is",
    "shares.too_few": "too few", "shares.colorbar": "share of writers",
}


def _words(words: dict | None) -> tuple[dict, dict]:
    """The figure words (English unless ``words`` gives others) and the shown names of data values."""
    w = {**WORDS, **(words or {})}
    return w, dict(w.get("names") or {})


def _decimal(words: dict | None) -> str:
    """The decimal sign of the figure's language (``words["language"]``, English by default)."""
    return get_decimal_symbol((words or {}).get("language", "en"))


def _local(text: str, words: dict | None) -> str:
    """Numbers written with a point, in the figure's language: ``"+0.32"`` -> ``"+0,32"`` in Dutch.

    Examples
    --------
    >>> _local("+0.32", None), _local("+0.32", {"language": "nl"})
    ('+0.32', '+0,32')
    """
    sign = _decimal(words)
    return text if sign == "." else text.replace(".", sign)


def _bracket(low: float, high: float, words: dict | None) -> str:
    """An interval as the figure's language writes it: ``[0.10, 0.55]``, ``[0,10; 0,55]``.

    Examples
    --------
    >>> _bracket(0.1, 0.55, None), _bracket(0.1, 0.55, {"language": "nl"})
    ('[0.10, 0.55]', '[0,10; 0,55]')
    """
    sep = ", " if _decimal(words) == "." else "; "
    return _local(f"[{low:.2f}{sep}{high:.2f}]", words)


class _LocalFormatter(ScalarFormatter):
    """Matplotlib's tick numbers with another decimal sign."""

    def __init__(self, sign: str):
        super().__init__()
        self.sign = sign

    def __call__(self, x, pos=None):
        return super().__call__(x, pos).replace(".", self.sign)


def _localised(func):
    """Give a figure function's numeric axes the decimal sign of its ``words``' language."""

    @functools.wraps(func)
    def figure(*args, **kwargs):
        fig = func(*args, **kwargs)
        sign = _decimal(kwargs.get("words"))
        if sign != ".":
            for ax in fig.axes:
                for axis in (ax.xaxis, ax.yaxis):
                    if type(axis.get_major_formatter()) is ScalarFormatter:
                        axis.set_major_formatter(_LocalFormatter(sign))
        return fig

    return figure


def _colour(name: str, k: int) -> str:
    spare = [c for c in OKABE_ITO.values() if c not in REASON_COLOURS.values()] or list(OKABE_ITO.values())
    return REASON_COLOURS.get(name, spare[k % len(spare)])


@_localised
def rows_by_source(sources: pd.DataFrame, *, words: dict | None = None) -> Figure:
    """Horizontal stacked bars: each source's rows, clean or set aside by reason.

    Parameters
    ----------
    sources : pandas.DataFrame
        From :func:`analysis.summarise.source_table`.

    Examples
    --------
    >>> t = pd.DataFrame({"source": ["a.csv"], "wave": ["pre"], "rows_clean": [9], "empty": [1]})
    >>> rows_by_source(t).axes[0].get_xlabel()
    'rows in the export'
    """
    w, names = _words(words)
    names.setdefault("clean", w["rows.clean"])
    fixed = {"source", "wave", "format", "rows_in", "rows_complete", "rows_clean", "rows_quarantined"}
    reasons = [c for c in sources.columns if c not in fixed]
    parts = pd.DataFrame({"clean": sources["rows_clean"].to_numpy()} | {r: sources[r].to_numpy() for r in reasons},
                         index=[f"{w}: {s}" for w, s in zip(sources["wave"], sources["source"])])
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(9, 0.6 * len(parts) + 1.6))
        ax = fig.subplots()
        left = pd.Series(0, index=parts.index)
        for k, col in enumerate(parts.columns):
            ax.barh(parts.index, parts[col], left=left, color=_colour(col, k), label=names.get(col, col),
                    hatch=REASON_HATCHES.get(col), edgecolor="white", linewidth=0.5)
            left = left + parts[col]
        ax.invert_yaxis()
        ax.set_xlabel(w["rows.xlabel"])
        ax.set_title(w["rows.title"])
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
    return fig


@_localised
def missing_answers(missing: pd.DataFrame, *, words: dict | None = None) -> Figure:
    """Share of missing answers per item, split by reason, one panel per wave.

    Parameters
    ----------
    missing : pandas.DataFrame
        From :func:`analysis.summarise.missingness`.
    """
    w, names = _words(words)
    reasons = [c for c in missing.columns if c not in ("wave", "variable", "n", "answered")]
    waves = list(dict.fromkeys(missing["wave"]))
    heights = [max(1.5, 0.22 * (missing["wave"] == w).sum() + 0.6) for w in waves]
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(8, sum(heights) + 0.8))
        axes = fig.subplots(len(waves), 1, squeeze=False, gridspec_kw={"height_ratios": heights})
        for ax, wave in zip(axes[:, 0], waves):
            sel = missing[missing["wave"] == wave].set_index("variable")
            left = pd.Series(0.0, index=sel.index)
            for k, r in enumerate(reasons):
                ax.barh(sel.index, 100 * sel[r], left=left, color=_colour(r, k), label=names.get(r, r.replace("_", " ")))
                left = left + 100 * sel[r]
            ax.invert_yaxis()
            ax.set_title(f"{wave} (n = {int(sel['n'].max())})", loc="left")
            ax.set_xlim(0, max(10, float(left.max()) * 1.15))
            ax.tick_params(axis="y", labelsize=8)
        axes[-1, 0].set_xlabel(w["missing.xlabel"])
        axes[0, 0].legend(loc="lower right", frameon=False)
        fig.tight_layout()
    return fig


# --- entry-point comparison ---
# Figures of analysis.compare: diverging Likert bars per item and arm, and a forest plot
# of entry-point effects per profile. Agreement is drawn in bluish green, disagreement in
# vermillion (lighter for the milder answer); entry points keep ENTRY_POINT_COLOURS.

def _tint(colour: str, amount: float) -> tuple:
    """``colour`` mixed with white (amount 0 = unchanged, 1 = white)."""
    from matplotlib.colors import to_rgb

    return tuple(c + (1 - c) * amount for c in to_rgb(colour))


def likert_palette(k: int) -> list:
    """Colours of a k-level scale, low to high: vermillion, grey middle, bluish green.

    Examples
    --------
    >>> len(likert_palette(5)), likert_palette(5)[2] == _tint(OKABE_ITO["grey"], 0.55)
    (5, True)
    """
    half = k // 2
    low = [_tint(OKABE_ITO["vermillion"], 0.55 * i / max(half - 1, 1)) for i in range(half)]
    high = [_tint(OKABE_ITO["green"], 0.55 * i / max(half - 1, 1)) for i in range(half)][::-1]
    return low + ([_tint(OKABE_ITO["grey"], 0.55)] if k % 2 else []) + high


def _pct(x: float, words: dict | None = None) -> str:
    return _local(f"{round(100 * x, 1):g}%", words)


@_localised
def likert_bars(counts: pd.DataFrame, effects: pd.DataFrame | None = None, *, title: str | None = None,
                labels: dict | None = None, confidence: float = 0.95, words: dict | None = None) -> Figure:
    """Diverging stacked bars per item and entry point, centred on the scale's middle.

    Percentages are of the answers on the scale (``n``); the middle level is
    split across the centre line. The scale's missing codes ("don't know",
    N/A...) are drawn as separate bars in their own panel (percent of everyone
    who saw the question), so they never shift the centre line. With ``effects``, each item's overall
    effect size and interval is written beside it.

    Parameters
    ----------
    counts : pandas.DataFrame
        From :func:`analysis.summarise.likert_counts` (its ``attrs`` say which
        columns are levels and which are missing codes drawn apart).
    effects : pandas.DataFrame, optional
        From :func:`analysis.compare.entry_point_effects` (rows with profile
        ``"all"`` and the item's first effect type are used).
    title : str, optional
    labels : dict, optional
        Variable -> label on the figure (default: variable name).
    confidence : float
        Level of the intervals written beside the items.

    Examples
    --------
    >>> c = pd.DataFrame({"variable": ["q", "q"], "entry_point": ["strategy-first", "tool-first"],
    ...                   "No": [4, 1], "Maybe": [2, 2], "Yes": [4, 7], "dont_know": [1, 0],
    ...                   "not_applicable": [0, 0], "n": [10, 10]})
    >>> fig = likert_bars(c)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['strategy-first (n=10)', 'tool-first (n=10)']
    >>> float(min(p.get_x() for p in fig.axes[0].patches))  # 40% No + half of 20% Maybe
    -50.0
    """
    apart = counts.attrs.get("apart", [c for c in ("dont_know", "not_applicable") if c in counts])
    w, names = _words(words)
    fixed = ("variable", "entry_point", "n", *apart)
    levels = counts.attrs.get("levels", [c for c in counts.columns if c not in fixed])
    colours = likert_palette(len(levels))
    half = len(levels) // 2
    variables = list(dict.fromkeys(counts["variable"]))
    labels = labels or {}
    primary = {}
    if effects is not None:
        sel = effects[(effects["profile"] == "all") & (effects["comparison"] == "overall")]
        for v in variables:
            rows = sel[sel["outcome"] == v]
            if len(rows):
                primary[v] = rows.iloc[0]
    ticks, ticklabels, tickcolours = [], [], []
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(10, 0.36 * len(counts) + 0.3 * len(variables) + 1.9))
        ax, side, text = fig.subplots(1, 3, sharey=True, gridspec_kw={"width_ratios": [6, 1.3, 2.2]})
        for i, v in enumerate(variables):
            for j, row in enumerate(counts[counts["variable"] == v].to_dict("records")):
                y = i * 3 + j
                n = row["n"]
                share = [100 * row[lv] / n if n else 0.0 for lv in levels]
                left = -(sum(share[:half]) + (share[half] / 2 if len(levels) % 2 else 0.0))
                for k, (lv, width) in enumerate(zip(levels, share)):
                    ax.barh(y, width, left=left, color=colours[k], edgecolor="white", linewidth=0.5,
                            label=lv if i == 0 and j == 0 else None)
                    left += width
                seen = n + sum(row[reason] for reason in apart)
                off = 0.0
                for k, reason in enumerate(apart):
                    width = 100 * row[reason] / seen if seen else 0.0
                    side.barh(y, width, left=off, color=_colour(reason, k),
                              label=names.get(reason, REASON_LABELS.get(reason, reason.replace("_", " ")))
                              if i == 0 and j == 0 else None)
                    off += width
                ticks.append(y)
                ticklabels.append(f"{names.get(row['entry_point'], row['entry_point'])} (n={n})")
                tickcolours.append(ENTRY_POINT_COLOURS.get(row["entry_point"], OKABE_ITO["black"]))
            ax.text(-101, i * 3 - 0.75, labels.get(v, v), fontweight="bold", va="center", ha="left", fontsize=9)
            if v in primary:
                r = primary[v]
                symbol = w.get("likert.symbol." + r["effect_type"].replace("'", "").replace(" ", "_"),
                               r["effect_type"])
                text.text(0, i * 3 + 0.5, f"{symbol} {_local(format(r['estimate'], '+.2f'), words)}\n"
                          f"{_bracket(r['ci_low'], r['ci_high'], words)}",
                          va="center", ha="left", fontsize=8.5)
        ax.axvline(0, color=OKABE_ITO["black"], linewidth=0.8)
        ax.set_yticks(ticks, ticklabels, fontsize=8.5)
        for tick, colour in zip(ax.get_yticklabels(), tickcolours):
            tick.set_color(colour)
        ax.set_ylim(len(variables) * 3 - 1.4, -1.4)
        ax.set_xlim(-102, 102)
        ax.set_xticks([-100, -50, 0, 50, 100], ["100%", "50%", "0", "50%", "100%"])
        ax.set_xlabel(w["likert.xlabel"])
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08 - 1.2 / fig.get_figheight() / 2), ncol=len(levels),
                  frameon=False, fontsize=8)
        side.set_xlim(0, max(10.0, max((p.get_x() + p.get_width() for p in side.patches), default=0) * 1.2))
        side.set_xlabel("% " + ", ".join(names.get(r, REASON_LABELS.get(r, r.replace("_", " "))) for r in apart)
                        if apart else "")
        side.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08 - 1.2 / fig.get_figheight() / 2), frameon=False,
                    fontsize=8)
        side.tick_params(axis="y", left=False)
        text.axis("off")
        text.set_xlim(0, 1)
        if primary:
            text.set_title(w["likert.effect_title"].format(level=_pct(confidence, words)), fontsize=8.5,
                           fontweight="normal", loc="left")
        if title:
            fig.suptitle(title, fontweight="bold", fontsize=11)
        fig.tight_layout()
    return fig


@_localised
def effect_forest(effects: pd.DataFrame, outcomes="confidence", *, effect_type: str | None = None,
                  interactions: bool = True, labels: dict | None = None, confidence: float = 0.95,
                  words: dict | None = None) -> Figure:
    """Forest plot of entry-point effects: everyone, each profile, and profile differences.

    One panel per outcome. A dot is the estimate, the line its interval;
    hollow grey marks a cell with too few people to interpret. Text beside
    each row gives the numbers and n per arm.

    Parameters
    ----------
    effects : pandas.DataFrame
        From :func:`analysis.compare.entry_point_effects`.
    outcomes : str or list of str
    effect_type : str, optional
        Default: the first effect type of each outcome (mean difference,
        Cliff's delta or risk difference).
    interactions : bool
        Also draw the differences between profiles.
    labels : dict, optional
        Outcome -> panel title.
    confidence : float
        Level of the intervals (for the axis labels).

    Examples
    --------
    >>> e = pd.DataFrame({"outcome": ["y"] * 2, "profile": ["all", "p1"], "effect_type": ["mean difference"] * 2,
    ...                   "estimate": [0.2, 0.5], "ci_low": [-0.1, 0.1], "ci_high": [0.5, 0.9],
    ...                   "n_strategy_first": [50, 20], "n_tool_first": [52, 21], "interpretable": ["yes"] * 2,
    ...                   "comparison": ["overall", "profile"]})
    >>> [t.get_text() for t in effect_forest(e, "y").axes[0].get_yticklabels()]
    ['everyone', 'p1']
    """
    outcomes = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    labels = labels or {}
    w, shown = _words(words)
    panels = []
    for o in outcomes:
        sel = effects[effects["outcome"] == o]
        if not interactions:
            sel = sel[sel["comparison"] != "interaction"]
        etype = effect_type or sel["effect_type"].iloc[0]
        panels.append((o, etype, sel[sel["effect_type"] == etype].reset_index(drop=True)))
    heights = [len(p[2]) * 0.42 + 1.0 for p in panels]
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(10, sum(heights) + 0.6))
        axes = fig.subplots(len(panels), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
        for ax, (o, etype, sel) in zip(axes, panels):
            y = list(range(len(sel)))
            for k, row in sel.iterrows():
                ok = row["interpretable"] == "yes"
                inter = row["comparison"] == "interaction"
                colour = OKABE_ITO["black"] if ok else OKABE_ITO["grey"]
                ax.plot([row["ci_low"], row["ci_high"]], [k, k], color=colour, linewidth=1.6)
                ax.plot(row["estimate"], k, marker="D" if inter else "o", markersize=6, color=colour,
                        markerfacecolor=colour if ok else "white")
                note = "" if ok else "  " + w["forest.too_few"]
                ax.annotate(f"{_local(format(row['estimate'], '+.2f'), words)} {_bracket(row['ci_low'], row['ci_high'], words)}  "
                            f"n {row['n_tool_first']}/{row['n_strategy_first']}{note}",
                            xy=(1.01, k), xycoords=("axes fraction", "data"), va="center", fontsize=8.5,
                            color=colour)
            names = [w["forest.everyone"] if p == "all" else " - ".join(shown.get(q, q) for q in p.split(" minus "))
                     for p in sel["profile"]]
            ax.set_yticks(y, names, fontsize=9)
            ax.set_ylim(len(sel) - 0.5, -0.5)
            ax.axvline(0, color=OKABE_ITO["black"], linewidth=0.8, linestyle="--")
            if (sel["comparison"] == "interaction").any():
                first = int((sel["comparison"] == "interaction").to_numpy().argmax())
                ax.axhline(first - 0.5, color=OKABE_ITO["grey"], linewidth=0.6)
            lim = float(max(abs(sel["ci_low"]).max(), abs(sel["ci_high"]).max(), 0.1)) * 1.1
            ax.set_xlim(-lim, lim)
            ax.set_title(f"{labels.get(o, o)}: {shown.get(etype, etype)}", loc="left", pad=18)
            ax.set_xlabel(w["forest.xlabel"].format(level=_pct(confidence, words)), fontsize=9)
            ax.text(0.49, 1.01, w["forest.strategy_higher"], transform=ax.transAxes,
                    color=ENTRY_POINT_COLOURS["strategy-first"], fontsize=8.5, ha="right", va="bottom")
            ax.text(0.51, 1.01, w["forest.tool_higher"], transform=ax.transAxes,
                    color=ENTRY_POINT_COLOURS["tool-first"], fontsize=8.5, ha="left", va="bottom")
            ax.text(1.01, 1.01, w["forest.numbers"].format(level=_pct(confidence, words)), transform=ax.transAxes,
                    fontsize=8, ha="left", va="bottom", color=OKABE_ITO["grey"])
        fig.tight_layout()
        fig.subplots_adjust(right=0.66)
    return fig


# --- readiness profiles ---
# Figures of analysis.profiles: profile means per construct, the fit indices by k,
# stability per profile and how certain the assignment is. A profile keeps its colour
# in every figure (the three planted readiness names have fixed colours).

#: Colour of each named readiness profile; other profiles take the spare colours in order.
READINESS_PROFILE_COLOURS = {"new to the tools": OKABE_ITO["vermillion"],
                             "focused but tool-shy": OKABE_ITO["sky"],
                             "confident explorers": OKABE_ITO["green"]}
_PROFILE_SPARE = [OKABE_ITO[c] for c in ("purple", "yellow", "blue", "orange", "grey", "black")]


def profile_colours(names) -> dict:
    """Colour per profile name: fixed for known names, spare colours in order for the rest.

    Examples
    --------
    >>> profile_colours(["confident explorers", "high focus"]) == {
    ...     "confident explorers": OKABE_ITO["green"], "high focus": OKABE_ITO["purple"]}
    True
    """
    spare = iter(_PROFILE_SPARE * 3)
    return {n: READINESS_PROFILE_COLOURS.get(n) or next(spare) for n in names}


@_localised
def readiness_profiles(means: pd.DataFrame, *, confidence: float = 0.95, labels: dict | None = None,
                       words: dict | None = None) -> Figure:
    """Mean construct score per profile with its interval, profiles side by side.

    Parameters
    ----------
    means : pandas.DataFrame
        From :func:`analysis.profiles.profile_means` (``profile``,
        ``construct``, ``n``, ``mean``, ``ci_low``, ``ci_high``).
    confidence : float
        Level of the intervals.
    labels : dict, optional
        Construct -> label on the axis (default: the name with spaces).

    Examples
    --------
    >>> m = pd.DataFrame({"profile": ["a", "a", "b", "b"], "construct": ["focus", "guts"] * 2, "n": 5,
    ...                   "mean": [2.0, 3.0, 4.0, 3.5], "ci_low": [1.8, 2.7, 3.8, 3.2],
    ...                   "ci_high": [2.2, 3.3, 4.2, 3.8]})
    >>> readiness_profiles(m).axes[0].get_ylabel()
    'mean score (95% interval)'
    """
    w, shown = _words(words)
    profiles = list(dict.fromkeys(means["profile"]))
    constructs = list(dict.fromkeys(means["construct"]))
    colours = profile_colours(profiles)
    width = 0.8 / max(len(profiles), 1)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(max(6.0, 1.6 * len(constructs) + 3.2), 4.2))
        ax = fig.subplots()
        for j, name in enumerate(profiles):
            sel = means[means["profile"] == name].set_index("construct").reindex(constructs)
            x = [i - 0.4 + width * (j + 0.5) for i in range(len(constructs))]
            n = int(sel["n"].max())
            ax.errorbar(x, sel["mean"], yerr=[sel["mean"] - sel["ci_low"], sel["ci_high"] - sel["mean"]],
                        fmt="o-", color=colours[name], capsize=3, lw=1.2, ms=6, label=f"{shown.get(name, name)} (n = {n})")
        ax.set_xticks(range(len(constructs)), [(labels or {}).get(c, c.replace("_", " ")) for c in constructs])
        ax.set_ylabel(w["profiles.ylabel"].format(level=_pct(confidence, words)))
        ax.set_title(w["profiles.title"])
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
    return fig


@_localised
def profile_fit(fit: pd.DataFrame, index: str = "bic", *, words: dict | None = None) -> Figure:
    """A fit index by number of profiles, one line per covariance structure; the chosen model ringed.

    Parameters
    ----------
    fit : pandas.DataFrame
        From :attr:`analysis.profiles.ProfileResult.fit`.
    index : str
        Column to draw (lower is better).
    """
    w, _ = _words(words)
    models = list(dict.fromkeys(fit["model"]))
    spare = [OKABE_ITO[c] for c in ("blue", "orange", "purple", "green")]
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(6.5, 3.8))
        ax = fig.subplots()
        for m, model in enumerate(models):
            sel = fit[fit["model"] == model].sort_values("k")
            ax.plot(sel["k"], sel[index], "o-", color=spare[m % len(spare)], label=model)
            small = sel[sel["small_profile"]]
            ax.plot(small["k"], small[index], "x", color=OKABE_ITO["grey"], ms=9)
        chosen = fit[fit["chosen"]]
        ax.plot(chosen["k"], chosen[index], "o", mfc="none", mec=OKABE_ITO["black"], ms=15, mew=1.5,
                label=w["fit.chosen"])
        ax.plot([], [], "x", color=OKABE_ITO["grey"], label=w["fit.too_small"])
        ax.set_xlabel(w["fit.xlabel"])
        ax.set_ylabel(w["fit.ylabel"].format(index=index.upper()))
        ax.set_xticks(sorted(fit["k"].unique()))
        ax.set_title(w["fit.title"])
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
    return fig


@_localised
def profile_stability(per_profile: pd.DataFrame, *, stable: float = 0.75, confidence: float = 0.95,
                      words: dict | None = None) -> Figure:
    """Mean bootstrap Jaccard per profile with its range of resamples; the line marks 'stable'.

    Parameters
    ----------
    per_profile : pandas.DataFrame
        :attr:`analysis.profiles.Stability.per_profile`.
    """
    w, shown = _words(words)
    names = list(per_profile["profile"])
    colours = profile_colours(names)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(6.5, 0.5 * len(names) + 1.6))
        ax = fig.subplots()
        y = range(len(names))
        ax.barh(y, per_profile["jaccard"], color=[colours[n] for n in names], height=0.6)
        ax.errorbar(per_profile["jaccard"], y, xerr=[per_profile["jaccard"] - per_profile["jaccard_low"],
                                                     per_profile["jaccard_high"] - per_profile["jaccard"]],
                    fmt="none", ecolor=OKABE_ITO["black"], capsize=3, lw=1)
        ax.axvline(stable, color=OKABE_ITO["grey"], ls="--", lw=1)
        ax.set_yticks(list(y), [shown.get(n, n) for n in names])
        ax.invert_yaxis()
        ax.set_xlim(0, 1.02)
        ax.set_xlabel(w["stability.xlabel"].format(level=_pct(confidence, words)))
        ax.set_title(w["stability.title"])
        fig.tight_layout()
    return fig


@_localised
def profile_certainty(posterior: pd.DataFrame, *, sure: float = 0.8, words: dict | None = None) -> Figure:
    """Histogram of each participant's probability of their assigned profile, by profile.

    Parameters
    ----------
    posterior : pandas.DataFrame
        :attr:`analysis.profiles.ProfileResult.posterior` (rows sum to 1).
    """
    w, shown = _words(words)
    top = posterior.max(axis=1)
    assigned = posterior.idxmax(axis=1)
    names = list(posterior.columns)
    colours = profile_colours(names)
    low = int(20 / max(len(names), 1)) / 20  # a participant's top probability is at least 1/k
    bins = [low + 0.05 * i for i in range(round((1 - low) / 0.05) + 1)]
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(6.5, 3.6))
        ax = fig.subplots()
        ax.hist([top[assigned == n] for n in names], bins=bins, stacked=True,
                color=[colours[n] for n in names], label=[shown.get(n, n) for n in names])
        ax.axvline(sure, color=OKABE_ITO["grey"], ls="--", lw=1)
        ax.set_xlim(low, 1.0)
        ax.set_xlabel(w["certainty.xlabel"])
        ax.set_ylabel(w["certainty.ylabel"])
        ax.set_title(w["certainty.title"])
        ax.legend(loc="upper left", frameon=False)
        fig.tight_layout()
    return fig


@_localised
def code_shares(table: pd.DataFrame, *, title: str | None = None, words: dict | None = None) -> Figure:
    """Heat map of code shares: rows codes, columns groups; cells that are too few to interpret are hatched
    and show no number.

    ``table`` holds the share (0-1) per code (index) and group (columns); a
    second level of columns is not used. NaN: too few to interpret.
    """
    import numpy as np

    w, _ = _words(words)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(max(6.0, 3.2 + 1.3 * table.shape[1]), 0.9 + 0.38 * table.shape[0]))
        ax = fig.add_subplot()
        values = table.to_numpy(float)
        masked = np.ma.masked_invalid(values)
        cmap = mpl.colormaps["Blues"].copy()
        cmap.set_bad("#eeeeee")
        im = ax.imshow(masked, cmap=cmap, vmin=0, vmax=max(0.5, float(np.nanmax(values)) if np.isfinite(values).any() else 1),
                       aspect="auto")
        for (r, c), v in np.ndenumerate(values):
            if np.isnan(v):
                ax.text(c, r, w["shares.too_few"], ha="center", va="center", fontsize=8, color="#666666")
            else:
                ax.text(c, r, f"{round(100 * v):d}%", ha="center", va="center", fontsize=9,
                        color="white" if v > 0.6 * im.norm.vmax else "black")
        ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=20, ha="right")
        ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        if title:
            ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.7, label=w["shares.colorbar"])
        fig.tight_layout()
    return fig
