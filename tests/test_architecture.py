"""The layout's rules, checked on the source itself (static imports, file sizes), so that they cannot rot.

- ``backend/`` never imports qgis (it runs in the worker, outside QGIS); ``stefaland_plugin/`` never imports
  torch or the backend (it runs inside QGIS and talks to the worker over JSON lines).
- Nothing outside ``backend/benchmarks/`` and ``backend/cli/`` imports ``backend.benchmarks``.
- Layers: ``core`` <- ``data`` <- ``model`` <- ``training`` <- ``tasks`` <- ``service``; a package imports only its
  own layer and those below it (``cli`` may use them all and ``benchmarks``).
- At most four Python files directly in ``backend/``; no file in either package over 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BACKEND = ROOT / "backend"
PLUGIN = ROOT / "stefaland_plugin"
MAX_LINES = 400


def _modules(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports (absolute names; relative imports resolved against its package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def _offenders(files: list[Path], banned: tuple[str, ...]) -> list[str]:
    return [f"{f.relative_to(ROOT)} imports {name}" for f in files for name in sorted(imported_modules(f))
            if any(name == b or name.startswith(b + ".") for b in banned)]


def test_the_import_scanner_sees_relative_and_nested_imports(tmp_path: Path) -> None:
    """The checks below rely on this scanner: it must catch imports inside functions and relative ones."""
    sample = tmp_path / "backend" / "data" / "probe.py"
    sample.parent.mkdir(parents=True)
    sample.write_text("def f():\n    import qgis.core\n    from ..benchmarks import streamflow\n")
    found = imported_modules(sample, tmp_path)
    assert "qgis.core" in found and "backend.benchmarks.streamflow" in found


def test_backend_never_imports_qgis() -> None:
    assert _offenders(_modules(BACKEND), ("qgis", "PyQt5", "processing")) == []


def test_plugin_never_imports_torch_or_the_backend() -> None:
    assert _offenders(_modules(PLUGIN), ("torch", "backend")) == []


def test_only_benchmarks_and_cli_import_benchmarks() -> None:
    outside = [f for f in _modules(BACKEND) if f.relative_to(BACKEND).parts[0] not in ("benchmarks", "cli")]
    assert _offenders(outside, ("backend.benchmarks",)) == []


#: the layers, lowest first: a package may import its own layer and those before it (cli also benchmarks)
LAYERS = ("core", "data", "model", "training", "tasks", "service")


@pytest.mark.parametrize(("package", "allowed"), [
    *[(layer, tuple(f"backend.{below}" for below in LAYERS[: i + 1])) for i, layer in enumerate(LAYERS)],
    ("cli", tuple(f"backend.{name}" for name in (*LAYERS, "cli", "benchmarks"))),
])
def test_lower_layers_import_nothing_above_them(package: str, allowed: tuple[str, ...]) -> None:
    files = _modules(BACKEND / package)
    above = [f"{f.relative_to(ROOT)} imports {name}" for f in files for name in sorted(imported_modules(f))
             if name.startswith("backend.") and not any(name == a or name.startswith(a + ".") for a in allowed)]
    assert above == []


def test_at_most_four_python_files_directly_in_backend() -> None:
    top = sorted(p.name for p in BACKEND.glob("*.py"))
    assert len(top) <= 4, top


def test_no_source_file_over_400_lines() -> None:
    long = [f"{f.relative_to(ROOT)} ({n} lines)" for f in _modules(BACKEND) + _modules(PLUGIN)
            if (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []
