"""Report stage: the notebooks, run on a study's stored results, as offline HTML pages.

:func:`render_reports` builds the study's results (:func:`analysis.pipeline.build`:
every stage once, reused when unchanged), then executes each notebook in
``notebooks/`` with papermill, side by side (one kernel per core), in a
temporary copy (the committed notebook is never modified), its
``results_folder`` parameter pointing at the results, and renders it with
nbconvert through the ``offline`` template: code and prompts hidden, figures
inline, nothing fetched from the network.

A notebook declares the stages it needs in its metadata
(``"analysis": {"needs": ["profiles"]}``). When the study lacks one (no
readiness constructs, no entry point...), its page is still written and says
in plain words what the study lacks and how to add it. ``index.html`` lists
every page with its status. All pages pass the leak gate together, through the
one publish step, before any is kept.

Every page links the index, the summary and its neighbours (in the notebooks'
order) and lists its own h2 headings; cells tagged ``researchers`` are gathered
into one collapsed "For researchers" section at its end; its ``<html lang>`` is
the study's language. Labels come from the notebook's metadata
(``analysis.nav``, ``analysis.researchers_label``; English by default).
:func:`write_pdf` prints the summary with headless Chromium (``report --pdf``).

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
from concurrent.futures import ThreadPoolExecutor
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


def _title_and_blurb(nb, language: str = "en") -> tuple[str, str]:
    page = nb.metadata.get("analysis", {}).get("page")
    if page:  # the page's words come from the message catalogue (analysis.messages), in the study's language
        from analysis import messages

        return messages.text(language, f"{page}.title"), messages.text(language, f"{page}.blurb")
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


def _kernel_manager(cwd: Path):
    """Kernels started in ``cwd`` (the kernel's own working folder: papermill's ``cwd`` changes the
    whole process's, which pages run side by side in threads must not), talking to the report over
    encrypted sockets where the kernel offers it (and then not warning)."""
    import zmq
    from jupyter_client.manager import KernelManager
    from traitlets import CaselessStrEnum

    encrypt = zmq.has("curve") and "transport_encryption" in KernelManager.class_trait_names()

    class PageKernelManager(KernelManager):
        if encrypt:
            transport_encryption = CaselessStrEnum(["disabled", "auto", "required"], default_value="auto",
                                                   config=True)

        def start_kernel(self, **kw):
            kw.setdefault("cwd", str(cwd))
            return super().start_kernel(**kw)

    return PageKernelManager


def _setup_lines(nb) -> list[str]:
    """The lines of a notebook's leading code cells made only of imports and magics (``%matplotlib``)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = [ln for ln in cell.source.splitlines() if ln.strip()]
        if not source or not all(ln.startswith(("import ", "from ", "%")) for ln in source):
            break
        lines += source
    return lines


#: What nbclient adds when it starts a kernel itself (no history file); a kernel started ahead gets it too.
_KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:"]


def start_kernel(notebook: Path, *, kernel_name: str = "python3"):
    """Start, in the background, the kernel one notebook will run in, its imports already made.

    The kernel starts as :func:`execute_notebook` would start it (in the notebook's folder,
    reading stored results only) and runs the notebook's leading import and ``%matplotlib`` lines
    before it says it is ready (``exec_lines``: no output, no execution count; the notebook runs
    them again, at no cost), so that the report can start its kernels while the pipeline runs. Returns the kernel manager, for
    :func:`execute_notebook`'s ``km``.

    Examples
    --------
    >>> km = start_kernel(notebook_paths()[0])
    >>> km.has_kernel
    True
    >>> km.shutdown_kernel(now=True)
    """
    preload = _setup_lines(nbformat.read(notebook, as_version=4))
    km = _kernel_manager(notebook.parent)(kernel_name=kernel_name)
    km.start_kernel(extra_arguments=_KERNEL_ARGUMENTS + [f"--IPKernelApp.exec_lines={line}" for line in preload],
                    env={**os.environ, RESULTS_ONLY: "1"})
    return km


def _ready(km, timeout: float = 120) -> bool:
    """Wait until a started kernel answers (its imports made); False when it does not in time."""
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
        return True
    except RuntimeError:  # died or too slow: the page starts a kernel of its own
        return False
    finally:
        client.stop_channels()


class _KernelsAhead:
    """Kernels started (:func:`start_kernel`) while the pipeline runs, one notebook's after another on
    the cores the pipeline leaves free (all at once they would slow the pipeline more than they save)."""

    def __init__(self, notebooks: list[Path], kernel_name: str):
        import threading

        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 1) - 1))
        self._futures = {nb: self._pool.submit(self._start, nb, kernel_name) for nb in notebooks}

    def _start(self, notebook: Path, kernel_name: str):
        if self._stop.is_set():
            return None
        km = start_kernel(notebook, kernel_name=kernel_name)
        if not _ready(km):
            _shutdown(km)
            return None
        return km

    def take(self, notebook: Path):
        """The ready kernel of a notebook (waiting for it), or None: then the page starts its own."""
        future = self._futures.pop(notebook, None)
        try:
            return future.result() if future is not None else None
        except Exception:  # noqa: BLE001 - a kernel that did not start is started again by papermill
            return None

    def close(self) -> None:
        """Shut down the kernels no page took (a stage not available, an error)."""
        self._stop.set()
        for future in self._futures.values():
            future.cancel()
        self._pool.shutdown(wait=True)
        for future in self._futures.values():
            if not future.cancelled() and future.exception() is None and future.result() is not None:
                _shutdown(future.result())
        self._futures.clear()


def execute_notebook(notebook: Path, results_folder: Path, out_path: Path, *, kernel_name: str = "python3",
                     km=None):
    """Run one notebook with papermill on a results folder; return the executed node.

    Parameters
    ----------
    km : jupyter_client.KernelManager, optional
        A kernel already started for this notebook (:func:`start_kernel`); it is shut down when
        the notebook has run. Default: a kernel started here.

    Raises
    ------
    RuntimeError
        A cell failed: a bug (notebooks only read stored results), with the
        notebook, the cell and the traceback.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    given = {"km": km} if km is not None else {"kernel_manager_class": _kernel_manager(notebook.parent)}
    try:
        with _results_only():
            papermill.execute_notebook(str(notebook), str(out_path),
                                       parameters={"results_folder": str(results_folder)},
                                       kernel_name=kernel_name, progress_bar=False,
                                       log_output=False, report_mode=False,
                                       # written once when done, not two or three times per cell
                                       request_save_on_cell_execute=False, **given)
    except PapermillExecutionError as exc:
        trace = "\n".join(exc.traceback) if exc.traceback else f"{exc.ename}: {exc.evalue}"
        raise RuntimeError(f"{notebook.name}, cell {exc.exec_count or exc.cell_index} failed "
                           f"(a bug in the suite):\n{_strip_ansi(trace)}") from None
    finally:
        if km is not None:
            _shutdown(km)
    return nbformat.read(out_path, as_version=4)


def _shutdown(km) -> None:
    with contextlib.suppress(Exception):  # a kernel that already died needs no shutting down
        km.shutdown_kernel(now=True)


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


#: The template's navigation labels and the catalogue keys (:mod:`analysis.messages`) that word them.
NAV_KEYS = {"index": "nav.all_reports", "summary": "nav.summary", "previous": "nav.previous", "next": "nav.next",
            "contents": "nav.contents", "pages": "nav.pages", "end": "nav.end"}
#: Cells with this tag go into the collapsed section at the end of the page.
RESEARCHERS_TAG = "researchers"


def page_language(nb) -> str:
    """The language of a page: the notebook's metadata ``analysis.language`` (default ``"en"``).

    Examples
    --------
    >>> page_language(nbformat.v4.new_notebook(metadata={"analysis": {"language": "nl"}}))
    'nl'
    >>> page_language(nbformat.v4.new_notebook())
    'en'
    """
    return nb.metadata.get("analysis", {}).get("language") or "en"


def nav_labels(nb) -> dict:
    """The navigation labels of a page, in its language (:data:`NAV_KEYS` in the message catalogue).

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(metadata={"analysis": {"language": "nl"}})
    >>> nav_labels(nb)["next"], nav_labels(nbformat.v4.new_notebook())["next"]
    ('Volgende', 'Next')
    """
    from analysis import messages

    return {name: messages.text(page_language(nb), key) for name, key in NAV_KEYS.items()}


def researchers_label(nb) -> str:
    """The summary line of the page's collapsed researchers' section, in its language.

    Examples
    --------
    >>> researchers_label(nbformat.v4.new_notebook())
    'For researchers'
    """
    from analysis import messages

    return messages.text(page_language(nb), "researchers.label")


_H2 = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)


def _contents(body: str, nb) -> str:
    """The page's contents: its h2 headings (outside the researchers' section) as links, and that section."""
    main, researchers = (body.split('<details class="researchers"', 1) + [""])[:2]
    items = []
    for anchor, inner in _H2.findall(main):
        text = re.sub(r"<[^>]+>", "", re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)).strip()
        items.append(f'<li><a href="#{anchor}">{text}</a></li>')
    if researchers:
        items.append(f'<li><a href="#for-researchers">{html.escape(researchers_label(nb))}</a></li>')
    if not items:
        return ""
    label = html.escape(nav_labels(nb)["contents"])
    return (f'<nav class="report-contents" aria-label="{label}"><p>{label}:</p>\n<ul>\n'
            + "\n".join(items) + "\n</ul></nav>")


def render_html(nb, title: str, nav: dict | None = None) -> str:
    """Render an executed notebook to self-contained HTML without code or prompts.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The executed notebook; its metadata ``analysis.language`` is the page's ``<html lang>``.
    title : str
        The page's title.
    nav : dict, optional
        Where the page stands among the report's pages: ``this``, ``index``, ``summary`` (file names),
        ``previous`` and ``next`` (``{"file", "title"}`` or ``None``). With it, the page gets links
        to them and its contents; without it, neither.
    """
    from nbconvert import HTMLExporter

    nb.metadata["title"] = title
    exporter = HTMLExporter(template_name="offline", extra_template_basedirs=[str(REPORT_TEMPLATE_DIR)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            language_code=page_language(nb))
    report = None if nav is None else {**nav, "labels": nav_labels(nb), "researchers_label": researchers_label(nb)}
    body, _ = exporter.from_notebook_node(nb, resources={"report": report})
    body = body.replace("<!-- CONTENTS -->", _contents(body, nb) if report else "", 1)
    if EXTERNAL_ASSET.search(body):  # a new nbconvert may add one; refuse rather than ship it
        raise RuntimeError(f"report {title!r} would load a script or stylesheet from the network")
    return body


def _footer_cell(res) -> nbformat.NotebookNode:
    """A last cell saying which settings and version made the page (words: :mod:`analysis.messages`)."""
    from analysis import messages

    s, lang = res.settings, res.language
    readiness = ", ".join(s.readiness) or messages.text(lang, "footer.none")
    fixed = (messages.text(lang, "footer.k_fixed", k=s.k) if s.k
             else messages.text(lang, "footer.k_range", low=s.k_min, high=s.k_max))
    settings = messages.text(lang, "footer.settings", level=messages.percent(lang, s.confidence),
                             readiness=html.escape(readiness), profiles=fixed, resamples=s.resamples, min_n=s.min_n,
                             min_sessions=s.min_sessions, seed=s.seed, language=s.language)
    text = (f"<footer class=\"report-footer\"><hr><p>{messages.text(lang, 'footer.made_by', version=__version__)} "
            f"{settings}</p></footer>")
    return nbformat.v4.new_markdown_cell(text, metadata={"tags": [RESEARCHERS_TAG]})


def _stub(nb_path: Path, res, missing: list[str]) -> nbformat.NotebookNode:
    """The page of a notebook the study cannot fill: its title, and what the study lacks."""
    from analysis import messages
    from analysis.summarise import stage_fix, stage_note

    source = nbformat.read(nb_path, as_version=4)
    title, blurb = _title_and_blurb(source, res.language)
    notes = [str(stage_note(res, stage, fix=False)) for stage in missing]
    cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n{blurb}"),
             nbformat.v4.new_markdown_cell(messages.text(res.language, "page.not_available") + "\n\n"
                                           + "\n\n".join(dict.fromkeys(notes))),
             # how to add what is missing (study file, codebook): the researcher's part of the page
             nbformat.v4.new_markdown_cell("\n\n".join(dict.fromkeys(str(stage_fix(res, stage)) for stage in missing)),
                                           metadata={"tags": ["researchers"]})]
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
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<style>
 body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 48rem; margin: 2rem auto;
        padding: 0 1rem; color: #1b1b1b; line-height: 1.5; }}
 h1 {{ font-size: 1.6rem; }} li {{ margin: 0.8rem 0; }} a {{ color: #0072B2; font-weight: 600; }}
 .meta, .missing {{ color: #555; font-size: 0.9rem; }}
</style></head>
<body>
<main>
<h1>{title}</h1>
<p>{intro}</p>
<ul>
{items}
</ul>
</main>
<footer><p class="meta">{made_by}</p></footer>
</body></html>
"""


def _markdown(text: str) -> str:
    """Markdown of our own notebooks and messages as HTML (values from the data in it are escaped first)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    return markdown2html_mistune(text)


def _index(title: str, pages: list[Page], language: str = "en") -> str:
    from analysis import messages

    items = []
    for page in pages:
        item = f'<li><a href="{html.escape(page.file)}">{html.escape(page.title)}</a>{_markdown(page.blurb)}'
        if not page.available:
            note = messages.text(language, "index.not_available", note=page.note)
            item += f'<div class="missing">{_markdown(note)}</div>'
        items.append(item + "</li>")
    return _INDEX.format(title=html.escape(title), items="\n".join(items), lang=html.escape(language),
                         intro=html.escape(messages.text(language, "index.intro")),
                         made_by=messages.text(language, "footer.made_by", version=__version__))


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

    out = Path(out_dir)
    results_dir = Path(results) if results is not None else out / "results"
    notebooks = notebooks if notebooks is not None else notebook_paths()
    # a report never made into these results: its kernels start (and import) while the pipeline runs,
    # on the core the pipeline leaves free; a report made before is most often reused whole, and
    # then starts none
    ahead = None if pipeline.read_manifest(results_dir)["stages"].get("report") else _KernelsAhead(notebooks,
                                                                                                   kernel_name)
    try:
        return _render(study, out, results_dir, settings, notebooks, kernel_name, progress, ahead)
    finally:
        if ahead is not None:
            ahead.close()


def _render(study, out: Path, results_dir: Path, settings, notebooks: list[Path], kernel_name: str, progress,
            ahead: _KernelsAhead | None) -> ReportRun:
    from analysis import pipeline
    from analysis import results as stored
    from analysis.progress import bar
    from analysis.publish import Gate, publish
    from analysis.summarise import stage_note

    build = pipeline.build(study, results_dir, settings=settings, progress=progress)
    res = stored.load(results_dir)
    key = _report_key(build, notebooks, out)
    record = build.manifest["stages"].get("report")
    if record and record["key"] == key and pipeline._intact(out, record):
        return ReportRun([Page(**p) for p in record["pages"]], [out / f for f in record["files"]], build, True)
    sources = {nb: nbformat.read(nb, as_version=4) for nb in notebooks}
    missing_of = {nb: [stage for stage in needs(sources[nb]) if not res.available(stage)] for nb in notebooks}
    pages = []
    for nb_path in notebooks:  # titles from the sources: running a notebook changes neither its metadata nor markdown
        missing = missing_of[nb_path]
        title, blurb = _title_and_blurb(sources[nb_path], res.language)
        note = " ".join(dict.fromkeys(str(stage_note(res, s, fix=False)) for s in missing))
        pages.append(Page(nb_path.stem + ".html", title, blurb, not missing, note))
    # every page links the index, the summary (the first page) and its neighbours, in the notebooks' order
    navs = {}
    for i, (nb_path, page) in enumerate(zip(notebooks, pages)):
        near = {"previous": pages[i - 1] if i > 0 else None, "next": pages[i + 1] if i + 1 < len(pages) else None}
        navs[nb_path] = {"this": page.file, "index": "index.html", "summary": pages[0].file,
                         **{k: {"file": p.file, "title": p.title} if p else None for k, p in near.items()}}

    def page_html(nb_path: Path, executed) -> str:
        # the page's language; its words (navigation, researchers' section) come from the catalogue
        executed.metadata.setdefault("analysis", {})["language"] = res.settings.language
        executed.cells.append(_footer_cell(res))
        return render_html(executed, pages[notebooks.index(nb_path)].title, navs[nb_path])

    with tempfile.TemporaryDirectory(prefix="analysis-report-") as tmp, _results_only():
        run = [nb for nb in notebooks if not missing_of[nb]]

        def one_page(nb: Path) -> str:
            km = ahead.take(nb) if ahead is not None else None
            executed = execute_notebook(nb, results_dir.resolve(), Path(tmp) / nb.name, kernel_name=kernel_name,
                                        km=km)
            return page_html(nb, executed)  # rendered here, while the other kernels still run

        # the notebooks run side by side, one kernel per core: most of a page's time is its kernel
        # starting and importing, which one core does while the other runs cells
        with ThreadPoolExecutor(max_workers=max(1, min(len(run), os.cpu_count() or 1))) as pool, \
                bar(total=len(notebooks), desc="report pages", progress=progress) as pages_bar:
            futures = {nb: pool.submit(one_page, nb) for nb in run}
            for future in futures.values():
                future.add_done_callback(lambda _: pages_bar.update())
            pages_bar.update(len(notebooks) - len(run))
            ran = {nb: future.result() for nb, future in futures.items()}
    html_pages = {}
    for nb_path, page in zip(notebooks, pages):  # a page the study cannot fill says what it lacks
        html_pages[page.file] = ran.get(nb_path) or page_html(nb_path, _stub(nb_path, res, missing_of[nb_path]))
    html_pages["index.html"] = _index(res.study["title"], pages, res.language)
    written = publish(out, html_pages, Gate.load(results_dir / "private"))
    files = sorted(written)
    manifest = pipeline.read_manifest(results_dir)
    manifest["stages"]["report"] = {"key": key, "status": "done", "pages": [p.__dict__ for p in pages],
                                    "files": {f: pipeline._stat(out / f) for f in files}}
    pipeline._write_manifest(results_dir, manifest)
    return ReportRun(pages, [out / f for f in files], build, False)


#: What to run when no Chromium is installed (only ``--pdf`` and the browser tests need it).
CHROMIUM_INSTALL = "apt-get install chromium"


def find_chromium() -> str | None:
    """The headless browser that prints pages to PDF: ``$ANALYSIS_CHROMIUM``, else Chromium on the PATH."""
    import shutil

    given = os.environ.get("ANALYSIS_CHROMIUM")
    if given:
        return given if Path(given).is_file() else shutil.which(given)
    return next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome"))), None)


def write_pdf(page, pdf, *, chromium: str | None = None, timeout: float = 180) -> Path:
    """Print an HTML page to an A4 PDF with headless Chromium, offline, without header or footer lines.

    The page's print stylesheet sets the paper (``@page``) and hides the navigation. The page is
    opened as ``file://``; the browser gets a fresh, throw-away profile and no network services.

    Parameters
    ----------
    page : path-like
        The HTML page (already through the leak gate: the PDF holds nothing the page does not).
    pdf : path-like
        Where to write the PDF.
    chromium : str, optional
        The browser (default :func:`find_chromium`).

    Returns
    -------
    Path
        ``pdf``.

    Raises
    ------
    FileNotFoundError
        No Chromium is installed (``apt-get install chromium``).
    RuntimeError
        Chromium ran but wrote no PDF (its last lines of output are in the message).
    """
    import subprocess

    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError(f"no Chromium found to print the PDF ({CHROMIUM_INSTALL})")
    page, pdf = Path(page).resolve(), Path(pdf).resolve()
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="analysis-pdf-") as profile:
        command = [chromium, "--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.as_uri()]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # Chromium's sandbox refuses to run as root
            command.insert(1, "--no-sandbox")
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if not pdf.is_file() or pdf.stat().st_size == 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"{chromium} wrote no PDF of {page.name} (exit {done.returncode}): {tail}")
    return pdf
