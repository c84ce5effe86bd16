"""``make package``: build ``dist/stefaland_plugin.zip`` for the QGIS plugin repository.

The zip holds the plugin folder only (no data, no models, no ``__pycache__``/``.pyc``), with
- ``metadata.txt`` copied from the project root (the source of truth; the copy in the plugin folder is
  refreshed too, since QGIS reads it from there when the folder is symlinked by ``make install-plugin``),
- the QML styles from ``resources/styles`` as ``stefaland_plugin/styles/``,
- the icon from ``resources/icons`` and the project's LICENSE.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
PLUGIN = PROJECT / "stefaland_plugin"
MAX_BYTES = 25 * 1024 * 1024
SKIP_PARTS = {"__pycache__", ".git", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".orig", ".rej", ".partial"}


def plugin_files() -> list[Path]:
    """Files of the plugin folder that belong in the zip."""
    files = []
    for path in sorted(PLUGIN.rglob("*")):
        relative = path.relative_to(PLUGIN)
        if not path.is_file() or SKIP_PARTS & set(relative.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        files.append(path)
    return files


def sync_copies() -> None:
    """Refresh the plugin folder's copies of metadata.txt and the icon from their sources."""
    shutil.copyfile(PROJECT / "metadata.txt", PLUGIN / "metadata.txt")
    shutil.copyfile(PROJECT / "resources" / "icons" / "stefaland.svg", PLUGIN / "icon.svg")


def build(out: Path) -> Path:
    sync_copies()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in plugin_files():
            archive.write(path, f"{PLUGIN.name}/{path.relative_to(PLUGIN).as_posix()}")
        for style in sorted((PROJECT / "resources" / "styles").glob("*.qml")):
            archive.write(style, f"{PLUGIN.name}/styles/{style.name}")
        archive.write(PROJECT / "LICENSE", f"{PLUGIN.name}/LICENSE")
    size = tmp.stat().st_size
    if size > MAX_BYTES:
        tmp.unlink()
        raise SystemExit(f"{out}: {size} bytes, over the repository's 25 MB limit")
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the QGIS plugin zip")
    parser.add_argument("--out", type=Path, default=PROJECT / "dist" / "stefaland_plugin.zip")
    args = parser.parse_args(argv)
    out = build(args.out)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    print(f"{out}: {len(names)} files, {out.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
