#!/usr/bin/env bash
# Pretraining study (docs/pretrain_study.md): for each VARIANT named, pretrain 1,500 steps with
# resources/configs/pretrain_study/VARIANT.yaml, then score that base model on streamflow PUB folds 1-3
# (resources/configs/pretrain_study/VARIANT_streamflow.yaml). One torch thread; resumable at every stage.
# usage: scripts/pretrain_study.sh VARIANT...   (make pretrain-study runs two lanes side by side)
set -euo pipefail
PY=${PY:-.venv/bin/python}
for variant in "$@"; do
  "$PY" -m backend pretrain --config "resources/configs/pretrain_study/$variant.yaml" \
    --run-dir "runs/pretrain_study/$variant"
  STEFALAND_THREADS=1 "$PY" -m backend benchmark streamflow \
    --config "resources/configs/pretrain_study/${variant}_streamflow.yaml"
done
