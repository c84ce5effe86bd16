"""Soil commands: ``soil-composition``, ``soil-moisture`` and the adapter training commands.

- ``soil-composition --lat LAT --lon LON [--attr name=value ...]`` or ``--basin GAUGE_ID``
- ``soil-moisture --lat LAT --lon LON --start YYYY-MM-DD --end YYYY-MM-DD --out FILE.csv``
- ``soil-composition-adapter --out PATH`` / ``soil-moisture-adapter --out PATH [--sites CSV --values CSV]``
  (``make task-adapters`` runs both into ``resources/models``)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backend.cli.args import attribute_values, positive_int, quiet
from backend.service.requests import parse_params


def _composition(args: argparse.Namespace) -> int:
    from backend.model.locations import camels_location_inputs
    from backend.service.soil import soil_request
    from backend.tasks.soil.composition import COMPONENTS

    if args.basin:
        loc = camels_location_inputs(args.basin, hide_groups=("soil",))
        point = {"id": args.basin, "lat": loc.latlon[0], "lon": loc.latlon[1],
                 "attributes": {**loc.numeric, **loc.categorical}}
    elif args.lat is not None and args.lon is not None:
        point = {"id": "point", "lat": args.lat, "lon": args.lon, "attributes": attribute_values(args.attr, "--attr")}
    else:
        raise ValueError("give --basin GAUGE_ID or both --lat and --lon")
    params = {"points": [point], "model": str(args.model or ""), "adapter": str(args.adapter or "")}
    row = soil_request(parse_params("soil_composition", params), quiet)["rows"][0]
    print(f"location {row['lat']:.4f}, {row['lon']:.4f}; forcings of CAMELS basin {row['forcing_basin']} "
          f"({row['forcing_basin_km']:.1f} km from its gauge)")
    for c in COMPONENTS:
        name = c.replace("_frac", "")
        print(f"{name:<5} {row[name + '_pct']:6.1f} %")
    if args.basin:
        from backend.data.catalogue import BasinCatalogue

        table = BasinCatalogue.open().attributes
        i = table.index(args.basin)
        raw = [table.numeric[c][i] for c in COMPONENTS]
        print("CAMELS (renormalised): " + ", ".join(f"{c.replace('_frac', '')} {v / sum(raw) * 100:.1f} %"
                                                    for c, v in zip(COMPONENTS, raw, strict=True)))
    print(f"inputs given: {len(row['given'])}; imputed by the base model: {', '.join(row['imputed']) or 'none'}")
    if row["ignored"]:
        print(f"ignored: {'; '.join(row['ignored'])}")
    if row.get("warning"):
        print(f"warning: {row['warning']}")
    return 0


def _moisture(args: argparse.Namespace) -> int:
    from backend.service.soil_moisture import soil_moisture_request

    params = {"points": [{"id": args.id, "lat": args.lat, "lon": args.lon}], "start": args.start, "end": args.end,
              "out_csv": str(args.out), "model": str(args.model or ""), "adapter": str(args.adapter or "")}
    result = soil_moisture_request(parse_params("soil_moisture", params), quiet)
    for p in result["points"]:
        print(f"{p['id']}: {p['days']} days, mean {p['mean']:.3f} m3/m3; forcings of CAMELS basin "
              f"{p['forcing_basin']} ({p['forcing_basin_km']:.1f} km from its gauge)")
        if p.get("warning"):
            print(f"warning: {p['warning']}")
    print(f"wrote {result['csv']} (id, date, soil_moisture in m3/m3)")
    return 0


def _composition_adapter(args: argparse.Namespace) -> int:
    from backend.model.loading import get_base_model
    from backend.tasks.soil.train import train_composition_adapter

    path = train_composition_adapter(get_base_model(args.model), args.out, args.seed)
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


def _moisture_adapter(args: argparse.Namespace) -> int:
    from backend.model.loading import get_base_model
    from backend.tasks.soil.probes import read_probe_csvs
    from backend.tasks.soil.train import train_moisture_adapter

    if (args.sites is None) != (args.values is None):
        raise ValueError("give both --sites and --values (or neither, for the ISMN stations)")
    probes = read_probe_csvs(args.sites, args.values) if args.sites else None
    path = train_moisture_adapter(get_base_model(args.model), args.out, probes, args.seed, args.steps)
    print(f"wrote {path} and {path.with_suffix('.md')}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the soil commands."""
    c = sub.add_parser("soil-composition", help="sand/silt/clay %% at a point or CAMELS basin (soil hidden)")
    c.add_argument("--basin", help="a CAMELS gauge id (its non-soil attributes are the inputs)")
    c.add_argument("--lat", type=float)
    c.add_argument("--lon", type=float)
    c.add_argument("--attr", action="append", help="a known non-soil attribute, name=value (repeatable)")
    c.add_argument("--model", type=Path, default=None, help="base model (default: bundled)")
    c.add_argument("--adapter", type=Path, default=None, help="adapter (default: the bundled one)")
    c.set_defaults(func=_composition)
    m = sub.add_parser("soil-moisture", help="daily soil moisture (m3/m3) at a point, 1980-2014, as CSV")
    m.add_argument("--lat", type=float, required=True)
    m.add_argument("--lon", type=float, required=True)
    m.add_argument("--start", required=True)
    m.add_argument("--end", required=True)
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--id", default="point")
    m.add_argument("--model", type=Path, default=None)
    m.add_argument("--adapter", type=Path, default=None)
    m.set_defaults(func=_moisture)
    a = sub.add_parser("soil-composition-adapter", help="train the soil-composition adapter on all CAMELS basins")
    a.add_argument("--out", type=Path, required=True)
    a.add_argument("--model", type=Path, default=None)
    a.add_argument("--seed", type=int, default=0)
    a.set_defaults(func=_composition_adapter)
    s = sub.add_parser("soil-moisture-adapter", help="train the soil-moisture adapter on ISMN stations or your "
                       "own probes")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--sites", type=Path, default=None, help="CSV id,lat,lon of your probes")
    s.add_argument("--values", type=Path, default=None, help="CSV id,date,soil_moisture (m3/m3)")
    s.add_argument("--model", type=Path, default=None)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--steps", type=positive_int, default=400)
    s.set_defaults(func=_moisture_adapter)
