# StefaLand for QGIS. The two commands: `make run` and `make test`; both set up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
SHARED_DATA ?= ../shared/data
DATA_DIR    := data
STAMPS      := .stamps
APT_PACKAGES := python3-qgis python3-gdal python3-venv qgis qgis-providers xvfb xauth imagemagick x11-apps
export QT_QPA_PLATFORM ?= offscreen
export XDG_RUNTIME_DIR ?= /tmp/stefaland-xdg-$(shell id -u)

.PHONY: help setup system venv data run test lint pretrain benchmark benchmark-pretrain \
        benchmark-streamflow benchmark-tasks example-gauges package install-plugin clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

setup: system venv data  ## install QGIS, the venv and the data (does nothing when done)

system: $(STAMPS)/system
$(STAMPS)/system:
	@mkdir -p $(STAMPS)
	@if dpkg -s $(APT_PACKAGES) >/dev/null 2>&1; then echo "system packages: present"; \
	else \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi
	@touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt constraints.txt $(STAMPS)/system
	@[ -x $(PY) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -r requirements.txt
	@$(PY) -c "import numpy, torch, shapely, yaml; assert numpy.__version__ == '1.24.2', numpy.__version__; print('venv: torch', torch.__version__, 'numpy', numpy.__version__)"
	@touch $@

data: $(STAMPS)/data  ## unpack the real data from $(SHARED_DATA) into data/ (ignored by git)
$(STAMPS)/data: $(STAMPS)/system
	@[ -d "$(SHARED_DATA)" ] || { echo "No data at $(SHARED_DATA): set SHARED_DATA=... or STEFALAND_DATA=... (see README)"; exit 2; }
	@mkdir -p $(DATA_DIR)/camels_us $(DATA_DIR)/caravan $(STAMPS)
	cp -r $(SHARED_DATA)/camels_us/camels_attributes_v2.0 $(SHARED_DATA)/camels_us/usgs_streamflow $(DATA_DIR)/camels_us/
	tar -xJf $(SHARED_DATA)/camels_us/basin_mean_forcing_daymet.tar.xz -C $(DATA_DIR)/camels_us
	tar -xJf $(SHARED_DATA)/caravan/caravan_camels_timeseries.tar.xz -C $(DATA_DIR)/caravan
	cp -r $(SHARED_DATA)/ismn $(SHARED_DATA)/landslides $(SHARED_DATA)/basins $(DATA_DIR)/
	chmod -R u+w $(DATA_DIR)
	@touch $@

run: setup  ## the main job: QGIS with the plugin and demo layers (headless without a display)
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	$(PY) scripts/run_qgis.py

package:  ## the plugin zip for the QGIS plugin repository: dist/stefaland_plugin.zip
	python3 scripts/package_plugin.py --out dist/stefaland_plugin.zip

install-plugin:  ## symlink stefaland_plugin/ into the default QGIS profile (then enable it in QGIS)
	@dest="$(HOME)/.local/share/QGIS/QGIS3/profiles/default/python/plugins"; mkdir -p "$$dest"; \
	if [ -e "$$dest/stefaland_plugin" ] && [ ! -L "$$dest/stefaland_plugin" ]; then \
	  echo "$$dest/stefaland_plugin exists and is not a link: remove it first"; exit 1; fi; \
	ln -sfn "$(CURDIR)/stefaland_plugin" "$$dest/stefaland_plugin" && \
	echo "linked $$dest/stefaland_plugin -> $(CURDIR)/stefaland_plugin; enable StefaLand under Plugins > Manage and Install Plugins"

test: setup  ## ruff and the whole test suite, headless
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)
	$(VENV)/bin/ruff check backend stefaland_plugin tests scripts
	$(VENV)/bin/bandit -q -r backend stefaland_plugin
	$(PY) -m pytest -q

lint: venv
	$(VENV)/bin/ruff check backend stefaland_plugin tests scripts

pretrain: setup  ## pretrain the masked autoencoder on the real data (resumable)
	$(PY) -m backend pretrain --config resources/configs/pretrain.yaml --run-dir runs/pretrain
	STEFALAND_ALLOW_BUNDLE_WRITE=1 $(PY) -m backend bundle-model --run-dir runs/pretrain --out-dir resources/models

benchmark-pretrain: setup  ## reconstruction benchmark on the basins withheld from pretraining
	$(PY) -m backend benchmark pretrain --out docs/benchmark_pretrain.md

benchmark-streamflow: setup  ## streamflow PUB/PUR benchmark of the four models (about 80 min on 2 cores, resumable)
	mkdir -p runs
	STEFALAND_THREADS=1 $(PY) -m backend benchmark streamflow --part 1/2 > runs/benchmark_streamflow_part1.log 2>&1 & pid=$$!; \
	STEFALAND_THREADS=1 $(PY) -m backend benchmark streamflow --part 2/2; status=$$?; \
	wait $$pid && test $$status -eq 0
	$(PY) -m backend benchmark streamflow --report-only --out docs/benchmark_streamflow.md

ENSEMBLE_CONFIG := resources/configs/benchmark_streamflow_ensemble.yaml
.PHONY: benchmark-streamflow-ensemble
benchmark-streamflow-ensemble: setup  ## 3-member seed ensembles of StefaLand, the LSTM and the no-state head on PUB folds 1-3 (about 1 h on 2 cores, resumable)
	mkdir -p runs
	STEFALAND_THREADS=1 $(PY) -m backend benchmark streamflow --config $(ENSEMBLE_CONFIG) --part 1/2 > runs/benchmark_streamflow_ensemble_part1.log 2>&1 & pid=$$!; \
	STEFALAND_THREADS=1 $(PY) -m backend benchmark streamflow --config $(ENSEMBLE_CONFIG) --part 2/2; status=$$?; \
	wait $$pid && test $$status -eq 0
	$(PY) -m backend benchmark streamflow --config $(ENSEMBLE_CONFIG) --report-only --out docs/benchmark_streamflow_ensemble.md

.PHONY: streamflow-selection streamflow-selection-quick
streamflow-selection: setup  ## choose the streamflow configuration per fold on inner validation basins (PUB + PUR; about 2 h, resumable)
	STEFALAND_THREADS=1 $(PY) -m backend benchmark streamflow-selection --out docs/streamflow_selection.md

streamflow-selection-quick: setup  ## the same on PUB folds 1-3 only, to screen levers (about 40 min, resumable)
	STEFALAND_THREADS=1 $(PY) -m backend benchmark streamflow-selection --quick --out docs/streamflow_selection.md

LSTM_ENSEMBLE_CONFIG := resources/configs/benchmark_streamflow_lstm_ensemble.yaml
.PHONY: benchmark-streamflow-lstm-ensemble
benchmark-streamflow-lstm-ensemble: setup  ## the LSTM reference: 3-member ensembles on every PUB and PUR fold (about 1.5 h at one thread, resumable)
	STEFALAND_THREADS=1 $(PY) -m backend benchmark streamflow --config $(LSTM_ENSEMBLE_CONFIG) --out docs/benchmark_streamflow_lstm_ensemble.md

PRETRAIN_STUDY_LANE_A := control half_data
PRETRAIN_STUDY_LANE_B := small strong_static_masking untrained
.PHONY: pretrain-study signature-probe
pretrain-study: setup  ## pretraining study: 5 variants x (1,500 pretraining steps + streamflow PUB folds 1-3), about 2 hours on 2 cores, resumable
	mkdir -p runs/pretrain_study
	PY=$(PY) scripts/pretrain_study.sh $(PRETRAIN_STUDY_LANE_A) > runs/pretrain_study/lane_a.log 2>&1 & pid=$$!; \
	PY=$(PY) scripts/pretrain_study.sh $(PRETRAIN_STUDY_LANE_B); status=$$?; \
	wait $$pid && test $$status -eq 0
	$(PY) -m backend benchmark streamflow --config resources/configs/pretrain_study/control_fit_seed1_streamflow.yaml
	for v in $(PRETRAIN_STUDY_LANE_A) $(PRETRAIN_STUDY_LANE_B); do \
	  $(PY) -m backend benchmark signature-probe --base-model runs/pretrain_study/$$v/model.pt \
	    --json runs/pretrain_study/$$v/signature_probe.json > runs/pretrain_study/$$v/signature_probe.log || exit 1; \
	done
	$(PY) -m backend benchmark pretrain-study --out docs/pretrain_study.md

signature-probe: setup  ## do the frozen encoder's states predict streamflow signatures better than the statics? (2 min)
	$(PY) -m backend benchmark signature-probe --out docs/benchmark_signature_probe.md

streamflow-adapter: setup  ## train the bundled streamflow adapter on all basins with streamflow
	STEFALAND_ALLOW_BUNDLE_WRITE=1 $(PY) -m backend train-streamflow-adapter --config resources/configs/streamflow_adapter.yaml --out resources/models/streamflow_adapter.pt

benchmark-tasks: setup  ## soil composition, soil moisture and landslide benchmarks
	$(PY) -m backend benchmark soil-composition --out docs/benchmark_soil_composition.md
	$(PY) -m backend benchmark soil-moisture --out docs/benchmark_soil_moisture.md
	$(PY) -m backend benchmark landslide --out docs/benchmark_landslide.md
	$(PY) -m backend benchmark hazard-speed --out docs/benchmark_hazard_speed.md

.PHONY: adapters
adapters: streamflow-adapter task-adapters landslide-adapter  ## retrain every bundled adapter on the bundled base model

.PHONY: task-adapters
task-adapters: setup  ## train the bundled task adapters on the bundled base model (re-run after `make pretrain`)
	STEFALAND_ALLOW_BUNDLE_WRITE=1 $(PY) -m backend soil-composition-adapter --out resources/models/soil_composition_adapter.pt
	STEFALAND_ALLOW_BUNDLE_WRITE=1 $(PY) -m backend soil-moisture-adapter --out resources/models/soil_moisture_adapter.pt

.PHONY: landslide-adapter
landslide-adapter: setup  ## retrain the bundled landslide adapter (and its card) on the current base model
	STEFALAND_ALLOW_BUNDLE_WRITE=1 $(PY) -m backend landslide-train --points data/landslides/ecuador_lsl/lsl.csv --out-adapter resources/models/landslide_adapter.pt

EXAMPLE_GAUGES  := out/example_gauges
EXAMPLE_ADAPTER := out/example_adapter
ADAPTER ?=
example-gauges: setup  ## an example user dataset (10 real CAMELS basins, docs/user_format.md) in out/example_gauges/
	$(PY) -m backend example-gauges --out-dir $(EXAMPLE_GAUGES) --overwrite

.PHONY: finetune-example
finetune-example: example-gauges  ## fine-tune on the example gauges into out/example_adapter/, then predict them (ADAPTER=... to start from another adapter)
	$(PY) -m backend finetune --gauges $(EXAMPLE_GAUGES)/gauges.csv --streamflow $(EXAMPLE_GAUGES)/streamflow.csv \
	  --forcings $(EXAMPLE_GAUGES)/forcings --out-dir $(EXAMPLE_ADAPTER) --overwrite $(if $(ADAPTER),--adapter $(ADAPTER))
	$(PY) -m backend predict-gauges --gauges $(EXAMPLE_GAUGES)/gauges.csv --streamflow $(EXAMPLE_GAUGES)/streamflow.csv \
	  --forcings $(EXAMPLE_GAUGES)/forcings --adapter $(EXAMPLE_ADAPTER)/streamflow_adapter.pt \
	  --start 1997-10-01 --end 1999-09-30 --out-dir $(EXAMPLE_ADAPTER)/predictions --overwrite

benchmark: benchmark-pretrain benchmark-tasks benchmark-streamflow  ## all benchmarks
	$(PY) -m backend benchmark latency --out docs/benchmark_latency.md

clean:
	rm -rf $(STAMPS) runs dist
