"""Progress bars for a person at a terminal; nothing anywhere else.

Long steps (the stages of a build, the steps of ``clean``, model fits,
stability resamples, notebook execution) draw a `tqdm` bar on standard error
when a person is watching: standard error is a terminal and ``CI`` is not set.
Nothing is drawn under CI, into a pipe or a log file, or inside a report's
notebook kernel (``ANALYSIS_RESULTS_ONLY`` is set there, and the kernel's
standard error is not a terminal), so no bar reaches a notebook's stored
outputs. Plain :class:`tqdm.tqdm` only: never a notebook widget.

Examples
--------
>>> with bar(total=2, desc="steps", progress=False) as steps:
...     for name in ("read", "write"):
...         steps.set_postfix_str(name)
...         steps.update()
>>> [x for x in bar(range(3), desc="quiet", progress=False)]
[0, 1, 2]
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

from analysis.errors import RESULTS_ONLY_ENV


def show_progress(progress: bool | None = None) -> bool:
    """Whether to draw progress bars: asked for, or a person at a terminal (not CI, not a report kernel).

    Parameters
    ----------
    progress : bool, optional
        ``True`` or ``False`` decides; ``None`` (default) decides from the
        environment.

    Examples
    --------
    >>> show_progress(False), show_progress(True)
    (False, True)
    """
    if progress is not None:
        return bool(progress)
    if os.environ.get("CI") or os.environ.get(RESULTS_ONLY_ENV):
        return False
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def bar(iterable=None, *, desc: str, total: int | None = None, progress: bool | None = None, **kwargs) -> tqdm:
    """A progress bar on standard error, drawn only when :func:`show_progress` says so.

    Parameters
    ----------
    iterable : iterable, optional
        What to step through (or use ``total`` and ``update``).
    desc : str
        What the bar counts, shown before it.
    total : int, optional
        Number of steps (default: ``len(iterable)``).
    progress : bool, optional
        See :func:`show_progress`.
    **kwargs
        Passed to :class:`tqdm.tqdm`.

    Returns
    -------
    tqdm.tqdm
        Disabled (it prints nothing) when no bar is to be drawn. The bar is
        removed from the terminal when done.
    """
    kwargs.setdefault("leave", False)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, desc=desc, total=total, disable=not show_progress(progress), file=sys.stderr, **kwargs)
