"""Streamflow commands: ``predict``, ``train-streamflow-adapter`` and ``streamflow-adapter-record``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from backend.cli.args import attribute_values, quiet
from backend.service.requests import parse_params

#: command-line option -> ``predict_location`` parameter, for the optional files of --polygon/--point
OPTIONAL_FILES = {"adapter": "adapter", "model": "model", "forcings": "forcings_csv"}


def _predict(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.overwrite:
        raise FileExistsError(f"{args.out}: exists; refusing to overwrite it (use --overwrite)")
    if args.basin:
        return _predict_basin(args)
    return _predict_location(args)


def _predict_basin(args: argparse.Namespace) -> int:
    from backend.model.loading import get_base_model
    from backend.tasks.streamflow.adapter_io import BUNDLED_STREAMFLOW_ADAPTER, load_streamflow_adapter
    from backend.tasks.streamflow.predict import predict_camels_basin, write_prediction_csv
    from backend.tasks.streamflow.provenance import describe_score_context, read_training_record

    base = get_base_model(args.model)
    model, cfg, meta = load_streamflow_adapter(args.adapter, base)
    record = read_training_record(args.adapter or BUNDLED_STREAMFLOW_ADAPTER, meta)
    result = predict_camels_basin(base, model, args.basin, args.start, args.end, cfg["warmup_days"])
    write_prediction_csv(result, args.out, overwrite=args.overwrite)
    print(f"wrote {args.out}: {len(result.dates)} days of streamflow_pred (mm/day) for {args.basin}, "
          f"mean {float(np.mean(result.streamflow_pred)):.3f} mm/day")
    print(_members_line(result.members, result.member_spread_p10, result.member_spread_p90))
    if result.nse is not None:
        print(f"NSE {result.nse:.3f}  KGE {result.kge:.3f} against observed streamflow "
              f"({int((~np.isnan(result.streamflow_obs)).sum())} observed days)")
        context = record.score_context(args.basin) if record else {"in_sample": None}
        print(describe_score_context(context))
    else:
        print("no observed streamflow for this basin and period: NSE/KGE not computed")
    if result.imputed:
        print(f"imputed attributes: {', '.join(result.imputed)}")
    return 0


def _members_line(members: int, low: np.ndarray | None, high: np.ndarray | None) -> str:
    """What the model is made of, and how wide its member spread is on average."""
    if members == 1 or low is None or high is None:
        return ("model: 1 member; member_spread_p10/p90 equal streamflow_pred (an ensemble of one has no "
                "spread)")
    return (f"model: ensemble of {members} members; streamflow_pred is their daily mean, member_spread_p10/p90 "
            f"their 10th-90th percentile (mean width {float(np.mean(high - low)):.3f} mm/day; member spread, "
            "not a calibrated interval)")


def _location_params(args: argparse.Namespace) -> dict[str, Any]:
    """The ``predict_location`` request of a --polygon or --point, with --attribute values."""
    from backend.data.geojson_polygon import read_polygon

    attributes: dict[str, Any] = {}
    if args.polygon:
        polygon = read_polygon(args.polygon)
        name, lat, lon = polygon.name, polygon.lat, polygon.lon
        attributes.update({k: v for k, v in polygon.properties.items()
                           if k not in ("name", "id") and isinstance(v, int | float | str)})
        attributes.setdefault("area_km2", round(polygon.area_km2, 3))
    else:
        lat, lon = _lat_lon(args.point)
        name = f"point {lat:.4f},{lon:.4f}"
    attributes.update(attribute_values(args.attribute, "--attribute"))
    params = {"id": name, "lat": lat, "lon": lon, "attributes": attributes, "start": args.start, "end": args.end,
              "out_csv": str(args.out), "overwrite": args.overwrite}
    params.update({key: str(getattr(args, option)) for option, key in OPTIONAL_FILES.items() if getattr(args, option)})
    return params


def _lat_lon(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--point {text!r}: expected LAT,LON in decimal degrees, e.g. 46.7,-69.7") from None
    return lat, lon


def _predict_location(args: argparse.Namespace) -> int:
    from backend.service.streamflow import predict_location_request

    params = _location_params(args)
    row = predict_location_request(parse_params("predict_location", params), quiet)
    print(f"wrote {row['csv']}: {row['n_days']} days of streamflow_pred (mm/day) for {params['id']} "
          f"({params['lat']:.4f}, {params['lon']:.4f}), mean {row['mean_flow']:.3f} mm/day")
    print(f"model: {row['members']} member(s); streamflow_pred is their daily mean, member_spread_p10/p90 their "
          "10th-90th percentile (member spread, not a calibrated interval)")
    print(f"forcings: {row['forcing_source']}")
    print(f"attributes given: {', '.join(row['given']) or 'none'}")
    print(f"imputed by the model: {', '.join(row['imputed']) or 'none'}")
    if row.get("ignored"):
        print(f"ignored: {'; '.join(row['ignored'])}")
    return 0


def _train_adapter(args: argparse.Namespace) -> int:
    from backend.tasks.streamflow.bundle import train_bundled_adapter

    print(f"wrote {train_bundled_adapter(args.config, args.out)}")
    return 0


def _record_adapter(args: argparse.Namespace) -> int:
    from backend.tasks.streamflow.bundle import record_bundled_adapter

    print(f"wrote {record_bundled_adapter(args.adapter)}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``predict``, ``train-streamflow-adapter`` and ``streamflow-adapter-record``."""
    p = sub.add_parser("predict", help="daily streamflow for a CAMELS basin, a polygon or a point "
                                       "(works without observations)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--basin", help="8-digit CAMELS gauge id")
    where.add_argument("--polygon", type=Path, help="GeoJSON file with one catchment polygon (WGS84); "
                                                    "properties named like model attributes are used")
    where.add_argument("--point", help="LAT,LON of an outlet or catchment centre (decimal degrees)")
    p.add_argument("--attribute", action="append", default=[], metavar="NAME=VALUE",
                   help="a known attribute of the --polygon/--point location (repeatable), e.g. elev_mean=850")
    p.add_argument("--forcings", type=Path, default=None,
                   help="forcings CSV (date,prcp,srad,tmax,tmin,vp,dayl) for --polygon/--point; "
                        "default: the nearest CAMELS basin's Daymet forcings")
    p.add_argument("--start", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--end", required=True, help="last day, YYYY-MM-DD")
    p.add_argument("--out", type=Path, required=True, help="CSV to write (date, streamflow_pred, member_spread_p10, "
                                                             "member_spread_p90, streamflow_obs)")
    p.add_argument("--adapter", type=Path, default=None, help="adapter file (default: the bundled one)")
    p.add_argument("--model", type=Path, default=None, help="base model (default: the bundled one)")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=_predict)
    t = sub.add_parser("train-streamflow-adapter", help="train the bundled streamflow adapter on all basins")
    t.add_argument("--config", type=Path, default=Path("resources/configs/streamflow_adapter.yaml"))
    t.add_argument("--out", type=Path, default=Path("resources/models/streamflow_adapter.pt"))
    t.set_defaults(func=_train_adapter)
    r = sub.add_parser("streamflow-adapter-record",
                       help="write which basins the bundled streamflow adapter saw, with their out-of-fold NSE")
    r.add_argument("--adapter", type=Path, default=Path("resources/models/streamflow_adapter.pt"))
    r.set_defaults(func=_record_adapter)
