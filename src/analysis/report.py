"""Report stage: the notebooks, run on a study's stored results, as offline HTML pages.

:func:`render_reports` builds the study's results (:func:`analysis.pipeline.build`:
every stage once, reused when unchanged), then executes each notebook in
``notebooks/`` with papermill in a temporary copy (the committed notebook is
never modified), its ``results_folder`` parameter pointing at the results,
and renders it with nbconvert through the ``offline`` template: code and
prompts hidden, figures inline, nothing fetched from the network.

A notebook declares the stages it needs in its metadata
(``"analysis": {"needs": ["profiles"]}``). When the study lacks one (no
readiness constructs, no entry point...), its page is still written and says
in plain words what the study lacks and how to add it. ``index.html`` lists
every page with its status. All pages pass the leak gate together, through the
one publish step, before any is kept.

Notebook kernels read stored results only: while they run,
``ANALYSIS_RESULTS_ONLY`` is set, and reading a raw export or fitting profiles
there stops with an error. An error inside a notebook is a bug in the suite
and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from analysis import __version__
from analysis.errors import RESULTS_ONLY_ENV
from analysis.paths import NOTEBOOKS_DIR, REPORT_TEMPLATE_DIR

#: A script or stylesheet that would be fetched from elsewhere: reports must have none.
EXTERNAL_ASSET = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.IGNORECASE)
RESULTS_ONLY = RESULTS_ONLY_ENV


def notebook_paths(folder: Path = NOTEBOOKS_DIR) -> list[Path]:
    """The report notebooks, in the order they are numbered.

    Examples
    --------
    >>> [p.name for p in notebook_paths()][:1]
    ['00_summary.ipynb']
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


def needs(nb) -> list[str]:
    """The stages a notebook needs (its metadata ``analysis.needs``)."""
    return list(nb.metadata.get("analysis", {}).get("needs", []))


@contextlib.contextmanager
def _results_only():
    """Mark the notebook kernels started meanwhile as readers of stored results only."""
    before = os.environ.get(RESULTS_ONLY)
    os.environ[RESULTS_ONLY] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(RESULTS_ONLY, None)
        else:
            os.environ[RESULTS_ONLY] = before


def _kernel_manager():
    """Kernels talk to the report over encrypted sockets where the kernel offers it (and then do not warn)."""
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets import CaselessStrEnum

    if not zmq.has("curve") or "transport_encryption" not in KernelManager.class_trait_names():
        return KernelManager

    class EncryptedKernelManager(KernelManager):
        transport_encryption = CaselessStrEnum(["disabled", "auto", "required"], default_value="auto", config=True)

    return EncryptedKernelManager


def execute_notebook(notebook: Path, results_folder: Path, out_path: Path, *, kernel_name: str = "python3"):
    """Run one notebook with papermill on a results folder; return the executed node.

    Raises
    ------
    RuntimeError
        A cell failed: a bug (notebooks only read stored results), with the
        notebook, the cell and the traceback.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        with _results_only():
            papermill.execute_notebook(str(notebook), str(out_path),
                                       parameters={"results_folder": str(results_folder)},
                                       cwd=str(notebook.parent), kernel_name=kernel_name, progress_bar=False,
                                       log_output=False, report_mode=False,
                                       kernel_manager_class=_kernel_manager())
    except PapermillExecutionError as exc:
        trace = "\n".join(exc.traceback) if exc.traceback else f"{exc.ename}: {exc.evalue}"
        raise RuntimeError(f"{notebook.name}, cell {exc.exec_count or exc.cell_index} failed "
                           f"(a bug in the suite):\n{_strip_ansi(trace)}") from None
    return nbformat.read(out_path, as_version=4)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


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


def _footer_cell(res) -> nbformat.NotebookNode:
    """A last cell saying which settings and version made the page."""
    s = res.settings
    readiness = ", ".join(s.readiness) or "none"
    fixed = f"k fixed at {s.k}" if s.k else f"profiles tried: {s.k_min}-{s.k_max}"
    text = (f"<footer class=\"report-footer\"><hr><p>Made by workshop-analysis {__version__}. Settings: "
            f"intervals at {round(100 * s.confidence, 1):g}%; readiness: {html.escape(readiness)}; {fixed}; "
            f"stability resamples: {s.resamples}; smallest interpretable cell: {s.min_n} people and "
            f"{s.min_sessions} sessions per entry point; seed {s.seed}.</p></footer>")
    return nbformat.v4.new_markdown_cell(text)


def _stub(nb_path: Path, res, missing: list[str]) -> nbformat.NotebookNode:
    """The page of a notebook the study cannot fill: its title, and what the study lacks."""
    from analysis.summarise import stage_note

    source = nbformat.read(nb_path, as_version=4)
    title, blurb = _title_and_blurb(source)
    notes = [str(stage_note(res, stage)) for stage in missing]
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n{blurb}"),
             nbformat.v4.new_markdown_cell("## Not available for this study\n\n" + "\n\n".join(dict.fromkeys(notes)))]
    return nbformat.v4.new_notebook(cells=cells, metadata=source.metadata)


@dataclass
class Page:
    """One page of a report."""

    file: str
    title: str
    blurb: str
    available: bool
    note: str = ""


_INDEX = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>
 body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 48rem; margin: 2rem auto;
        padding: 0 1rem; color: #222; line-height: 1.5; }}
 h1 {{ font-size: 1.6rem; }} li {{ margin: 0.8rem 0; }} a {{ color: #0072B2; font-weight: 600; }}
 .meta, .missing {{ color: #555; font-size: 0.9rem; }}
</style></head>
<body>
<h1>{title}</h1>
<p>Workshop evaluation reports for trainers. Each page opens offline in any browser.</p>
<ul>
{items}
</ul>
<p class="meta">Made by workshop-analysis {version}.</p>
</body></html>
"""


def _markdown(text: str) -> str:
    """Markdown of our own notebooks and messages as HTML (values from the data in it are escaped first)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


def _index(title: str, pages: list[Page]) -> str:
    items = []
    for page in pages:
        item = f'<li><a href="{html.escape(page.file)}">{html.escape(page.title)}</a>{_markdown(page.blurb)}'
        if not page.available:
            item += f'<div class="missing">{_markdown("Not available for this study: " + page.note)}</div>'
        items.append(item + "</li>")
    return _INDEX.format(title=html.escape(title), items="\n".join(items), version=__version__)


def _report_key(build, notebooks: list[Path], out: Path) -> str:
    digest = hashlib.sha256(json.dumps([r.key for r in build.runs] + [str(out.resolve())]).encode())
    for path in notebooks + sorted(p for p in REPORT_TEMPLATE_DIR.rglob("*") if p.is_file()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


@dataclass
class ReportRun:
    """What :func:`render_reports` wrote, and whether it could reuse earlier pages."""

    pages: list
    files: list
    build: object
    reused: bool


def render_reports(study, out_dir, *, results=None, settings=None, notebooks: list[Path] | None = None,
                   kernel_name: str = "python3", progress: bool | None = None) -> ReportRun:
    """Build a study's results and write one HTML page per notebook plus ``index.html``.

    Parameters
    ----------
    study : path-like or Study
        The study file.
    out_dir : path-like
        Folder for ``index.html`` and one ``<notebook>.html`` each.
    results : path-like, optional
        The results folder (default: ``out_dir/results``).
    settings : analysis.settings.Settings, optional
        Settings to use instead of the study's own.
    notebooks : list of Path, optional
        Default: :func:`notebook_paths`.
    progress : bool, optional
        Show progress bars; default when run by a person (a terminal, not CI).

    Returns
    -------
    ReportRun

    Raises
    ------
    analysis.publish.PrivacyLeak
        A page contained a personal value; no page is written.
    analysis.errors.InputError
        A mistake in the study's files (one line: file, row, column).
    """
    from analysis import pipeline
    from analysis import results as stored
    from analysis.progress import bar
    from analysis.publish import Gate, publish
    from analysis.summarise import stage_note

    out = Path(out_dir)
    results_dir = Path(results) if results is not None else out / "results"
    build = pipeline.build(study, results_dir, settings=settings, progress=progress)
    res = stored.load(results_dir)
    notebooks = notebooks if notebooks is not None else notebook_paths()
    key = _report_key(build, notebooks, out)
    record = build.manifest["stages"].get("report")
    if record and record["key"] == key and pipeline._intact(out, record):
        return ReportRun([Page(**p) for p in record["pages"]], [out / f for f in record["files"]], build, True)
    pages, html_pages = [], {}
    with tempfile.TemporaryDirectory(prefix="analysis-report-") as tmp:
        for nb_path in bar(notebooks, desc="report pages", progress=progress):
            source = nbformat.read(nb_path, as_version=4)
            missing = [stage for stage in needs(source) if not res.available(stage)]
            if missing:
                executed = _stub(nb_path, res, missing)
            else:
                executed = execute_notebook(nb_path, results_dir.resolve(), Path(tmp) / nb_path.name,
                                            kernel_name=kernel_name)
            executed.cells.append(_footer_cell(res))
            title, blurb = _title_and_blurb(executed)
            name = nb_path.stem + ".html"
            html_pages[name] = render_html(executed, title)
            note = " ".join(dict.fromkeys(str(stage_note(res, s)) for s in missing))
            pages.append(Page(name, title, blurb, not missing, note))
    html_pages["index.html"] = _index(res.study["title"], pages)
    written = publish(out, html_pages, Gate.load(results_dir / "private"))
    files = sorted(written)
    manifest = pipeline.read_manifest(results_dir)
    manifest["stages"]["report"] = {"key": key, "status": "done", "pages": [p.__dict__ for p in pages],
                                    "files": {f: pipeline._stat(out / f) for f in files}}
    pipeline._write_manifest(results_dir, manifest)
    return ReportRun(pages, [out / f for f in files], build, False)
