"""Landslide commands: ``hazard`` (susceptibility GeoTIFF of a covariate raster) and ``landslide-train``."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.args import positive_int


def _hazard(args: argparse.Namespace) -> int:
    from backend.model.loading import get_base_model
    from backend.tasks.landslide.hazard import write_hazard_map
    from backend.tasks.landslide.model import load_landslide_model

    model = load_landslide_model(args.adapter, lambda: get_base_model(args.base_model))
    result = write_hazard_map(args.raster, args.out, model, tile=args.tile, threads=args.threads)
    print(f"wrote {result.out_tif}: {result.n_valid:,} of {result.n_cells:,} cells mapped, {result.crs}, "
          f"{result.tiles} tiles, encoder nodes {result.lattice_points} ({result.location_nodes} lat/lon nodes), "
          f"{result.seconds:.2f} s")
    print("class breaks (very low .. very high): " + ", ".join(f"{b:.4f}" for b in result.breaks))
    if args.png:
        from backend.tasks.landslide.hazard_render import render_png

        which = (f"StefaLand, base model {model.base.sha256[:8]}" if model.base is not None
                 else "from-scratch network")
        title = args.title or f"Landslide susceptibility of {Path(args.raster).name} ({which})"
        print(f"wrote {render_png(result.out_tif, args.png, title)}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from backend.core.config import load_config, save_config
    from backend.model.loading import get_base_model
    from backend.tasks.landslide.model import TrainSettings
    from backend.tasks.landslide.train import train_on_points, write_adapter_and_card

    settings = load_config(TrainSettings, args.config) if args.config else TrainSettings()
    if args.seed is not None:
        settings.fit.seed = args.seed
    base = None if args.from_scratch else get_base_model(args.base_model)
    trained = train_on_points(args.points, base, settings, cv=not args.no_cv)
    adapter, card = write_adapter_and_card(trained, args.out_adapter)
    resolved = save_config(settings, Path(args.out_adapter).with_suffix(".yaml"))
    for path in (adapter, card, resolved):
        print(f"wrote {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``hazard`` and ``landslide-train``."""
    h = sub.add_parser("hazard", help="landslide susceptibility GeoTIFF of a covariate raster: band 1 the "
                                      "probability (a cell's own, whatever the map's extent), band 2 five "
                                      "classes (quintiles of this map, so relative to it)")
    h.add_argument("--raster", type=Path, required=True, help="GeoTIFF of covariates, one per band, bands "
                                                              "described by name (e.g. ecuador_lsl/ta.tif)")
    h.add_argument("--out", type=Path, required=True, help="the susceptibility GeoTIFF to write")
    h.add_argument("--adapter", type=Path, help="landslide adapter (default: the bundled one)")
    h.add_argument("--base-model", type=Path, help="default: $STEFALAND_BASE_MODEL or the bundled one")
    h.add_argument("--tile", type=positive_int, default=256, help="tile size in cells (bounds memory)")
    h.add_argument("--threads", type=positive_int, default=1,
                   help="torch threads while mapping (1 is fastest on 2 cores)")
    h.add_argument("--png", type=Path, help="also draw the map as a PNG")
    h.add_argument("--title", help="title of the PNG")
    h.set_defaults(func=_hazard)
    t = sub.add_parser("landslide-train", help="train a landslide adapter on labelled points (and its model card)")
    t.add_argument("--points", type=Path, required=True, help="CSV with x, y (EPSG:32717), label, covariates")
    t.add_argument("--out-adapter", type=Path, required=True, help="adapter file to write (.pt; card .md and "
                                                                   "settings .yaml next to it)")
    t.add_argument("--config", type=Path, help="YAML of training settings "
                   "(backend.tasks.landslide.model.TrainSettings)")
    t.add_argument("--base-model", type=Path, help="default: $STEFALAND_BASE_MODEL or the bundled one")
    t.add_argument("--from-scratch", action="store_true", help="no base model: the from-scratch network")
    t.add_argument("--seed", type=int, help="override the training seed")
    t.add_argument("--no-cv", action="store_true", help="skip the spatial CV reported in the model card")
    t.set_defaults(func=_train)
