"""Report stage: execute the notebooks against a study and render offline HTML.

Each notebook in ``notebooks/`` is executed by papermill into a temporary copy
(the committed notebook is never modified) with the study injected as the
``study`` parameter, then rendered by nbconvert with code and prompts hidden
through the ``offline`` template: figures inline, no script or stylesheet
fetched from the network. ``index.html`` links every report. The privacy leak
gate then reads every page; if any holds a personal value from the raw inputs,
all pages are removed and :class:`~analysis.publish.PrivacyLeak` is raised.
"""

from __future__ import annotations

import html
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from analysis import __version__
from analysis.codebook import load_study
from analysis.errors import InputError
from analysis.paths import NOTEBOOKS_DIR, REPORT_TEMPLATE_DIR
from analysis.publish import PrivacyLeak, check_privacy

#: A script or stylesheet that would be fetched from elsewhere: reports must have none.
EXTERNAL_ASSET = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def notebook_paths(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The report notebooks, in the order they are numbered.

    Examples
    --------
    >>> [p.name for p in notebook_paths()][:1]
    ['01_data_quality.ipynb']
    """
    return sorted(p for p in folder.glob("[0-9]*.ipynb") if not p.name.startswith("."))


def _title_and_blurb(nb) -> tuple[str, str]:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines = [ln.strip() for ln in cell.source.splitlines() if ln.strip()]
            if lines and lines[0].startswith("#"):
                title = lines[0].lstrip("#").strip()
                blurb = next((ln for ln in lines[1:] if not ln.startswith("#")), "")
                return title, blurb
    return "Report", ""


def execute_notebook(notebook: Path, study: Path, out_path: Path, *, kernel_name: str = "python3"):
    """Run one notebook with papermill, injecting ``study``; return the executed node."""
    import papermill

    papermill.execute_notebook(str(notebook), str(out_path), parameters={"study": str(study)},
                               cwd=str(notebook.parent), kernel_name=kernel_name, progress_bar=False,
                               log_output=False, report_mode=False)
    return nbformat.read(out_path, as_version=4)


def render_html(nb, title: str) -> str:
    """Render an executed notebook to self-contained HTML without code or prompts."""
    from nbconvert import HTMLExporter

    nb.metadata["title"] = title
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(REPORT_TEMPLATE_DIR)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    if EXTERNAL_ASSET.search(body):  # a new nbconvert may add one; refuse rather than ship it
        raise RuntimeError(f"report {title!r} would load a script or stylesheet from the network")
    return body


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>
 body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 48rem; margin: 2rem auto;
        padding: 0 1rem; color: #222; line-height: 1.5; }}
 h1 {{ font-size: 1.6rem; }} li {{ margin: 0.8rem 0; }} a {{ color: #0072B2; font-weight: 600; }}
 .meta {{ color: #555; font-size: 0.9rem; }}
</style></head>
<body>
<h1>{title}</h1>
<p>Workshop evaluation reports for trainers. Each page opens offline in any browser.</p>
<ul>
{items}
</ul>
<p class="meta">Study file: {study_name}. Made by workshop-analysis {version}.</p>
</body></html>
"""


def render_reports(study, out_dir, *, notebooks: list[Path] | None = None, kernel_name: str = "python3",
                   progress: bool | None = None) -> list[Path]:
    """Execute every report notebook against a study and write HTML plus an index.

    Parameters
    ----------
    study : path-like
        The study file.
    out_dir : path-like
        Folder for ``index.html`` and one ``<notebook>.html`` each.
    notebooks : list of Path, optional
        Default: :func:`notebook_paths`.
    progress : bool, optional
        Show a progress bar; default when run by a person (a terminal, not CI).

    Returns
    -------
    list of Path
        The HTML files written, index last.

    Raises
    ------
    analysis.publish.PrivacyLeak
        A page contained a personal value; no page is written.
    analysis.errors.InputError
        A notebook could not run on this study (one line: notebook, cell, error).
    """
    from tqdm.auto import tqdm

    from analysis.profiles import show_progress

    study_path = Path(study).resolve()
    title = load_study(study_path).title  # validates before any notebook runs
    out = Path(out_dir)
    notebooks = notebooks if notebooks is not None else notebook_paths()
    items = []
    with tempfile.TemporaryDirectory(prefix="analysis-report-") as tmp:
        staged = Path(tmp) / "html"  # pages wait here until the leak gate has read them all
        staged.mkdir()
        for nb_path in tqdm(notebooks, desc="reports", disable=not show_progress(progress)):
            executed = _execute_or_explain(nb_path, study_path, Path(tmp) / nb_path.name, kernel_name)
            nb_title, blurb = _title_and_blurb(executed)
            page = staged / (nb_path.stem + ".html")
            page.write_text(render_html(executed, nb_title), encoding="utf-8")
            items.append(f'<li><a href="{html.escape(page.name)}">{html.escape(nb_title)}</a><br>'
                         f"{html.escape(blurb)}</li>")
        (staged / "index.html").write_text(_INDEX.format(
            title=html.escape(title), items="\n".join(items), version=__version__,
            study_name=html.escape(study_path.name)), encoding="utf-8")
        pages = sorted(staged.iterdir(), key=lambda p: (p.name == "index.html", p.name))
        leaks, _ = check_privacy(study_path, *pages)
        if leaks:  # refuse to publish: nothing is copied to the output folder
            raise PrivacyLeak(leaks)
        out.mkdir(parents=True, exist_ok=True)
        written = [Path(shutil.copy2(page, out / page.name)) for page in pages]
    return written


def _execute_or_explain(nb_path: Path, study: Path, out_path: Path, kernel_name: str):
    """Execute a notebook; a failure becomes one line naming the notebook, cell and error."""
    from papermill.exceptions import PapermillExecutionError

    try:
        return execute_notebook(nb_path, study, out_path, kernel_name=kernel_name)
    except PapermillExecutionError as exc:
        first = str(exc.evalue).strip().splitlines()[0] if str(exc.evalue).strip() else ""
        raise InputError(nb_path, f"a study this report can run on; cell {exc.exec_count or exc.cell_index} "
                                  f"stopped with {exc.ename}: {first}") from None
