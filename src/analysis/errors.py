"""The one exception type for a user's mistake in their input.

Every stage raises :class:`InputError` for problems in files a user supplies
(exports, study file, codebook). The command line prints it as one line and
exits non-zero; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os

#: Set while report notebooks run: they read stored results, never raw exports or fits.
RESULTS_ONLY_ENV = "ANALYSIS_RESULTS_ONLY"


def refuse_in_reports(what: str) -> None:
    """Stop ``what`` (reading a raw export, fitting a model) inside a report notebook's kernel."""
    if os.environ.get(RESULTS_ONLY_ENV):
        raise RuntimeError(f"{what} inside a report notebook: notebooks read stored results only "
                           "(analysis.results.load)")


class InputError(Exception):
    """A problem in user-supplied input, located as precisely as known.

    Parameters
    ----------
    file : str or path-like
        The file the problem is in.
    expected : str
        What was expected, in plain words.
    row : int, optional
        Row number as a spreadsheet shows it (header row = 1), or the line
        number for YAML files.
    column : str, optional
        Column header, or the YAML key.

    Examples
    --------
    >>> str(InputError("pre.csv", "a Likert label", row=4, column="Q1"))
    "pre.csv, row 4, column 'Q1': expected a Likert label"
    """

    def __init__(self, file, expected: str, *, row: int | None = None,
                 column: str | None = None):
        self.file = str(file)
        self.row = row
        self.column = column
        self.expected = expected
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: expected {self.expected}"
