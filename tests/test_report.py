"""Reports: notebooks executed against a study, rendered to offline HTML with an index."""

import base64
import re

import pytest

from analysis.paths import NOTEBOOKS_DIR
from analysis.report import EXTERNAL_ASSET, notebook_paths


@pytest.fixture(scope="module")
def rendered(sample_outputs):
    out = sample_outputs / "reports"
    return out, sorted(out.glob("*.html"), key=lambda p: p.name == "index.html")


def test_index_links_every_notebook_report(rendered):
    out, written = rendered
    index = (out / "index.html").read_text(encoding="utf-8")
    for nb in notebook_paths():
        assert (out / f"{nb.stem}.html").is_file()
        assert f'href="{nb.stem}.html"' in index
    assert written[-1] == out / "index.html"


def test_reports_are_self_contained_and_show_no_code(rendered):
    out, _ = rendered
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not EXTERNAL_ASSET.search(text), page.name
        assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']?https?:", text, re.I), page.name
    report = (out / "01_data_quality.html").read_text(encoding="utf-8")
    body = report.split("</style>")[-1]
    assert "jp-CodeMirrorEditor" not in body and 'class="highlight' not in body and "jp-InputPrompt" not in body
    assert "results.load" not in body and "import " not in body
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', report)
    assert len(images) >= 1 and all(base64.b64decode(i)[:4] == b"\x89PNG" for i in images)
    assert "Where every raw row went" in report


def test_reports_show_no_personal_data(rendered, sample_study, sample_clean):
    from analysis.protect import pii_values

    out, _ = rendered
    text = "\n".join(p.read_text(encoding="utf-8").lower() for p in out.glob("*.html"))
    known = pii_values(sample_study, sample_clean.raws)
    leaked = [v for kind in ("email", "ip_address") for v in known[kind] if v.lower() in text]
    leaked += [v for v in known["name"] if " " in v and v.lower() in text]
    assert leaked == []


def test_committed_notebooks_are_thin_and_parameterised():
    import nbformat

    for path in NOTEBOOKS_DIR.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert any("parameters" in c.metadata.get("tags", []) for c in code), path.name
        assert not any(re.search(r"^\s*(def|class)\s", c.source, re.M) for c in code), path.name
        setup = [c for c in code if all(ln.startswith(("import ", "from ", "%")) or not ln.strip()
                                        for ln in c.source.splitlines())]
        computing = [c for c in code if c not in setup and "parameters" not in c.metadata.get("tags", [])]
        assert computing and all(c.outputs for c in computing), f"{path.name}: execute it and commit the outputs"


def test_a_kernel_started_ahead_runs_a_notebook_as_a_fresh_one(tmp_path):
    """The report starts its kernels while the pipeline runs (report.start_kernel): the notebook's
    imports are made before it runs, yet its outputs and execution counts are those of a kernel
    started by papermill itself, in the notebook's folder, reading stored results only."""
    import nbformat

    from analysis.report import _setup_lines, execute_notebook, start_kernel

    cells = [nbformat.v4.new_code_cell("%matplotlib inline\nimport json\nfrom pathlib import Path"),
             nbformat.v4.new_code_cell('results_folder = "x"', metadata={"tags": ["parameters"]}),
             nbformat.v4.new_code_cell("import os, sys\nprint(Path.cwd().name, os.environ.get('ANALYSIS_RESULTS_ONLY'),"
                                       " 'json' in sys.modules)\njson.dumps([results_folder])")]
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb_path = folder / "00_try.ipynb"
    kernelspec = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": kernelspec}), nb_path)
    assert _setup_lines(nbformat.read(nb_path, as_version=4)) == ["%matplotlib inline", "import json",
                                                                  "from pathlib import Path"]
    runs = []
    for km in (None, start_kernel(nb_path)):
        nb = execute_notebook(nb_path, tmp_path, tmp_path / f"run-{len(runs)}.ipynb", km=km)
        runs.append([(c.execution_count, [(o.get("text"), o.get("data")) for o in c.outputs])
                     for c in nb.cells if c.cell_type == "code"])
        assert km is None or not km.is_alive()  # shut down once the notebook ran
    assert runs[0] == runs[1]
    assert runs[1][-1][1][0][0] == "notebooks 1 True\n"
    assert [count for count, _ in runs[1]] == [1, 2, 3, 4]  # papermill's injected parameters cell included
