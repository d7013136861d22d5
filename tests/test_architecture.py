"""How the parts join: layers that import one way, one settings definition, one home per default."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "grammar", "codefusion", "lsp")
CLIENT_ONLY = {"interpreter", "inlineSuggestions", "trace.server"}  # settings the VS Code client reads itself


def test_import_contracts_hold():
    """lint-imports (import-linter) with the contracts in pyproject.toml."""
    exe = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run([str(exe)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_import_contracts_catch_a_violation(tmp_path):
    """The contracts can fail: a copy of the tree where grammar/ imports engine/ is refused."""
    import shutil

    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "grammar" / "normalize.py", "a") as f:
        f.write("\nfrom engine.api import LANGUAGES  # a layer violation\n")
    exe = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run(
        [str(exe)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert r.returncode != 0 and "BROKEN" in r.stdout


def _package_json_settings() -> dict:
    pkg = json.loads((REPO / "vscode-extension" / "package.json").read_text())
    props = pkg["contributes"]["configuration"]["properties"]
    return {k.split(".", 1)[1]: v for k, v in props.items()}


def test_package_json_configuration_matches_the_settings_definition():
    from codefusion.settings import SETTINGS, json_schema

    props = _package_json_settings()
    assert set(props) - CLIENT_ONLY == set(SETTINGS)
    for key in SETTINGS:
        want = json_schema(key)
        got = {k: props[key][k] for k in want if k in props[key]}
        assert got == want, f"package.json codefusion.{key}: {got} != the settings definition {want}"


def test_the_default_k_lives_in_one_python_place_and_package_json_agrees():
    """engine.api.DEFAULT_K is the only Python literal default of a `k`; package.json repeats it."""
    from engine.api import DEFAULT_K

    assert _package_json_settings()["k"]["default"] == DEFAULT_K
    offenders = []
    for pkg in PACKAGES + ("scripts",):
        for path in (REPO / pkg).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    a = node.args
                    pos = a.posonlyargs + a.args
                    pairs = list(zip(pos[len(pos) - len(a.defaults) :], a.defaults))
                    pairs += [(x, d) for x, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
                    offenders += [
                        f"{path.relative_to(REPO)}:{node.lineno} {node.name}(k={ast.unparse(d)})"
                        for x, d in pairs
                        if x.arg == "k" and isinstance(d, ast.Constant) and d.value is not None
                    ]
                if (
                    isinstance(node, ast.AnnAssign)
                    and isinstance(node.target, ast.Name)
                    and node.target.id == "k"
                    and isinstance(node.value, ast.Constant)
                ):
                    offenders.append(f"{path.relative_to(REPO)}:{node.lineno} k = {ast.unparse(node.value)}")
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "attr", "") == "add_argument"
                    and any(isinstance(x, ast.Constant) and x.value in ("-k", "--k") for x in node.args)
                ):
                    offenders += [
                        f"{path.relative_to(REPO)}:{node.lineno} add_argument(-k, default=...)"
                        for kw in node.keywords
                        if kw.arg == "default" and isinstance(kw.value, ast.Constant) and kw.value.value is not None
                    ]
    assert not offenders, offenders


def test_docs_hold_the_generated_settings_table():
    from codefusion.settings import settings_markdown

    assert settings_markdown() in (REPO / "docs" / "contracts.md").read_text(encoding="utf-8"), (
        "docs/contracts.md: paste codefusion.settings.settings_markdown() into the settings section"
    )


@pytest.mark.parametrize(
    "raw, field, value", [({"k": 3}, "k", 3), ({"k": 0}, "k", 5), ({"steps": None}, "steps", None)]
)
def test_server_options_are_the_settings(raw, field, value):
    from codefusion.settings import Settings, parse_settings
    from lsp.options import Options, parse_options

    assert Options is Settings and parse_options is parse_settings
    assert getattr(parse_options(raw)[0], field) == value


def test_config_defaults_are_the_shipped_models():
    """ModelConfig's defaults are models/default's config (sizes and recipe; the vocabulary and the
    encoder width are read from the data and the encoder)."""
    from engine.config import ModelConfig

    shipped = json.loads((REPO / "models" / "default" / "config.json").read_text())["model"]
    defaults = ModelConfig().to_dict()
    differ = {k: (defaults[k], v) for k, v in shipped.items() if k in defaults and defaults[k] != v}
    assert not differ, f"ModelConfig default != models/default: {differ}"


def test_every_package_is_in_the_wheel_list():
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        str(p.parent.relative_to(REPO)).replace("/", ".") for pkg in PACKAGES for p in (REPO / pkg).rglob("__init__.py")
    }
    assert found <= listed, f"packages missing from pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"
    assert "codefusion_model" in listed


def _import_circles(package: str) -> list:
    """The import circles inside `package`: each strongly connected component of more than one module
    in its import graph (grimp, as lint-imports builds it; imports inside functions and under
    TYPE_CHECKING count), as sorted module names."""
    import grimp

    graph = grimp.build_graph(package)
    order: dict = {}
    low: dict = {}
    stack: list = []
    on_stack: set = set()
    circles: list = []

    def visit(root: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit)
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            nxt = next((m for m in edges if m in graph.modules), None)
            if nxt is not None:
                if nxt not in order:
                    order[nxt] = low[nxt] = len(order)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                elif nxt in on_stack:
                    low[node] = min(low[node], order[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == order[node]:
                component = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    component.append(m)
                    if m == node:
                        break
                if len(component) > 1:
                    circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return circles


@pytest.mark.parametrize("package", ["engine", "grammar"])
def test_no_import_circles_inside_the_package(package):
    """Shared things live below the modules that use them (engine.types, engine.errors, grammar.verdict),
    so no two modules of a package import each other, directly or round a circle."""
    circles = _import_circles(package)
    assert not circles, f"import circles in {package}/: " + "; ".join(" <-> ".join(c) for c in circles)


def test_the_circle_check_finds_a_circle(tmp_path, monkeypatch):
    """_import_circles can fail: a package whose a imports b inside a function and b imports a."""
    pkg = tmp_path / "circled"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from circled import b\n")
    (pkg / "b.py").write_text("import circled.a\n")
    (pkg / "c.py").write_text("import circled.b\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _import_circles("circled") == [["circled.a", "circled.b"]]


def test_nothing_inside_the_engine_imports_its_facade():
    """engine.api only re-exports: a module of the engine that imported it would close a circle."""
    import grimp

    graph = grimp.build_graph("engine")
    assert graph.find_modules_that_directly_import("engine.api") == set()


MAX_LSP_LINES = 300  # issue 25: the language server's modules stay small enough to read whole


def test_no_lsp_module_is_over_300_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in sorted((REPO / "lsp").glob("*.py"))}
    over = {name: n for name, n in sizes.items() if n > MAX_LSP_LINES}
    assert len(sizes) > 5 and not over, f"lsp modules over {MAX_LSP_LINES} lines: {over}"


def _model_loader_calls(root: Path) -> list[str]:
    """Every call of load_generator / load_checkpoint (by name or attribute) in the .py files under root."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                if name in ("load_generator", "load_checkpoint"):
                    hits.append(f"{path.relative_to(REPO)}:{node.lineno}")
    return hits


def test_the_engine_is_the_one_place_that_opens_a_model():
    """codefusion/ and lsp/ open a checkpoint only through codefusion.runtime.Engine."""
    calls = _model_loader_calls(REPO / "codefusion") + _model_loader_calls(REPO / "lsp")
    assert calls and all(c.startswith("codefusion/runtime.py:") for c in calls), calls
