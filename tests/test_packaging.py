"""Packaging: pyproject, environment.yml and the constraints file agree.

No conda channel is reachable here, so environment.yml cannot be solved in CI;
this test keeps it in step with pyproject.toml instead.
"""

import re
import tomllib

import yaml

from analysis.paths import PROJECT_ROOT

_NAME = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$")
#: PyPI name -> conda-forge name where they differ.
CONDA_NAMES = {}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = _NAME.match(requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def _pyproject():
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_environment_yml_lists_the_same_packages_and_bounds_as_pyproject():
    project = _pyproject()["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    wanted = {CONDA_NAMES.get(n, n): s for n, s in wanted.items()}
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert "conda-forge" in env["channels"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip == ["-e ."], "environment.yml must install the project itself with pip -e ."
    listed = dict(_split(d) for d in conda if _split(d)[0] not in ("python", "pip"))  # python-stdnum is listed
    assert listed == wanted
    python = next(d for d in conda if _split(d)[0] == "python")
    assert python.replace(" ", "") == "python" + project["requires-python"].replace(" ", "")


def test_constraints_pin_every_dependency_exactly():
    pins = {}
    for line in (PROJECT_ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.lower().replace("_", "-")] = version
    project = _pyproject()["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        name, _ = _split(requirement)
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", pins.get(name, "")), f"{name} is not pinned"
    assert "workshop-analysis" not in pins, "the project itself must not be pinned"


def test_python_floor_is_311():
    assert _pyproject()["project"]["requires-python"] == ">=3.11"
