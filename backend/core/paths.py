"""Where things live: the project root, the data root (overridable), the bundled resources."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # backend/core/paths.py -> the project root
RESOURCES_DIR = PROJECT_ROOT / "resources"
CONFIGS_DIR = RESOURCES_DIR / "configs"
MODELS_DIR = RESOURCES_DIR / "models"


def data_root() -> Path:
    """The data folder: ``$STEFALAND_DATA`` if set, else ``<project>/data`` (made by ``make data``).

    The folder has the layout of ``../shared/data`` with the archives unpacked::

        camels_us/camels_attributes_v2.0/camels_*.txt
        camels_us/basin_mean_forcing/daymet/<huc_02>/<gauge_id>_lump_cida_forcing_leap.txt
        camels_us/usgs_streamflow/<huc_02>/<gauge_id>_streamflow_qc.txt
        caravan/timeseries/csv/<source>/<source>_<id>.csv
        ismn/..., landslides/..., basins/...
    """
    env = os.environ.get("STEFALAND_DATA")
    return Path(env).expanduser().resolve() if env else PROJECT_ROOT / "data"


def cache_dir() -> Path:
    """Folder for derived caches (binary copies of parsed text files); inside the data root."""
    return data_root() / "cache"
