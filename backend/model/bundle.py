"""Copy a finished pretraining run into ``resources/models`` with its model card."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import yaml

from backend.core.atomic_io import write_atomic, write_text_atomic
from backend.model.checkpoint import BaseModel, file_sha256, load_base_model

BASE_MODEL_NAME = "stefaland_base.pt"


def bundle_base_model(run_dir: Path, out_dir: Path) -> Path:
    """Copy ``run_dir/model.pt`` to ``out_dir/stefaland_base.pt`` and write the model card next to it."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    source = run_dir / "model.pt"
    base = load_base_model(source)  # refuses a corrupt file before anything is copied
    target = out_dir / BASE_MODEL_NAME
    write_atomic(target, lambda tmp: shutil.copyfile(source, tmp))
    summary = json.loads((run_dir / "summary.json").read_text())
    split = json.loads((run_dir / "split.json").read_text())
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    write_text_atomic(out_dir / "stefaland_base.split.json", json.dumps(
        {k: split[k] for k in ("pretrain_basins", "holdout_basins", "holdout_seed")}, indent=1))
    base.normalizer.save(out_dir / "stefaland_base.normalizer.json")
    write_text_atomic(out_dir / "stefaland_base.md", model_card(base, summary, config, run_dir,
                                                                file_sha256(target)))
    return target


def _validation_rows(run_dir: Path) -> list[dict[str, str]]:
    """The loss-log rows that carry a validation loss."""
    with open(run_dir / "loss_log.csv", newline="") as handle:
        return [r for r in csv.DictReader(handle) if r["val_loss"]]


def _loss_curve(rows: list[dict[str, str]], points: int = 12) -> list[dict[str, str]]:
    if len(rows) <= points:
        return rows
    stride = max(1, len(rows) // points)
    return rows[::stride] + ([rows[-1]] if rows[-1] is not rows[::stride][-1] else [])


def _best_validation(rows: list[dict[str, str]]) -> dict[str, str]:
    return min(rows, key=lambda r: float(r["val_loss"]))


def model_card(base: BaseModel, summary: dict, config: dict, run_dir: Path, sha256: str) -> str:
    """The Markdown model card of a bundled base model."""
    n_params = sum(p.numel() for p in base.model.parameters())
    norm = base.normalizer
    lines = [
        "# StefaLand base model (`stefaland_base.pt`)",
        "",
        "Location-aware masked autoencoder over CAMELS-US static attributes and Daymet forcings.",
        "Made by `make pretrain` (`python -m backend pretrain --config resources/configs/pretrain.yaml "
        "--run-dir runs/pretrain`, then `python -m backend bundle-model`): this file is that run's output.",
        "",
        f"- SHA-256: `{sha256}`",
        f"- Parameters: {n_params:,}",
        f"- Training: {summary['steps']} steps, {summary['training_seconds'] / 60:.1f} min on "
        f"{summary['threads']} CPU threads",
        f"- Data: {summary['pretrain_basins']} CAMELS-US basins (a seeded 90%, seed "
        f"{config['holdout_seed']}); {summary['holdout_basins']} withheld for the reconstruction benchmark "
        "(list in `stefaland_base.split.json`)",
        f"- Period: Daymet forcings {summary['period'][0]}..{summary['period'][1]} (random 364-day windows)",
        "- Never seen: streamflow and the streamflow-derived signatures of `camels_hydro.txt`.",
        f"- Final masked-reconstruction loss on withheld basins: {json.dumps(summary['final_validation'])}",
        "",
        "## Design choices",
        "",
        "- **Weekly forcing tokens** (7 days, 52 tokens = 364 days): one token per day costs about 45x more "
        "attention per window on 2 CPU cores (measured in `../shared/notes/compute.md`: 7 s vs 0.15 s a step); "
        "each variable keeps its own patch embedding and mask embedding, and the decoder reconstructs every "
        "day, so daily detail is still trained. Task heads that need daily output (streamflow) add the daily "
        "forcings back through the residual adapter.",
        "- **One token per static group** (climate, topography, soil, geology, vegetation): each attribute has "
        "its own value embedding and mask embedding, summed within its group, so masking a whole group hides one "
        "token and attention learns the interactions between groups.",
        "- **Location token**: latitude/longitude as a point on the unit sphere with sinusoids at 8 frequencies, "
        "then an MLP; never masked.",
        "- **Masking**: each static group hidden with p = 0.5, each forcing hidden in contiguous 28-91-day "
        "windows until half its tokens are hidden; 10% of samples hide every forcing (static-only locations such "
        "as landslide points), 10% every static group; missing values count as hidden and never enter the loss.",
        "- **Loss**: mean squared error on hidden, observed entries, averaged per variable (inputs are z-scored, "
        "so this is the variance-scaled MSE); forcings weight 1.0, statics 0.5, categorical attributes "
        "(cross-entropy) 0.1. Pre-norm transformer encoder, one-layer decoder, per-variable linear heads.",
        "",
        "## Architecture",
        "",
        "```yaml",
        yaml.safe_dump({"model": config["model"], "masking": config["masking"], "loss": config["loss"]},
                       sort_keys=False).strip(),
        "```",
        "",
        "## Variables",
        "",
        f"Forcings (one token per {config['model']['patch_days']} days, own embedding per variable): "
        + ", ".join(f"`{n}`" for n in norm.forcing_names),
        "",
        "Static attributes by group (one token per group; numeric z-scored, `log` ones in log10):",
        "",
    ]
    groups = norm.static_groups()
    from backend.data.variables import STATIC_BY_NAME

    for group, members in groups.items():
        names = [norm.static_names[i] + (" (log)" if STATIC_BY_NAME[norm.static_names[i]].log else "")
                 for i in members]
        cats = [n for n in norm.vocabularies if STATIC_BY_NAME[n].group == group]
        lines.append(f"- **{group}**: {', '.join(names)}" + (f"; categorical: {', '.join(cats)}" if cats else ""))
    lines += ["", "Location: `gauge_lat`, `gauge_lon` as a multi-frequency sinusoidal encoding of the point on "
              "the sphere (its own token).", "",
              "## Normalisation statistics", "",
              "Computed on the pretraining basins only; full values in `stefaland_base.normalizer.json`.", "",
              "| variable | mean | std |", "|---|---|---|"]
    lines += [f"| {n} | {m:.4g} | {s:.4g} |" for n, m, s in zip(norm.forcing_names, norm.forcing_mean,
                                                                  norm.forcing_std, strict=True)]
    lines += [f"| {n} | {m:.4g} | {s:.4g} |" for n, m, s in zip(norm.static_names, norm.static_mean,
                                                                  norm.static_std, strict=True)]
    validation = _validation_rows(run_dir)
    best = _best_validation(validation)
    lines += ["", "## Loss curve (validation = withheld basins)", "",
              f"Lowest validation loss {best['val_loss']} at step {best['step']} (statics {best['val_statics']}, "
              f"forcings {best['val_forcings']}); the final weights are those of the last step. Where the "
              "validation static loss rises while the training loss falls, the model is memorising the "
              "pretraining basins' attributes (each basin has one fixed set of attributes).", "",
              "| step | minutes | train loss | val loss | val forcings | val statics |", "|---|---|---|---|---|---|"]
    for row in _loss_curve(validation):
        lines.append(f"| {row['step']} | {float(row['elapsed_s']) / 60:.1f} | {row['loss']} | {row['val_loss']} "
                     f"| {row['val_forcings']} | {row['val_statics']} |")
    return "\n".join(lines) + "\n"
