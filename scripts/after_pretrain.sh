#!/usr/bin/env bash
# Everything that depends on the base model, in order, after `make pretrain` (one core each for two lanes).
# Lane A: the streamflow benchmark (long). Lane B: reconstruction benchmark, adapters, task benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export STEFALAND_THREADS=1 STEFALAND_ALLOW_BUNDLE_WRITE=1
PY=.venv/bin/python
mkdir -p runs
lane_a() {
  $PY -m backend benchmark streamflow --out docs/benchmark_streamflow.md > runs/lane_a.log 2>&1
}
lane_b() {
  {
    $PY -m backend benchmark pretrain --out docs/benchmark_pretrain.md
    $PY -m backend train-streamflow-adapter --config resources/configs/streamflow_adapter.yaml --out resources/models/streamflow_adapter.pt
    $PY -m backend soil-composition-adapter --out resources/models/soil_composition_adapter.pt
    $PY -m backend soil-moisture-adapter --out resources/models/soil_moisture_adapter.pt
    $PY -m backend landslide-train --points data/landslides/ecuador_lsl/lsl.csv --out-adapter resources/models/landslide_adapter.pt
    $PY -m backend benchmark landslide --out docs/benchmark_landslide.md
    $PY -m backend benchmark soil-composition --out docs/benchmark_soil_composition.md
    $PY -m backend benchmark soil-moisture --out docs/benchmark_soil_moisture.md
  } > runs/lane_b.log 2>&1
}
lane_a & lane_b & wait
