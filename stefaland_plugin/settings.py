"""Settings (QgsSettings keys under ``stefaland/``), paths and logging shared by the plugin."""

from __future__ import annotations

from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsSettings

LOG_TAG = "StefaLand"
PLUGIN_DIR = Path(__file__).resolve().parent

KEY_PYTHON = "stefaland/python"  #: interpreter running the worker
KEY_BACKEND_ROOT = "stefaland/backend_root"  #: project folder holding ``backend/``
KEY_ADAPTER = "stefaland/adapter"  #: active fine-tuned adapter ("" = the bundled model)
KEY_LATEST_ADAPTER = "stefaland/latest_adapter"  #: the last adapter trained (offered in the Model list)
KEY_START = "stefaland/start"  #: period start (ISO date)
KEY_END = "stefaland/end"  #: period end (ISO date)
KEY_OUTPUT_DIR = "stefaland/output_dir"  #: where the dock writes its results
KEY_FORCINGS_CSV = "stefaland/forcings_csv"  #: daily forcings for polygons ("" = nearest CAMELS basin)

DEFAULT_START = "1990-01-01"
DEFAULT_END = "1999-12-31"


def log(message: str, level: Qgis.MessageLevel = Qgis.MessageLevel.Info) -> None:
    """Write to the QGIS message log under the StefaLand tag (safe from any thread)."""
    QgsMessageLog.logMessage(message, LOG_TAG, level)


def get(key: str, default: str = "") -> str:
    """The setting ``key`` as text, ``default`` if it is not set."""
    value = QgsSettings().value(key, default)
    return str(value) if value is not None else default


def put(key: str, value: str) -> None:
    """Store ``value`` under the setting ``key``."""
    QgsSettings().setValue(key, value)


def backend_root() -> Path:
    """The project folder holding ``backend/``: the setting, else the folder above the plugin.

    ``make install-plugin`` symlinks the plugin folder into the QGIS profile; ``PLUGIN_DIR`` is
    resolved through that link, so the default still points into the project.
    """
    configured = get(KEY_BACKEND_ROOT)
    return Path(configured).expanduser() if configured else PLUGIN_DIR.parent


def python_executable() -> Path:
    """The interpreter for the worker: the setting, else ``<backend root>/.venv/bin/python``."""
    configured = get(KEY_PYTHON)
    return Path(configured).expanduser() if configured else backend_root() / ".venv" / "bin" / "python"


def output_dir() -> Path:
    """Folder for results written by the dock: the setting, else ``<backend root>/out/qgis``."""
    configured = get(KEY_OUTPUT_DIR)
    return Path(configured).expanduser() if configured else backend_root() / "out" / "qgis"


def active_adapter() -> str:
    """Path of the active fine-tuned adapter, or "" for the bundled model."""
    return get(KEY_ADAPTER)


def latest_adapter() -> str:
    """The last fine-tuned adapter, if its file still exists ("" otherwise)."""
    path = get(KEY_LATEST_ADAPTER)
    return path if path and Path(path).exists() else ""


def style_path(name: str) -> Path | None:
    """A QML style by name: ``<plugin>/styles`` (packaged zip) or ``<backend root>/resources/styles``."""
    for folder in (PLUGIN_DIR / "styles", backend_root() / "resources" / "styles"):
        candidate = folder / f"{name}.qml"
        if candidate.is_file():
            return candidate
    return None


def icon_path() -> str:
    """Path of the plugin's icon (``icon.svg``)."""
    return str(PLUGIN_DIR / "icon.svg")


def plugin_version() -> str:
    """``version=`` from the plugin's metadata.txt."""
    metadata = PLUGIN_DIR / "metadata.txt"
    if metadata.is_file():
        for line in metadata.read_text(encoding="utf-8").splitlines():
            if line.startswith("version="):
                return line.partition("=")[2].strip()
    return "unknown"
