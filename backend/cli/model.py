"""Model commands: ``pretrain`` and ``bundle-model``."""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.args import positive_int
from backend.core.config import load_config


def _pretrain(args: argparse.Namespace) -> int:
    from backend.training.pretrain import PretrainConfig, Pretrainer

    overrides = {"steps": args.steps} if args.steps else None
    cfg = load_config(PretrainConfig, args.config, overrides)
    Pretrainer(cfg, args.run_dir).run()
    return 0


def _bundle(args: argparse.Namespace) -> int:
    from backend.model.bundle import bundle_base_model

    path = bundle_base_model(args.run_dir, args.out_dir)
    print(f"bundled {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``pretrain`` and ``bundle-model``."""
    p = sub.add_parser("pretrain", help="pretrain the masked autoencoder on the real data (resumable)")
    p.add_argument("--config", type=Path, default=Path("resources/configs/pretrain.yaml"))
    p.add_argument("--run-dir", type=Path, default=Path("runs/pretrain"))
    p.add_argument("--steps", type=positive_int, default=None, help="override the number of steps")
    p.set_defaults(func=_pretrain)
    b = sub.add_parser("bundle-model", help="copy a finished pretraining run into resources/models")
    b.add_argument("--run-dir", type=Path, default=Path("runs/pretrain"))
    b.add_argument("--out-dir", type=Path, default=Path("resources/models"))
    b.set_defaults(func=_bundle)
    add_more_parsers(sub)


def _impute(args: argparse.Namespace) -> int:
    from backend.model.imputation import impute_attributes
    from backend.model.loading import get_base_model
    from backend.model.locations import camels_location_inputs

    base = get_base_model(args.model)
    numeric: dict[str, float] = {}
    categorical: dict[str, str] = {}
    if args.basin:
        loc = camels_location_inputs(args.basin, hide_groups=args.hide)
        latlon, numeric, categorical = loc.latlon, loc.numeric, loc.categorical
        forcings, dates = loc.forcings_raw, loc.dates
    else:
        if args.lat is None or args.lon is None:
            raise ValueError("give --basin GAUGE_ID or both --lat and --lon")
        latlon, forcings, dates = (args.lat, args.lon), None, None
    for item in args.attr or []:
        name, _, value = item.partition("=")
        if name in base.normalizer.vocabularies:
            categorical[name] = value
        else:
            try:
                numeric[name] = float(value)
            except ValueError:
                raise ValueError(f"--attr {item}: {name} is numeric, {value!r} is not a number") from None
    result = impute_attributes(base, latlon, numeric, categorical, forcings, dates)
    width = max(len(n) for n in result.values)
    for name, value in result.values.items():
        tag = "imputed" if name in result.imputed else "given"
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"{name:<{width}}  {shown:>14}  {tag}")
    print(f"{len(result.imputed)} imputed, {len(result.given)} given")
    return 0


def _embed(args: argparse.Namespace) -> int:
    import csv
    import io

    from backend.core.atomic_io import write_text_atomic
    from backend.data.basin_arrays import load_basin_arrays
    from backend.data.catalogue import BasinCatalogue
    from backend.model.imputation import location_embeddings
    from backend.model.inputs import camels_location_data
    from backend.model.loading import get_base_model

    base = get_base_model(args.model)
    catalogue = BasinCatalogue.open()
    known = catalogue.with_forcings_and_attributes
    ids = known if args.basins == ["all"] else args.basins
    unknown = [g for g in ids if g not in known]
    if unknown:
        raise ValueError(f"no forcings and attributes for basin(s) {', '.join(unknown)}")
    if args.out.exists() and not args.overwrite:
        raise FileExistsError(f"{args.out}: exists; refusing to overwrite it (use --overwrite)")
    data = camels_location_data(base.normalizer, catalogue.attributes, load_basin_arrays(catalogue), ids)
    vectors = location_embeddings(base, data, max_windows=args.windows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["gauge_id", *(f"e{k}" for k in range(vectors.shape[1]))])
    for gid, row in zip(ids, vectors, strict=True):
        writer.writerow([gid, *(f"{v:.6f}" for v in row)])
    write_text_atomic(args.out, buffer.getvalue(), overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(ids)} basins x {vectors.shape[1]} dimensions (base model {base.sha256[:12]})")
    return 0


def add_more_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``impute`` and ``embed``."""
    i = sub.add_parser("impute", help="fill in missing attributes of a location with the base model")
    i.add_argument("--basin", help="a CAMELS gauge id (its attributes are the given ones)")
    i.add_argument("--hide", nargs="*", default=[], help="static groups to hide for --basin (e.g. soil geol)")
    i.add_argument("--lat", type=float)
    i.add_argument("--lon", type=float)
    i.add_argument("--attr", action="append", help="a known attribute, name=value (repeatable)")
    i.add_argument("--model", type=Path, default=None)
    i.set_defaults(func=_impute)
    e = sub.add_parser("embed", help="export one embedding vector per CAMELS basin (CSV)")
    e.add_argument("--basins", nargs="+", default=["all"], help="gauge ids, or 'all' (default)")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--windows", type=positive_int, default=8, help="364-day windows averaged per basin")
    e.add_argument("--model", type=Path, default=None)
    e.add_argument("--overwrite", action="store_true")
    e.set_defaults(func=_embed)
