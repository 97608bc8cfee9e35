"""Plots stage: every figure, one visual language.

Colours come from the Okabe-Ito palette, which stays distinguishable for the
common forms of colour blindness; the same thing always gets the same colour
(an entry point, a missing-data reason). Functions take the tidy tables the
other stages return and give back a :class:`matplotlib.figure.Figure` made
without pyplot: no global figure state, nothing shown twice; a notebook shows
the figure by ending a cell with it.
"""

from __future__ import annotations

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure

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
#: Reasons that share a colour with a kindred reason are told apart by hatching.
REASON_HATCHES = {"preview": "///"}
STYLE = {"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10, "axes.spines.top": False,
         "axes.spines.right": False, "axes.titlesize": 11, "axes.titleweight": "bold"}


def _colour(name: str, k: int) -> str:
    spare = [c for c in OKABE_ITO.values() if c not in REASON_COLOURS.values()] or list(OKABE_ITO.values())
    return REASON_COLOURS.get(name, spare[k % len(spare)])


def rows_by_source(sources: pd.DataFrame) -> Figure:
    """Horizontal stacked bars: each source's rows, clean or set aside by reason.

    Parameters
    ----------
    sources : pandas.DataFrame
        From :func:`analysis.clean.source_table`.

    Examples
    --------
    >>> t = pd.DataFrame({"source": ["a.csv"], "wave": ["pre"], "rows_clean": [9], "empty": [1]})
    >>> rows_by_source(t).axes[0].get_xlabel()
    'rows in the export'
    """
    fixed = {"source", "wave", "format", "rows_in", "rows_clean", "rows_quarantined"}
    reasons = [c for c in sources.columns if c not in fixed]
    parts = pd.DataFrame({"clean": sources["rows_clean"].to_numpy()} | {r: sources[r].to_numpy() for r in reasons},
                         index=[f"{w}: {s}" for w, s in zip(sources["wave"], sources["source"])])
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(9, 0.6 * len(parts) + 1.6))
        ax = fig.subplots()
        left = pd.Series(0, index=parts.index)
        for k, col in enumerate(parts.columns):
            ax.barh(parts.index, parts[col], left=left, color=_colour(col, k), label=col,
                    hatch=REASON_HATCHES.get(col), edgecolor="white", linewidth=0.5)
            left = left + parts[col]
        ax.invert_yaxis()
        ax.set_xlabel("rows in the export")
        ax.set_title("Where every raw row went")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
    return fig


def missing_answers(missing: pd.DataFrame) -> Figure:
    """Share of missing answers per item, split by reason, one panel per wave.

    Parameters
    ----------
    missing : pandas.DataFrame
        From :func:`analysis.clean.missingness`.
    """
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
                ax.barh(sel.index, 100 * sel[r], left=left, color=_colour(r, k), label=r.replace("_", " "))
                left = left + 100 * sel[r]
            ax.invert_yaxis()
            ax.set_title(f"{wave} (n = {int(sel['n'].max())})", loc="left")
            ax.set_xlim(0, max(10, float(left.max()) * 1.15))
            ax.tick_params(axis="y", labelsize=8)
        axes[-1, 0].set_xlabel("% of answers missing")
        axes[0, 0].legend(loc="lower right", frameon=False)
        fig.tight_layout()
    return fig
