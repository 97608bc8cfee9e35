"""Every path the project uses, resolved from one place.

Nothing else in the package hard-codes a location. Paths are absolute and
derived from this file, so they work from any working directory.

Examples
--------
>>> SAMPLE_STUDY.name
'study.yaml'
>>> SAMPLE_STUDY.relative_to(PROJECT_ROOT).as_posix()
'data/sample/study.yaml'
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The checkout (``src/analysis`` sits two levels below it).
PROJECT_ROOT = PACKAGE_DIR.parent.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
SAMPLE_DIR = PROJECT_ROOT / "data" / "sample"
SAMPLE_STUDY = SAMPLE_DIR / "study.yaml"
#: The sample study's stored results, committed so notebooks open on them (``make sample`` rebuilds them).
SAMPLE_RESULTS = SAMPLE_DIR / "results"
REPORT_TEMPLATE_DIR = PACKAGE_DIR / "templates"
#: Real exports nobody here wrote (beside the checkout; absent in a user's clone).
SHARED_REALDATA = PROJECT_ROOT.parent / "shared" / "realdata"


def user_config_dir() -> Path:
    """Folder for per-user settings such as the pseudonym key.

    ``$ANALYSIS_CONFIG_DIR`` wins, then ``$XDG_CONFIG_HOME/workshop-analysis``,
    then ``~/.config/workshop-analysis``.

    Examples
    --------
    >>> user_config_dir().name in {"workshop-analysis"} or "ANALYSIS_CONFIG_DIR" in os.environ
    True
    """
    if os.environ.get("ANALYSIS_CONFIG_DIR"):
        return Path(os.environ["ANALYSIS_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "workshop-analysis"
