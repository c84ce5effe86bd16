"""Benchmark reports rebuild from their committed per-unit results (``results/``) byte for byte, without data.

Every benchmark doc either has its results under ``results/<doc name>/`` (and then rebuilds from them
unchanged) or says near its top that it has none; every doc ends with its ``headline:`` line.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from backend.benchmarks import (
    HEADLINE_PREFIX,
    NO_RESULTS_PREFIX,
    READING_HEADING,
    RESULTS_LIVE,
    RESULTS_LOST,
    headline,
    read_headline,
    slug,
    write_report_keeping_reading,
)
from backend.benchmarks.streamflow import FOLDS_FILE, StreamflowBenchmarkConfig, unit_results
from backend.core.config import load_config

REPO = Path(__file__).resolve().parents[3]
DOCS = sorted([*REPO.glob("docs/benchmark_*.md"), REPO / "docs" / "pretrain_study.md",
               REPO / "docs" / "streamflow_design_search.md", *REPO.glob("docs/streamflow_selection.md")])


def _streamflow_configs() -> dict[str, Path]:
    """Doc name -> streamflow benchmark config (relative to the repository) of every config with results_dir."""
    configs = {}
    for path in sorted((REPO / "resources" / "configs").glob("benchmark_streamflow*.yaml")):
        cfg = load_config(StreamflowBenchmarkConfig, path)
        if cfg.results_dir is not None:
            configs[Path(cfg.results_dir).name] = path.relative_to(REPO)
    return configs


def _rebuilders() -> dict[str, Callable[[Path], object]]:
    """Doc name -> the report-only command that rebuilds ``docs/<name>.md`` (run in the repository layout)."""
    from backend.benchmarks import (
        latency,
        pretrain_study,
        reconstruction,
        signature_probe,
        streamflow,
        streamflow_design,
        streamflow_selection,
    )

    def streamflow_doc(config: Path) -> Callable[[Path], object]:
        return lambda out: streamflow.main(["--config", str(config), "--report-only", "--out", str(out)])

    rebuild: dict[str, Callable[[Path], object]] = {
        name: streamflow_doc(config) for name, config in _streamflow_configs().items()}
    rebuild["streamflow_design_search"] = lambda out: streamflow_design.main(
        ["--config", "resources/configs/streamflow_design.yaml", "--report-only", "--out", str(out)])
    rebuild["streamflow_selection"] = lambda out: streamflow_selection.main(
        ["--config", "resources/configs/streamflow_selection.yaml", "--report-only", "--out", str(out)])
    rebuild["pretrain_study"] = lambda out: pretrain_study.main(["--report-only", "--out", str(out)])
    rebuild["benchmark_signature_probe"] = lambda out: signature_probe.main(["--report-only", "--out", str(out)])
    rebuild["benchmark_latency"] = lambda out: latency.main(["--report-only", "--out", str(out)])
    rebuild["benchmark_pretrain"] = lambda out: reconstruction.main(["--report-only", "--out", str(out)])
    return rebuild


REBUILD = _rebuilders()


def _has_results(name: str) -> bool:
    folder = REPO / "results" / name
    return folder.is_dir() and any(p.is_file() and p.name != "README.md" for p in folder.rglob("*"))


WITH_RESULTS = [doc.stem for doc in DOCS if _has_results(doc.stem)]


@pytest.mark.parametrize("name", WITH_RESULTS)
def test_a_doc_with_committed_results_rebuilds_from_them_byte_for_byte(
        name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert name in REBUILD, f"results/{name}/ has no report-only rebuild in this test"
    if name in _streamflow_configs():  # the report takes its folds from results/, never from the data
        assert (REPO / "results" / name / FOLDS_FILE).is_file(), f"results/{name}/{FOLDS_FILE} missing"
    (tmp_path / "results").symlink_to(REPO / "results")
    (tmp_path / "resources").symlink_to(REPO / "resources")
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO / "docs" / f"{name}.md", tmp_path / "docs")  # its hand-written reading is kept
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("STEFALAND_DATA", str(tmp_path / "no_data"))  # no `make data`
    REBUILD[name](Path("docs") / f"{name}.md")
    rebuilt = sorted(p.name for p in (tmp_path / "docs").iterdir())
    if name in _streamflow_configs():
        assert f"{name}_per_basin.csv" in rebuilt
    for file_name in rebuilt:
        assert (tmp_path / "docs" / file_name).read_bytes() == (REPO / "docs" / file_name).read_bytes(), file_name


def test_every_results_folder_belongs_to_a_doc_that_the_rebuild_test_checks() -> None:
    folders = sorted(p.name for p in (REPO / "results").iterdir() if p.is_dir())
    assert folders, "results/ holds no benchmark results"
    for name in folders:
        assert (REPO / "docs" / f"{name}.md").is_file(), f"results/{name}/ has no docs/{name}.md"
        assert name in WITH_RESULTS and name in REBUILD, f"results/{name}/ is not rebuilt by the test"


def test_the_reconstructed_streamflow_results_match_their_folds() -> None:
    for name in WITH_RESULTS:
        if name not in _streamflow_configs():
            continue
        folds = json.loads((REPO / "results" / name / FOLDS_FILE).read_text())["folds"]
        for record in unit_results(REPO / "results" / name):
            assert [b["gauge_id"] for b in record["per_basin"]] == folds[record["fold"]], (name, record["fold"])


@pytest.mark.parametrize("doc", DOCS, ids=[d.stem for d in DOCS])
def test_every_doc_has_results_or_says_it_has_none(doc: Path) -> None:
    lines = doc.read_text(encoding="utf-8").splitlines()
    notes = [i for i, line in enumerate(lines) if line.startswith(NO_RESULTS_PREFIX)]
    if _has_results(doc.stem):
        assert not notes, f"{doc.name} has results/{doc.stem}/ but says it has none"
        return
    assert len(notes) == 1, f"{doc.name}: no results/{doc.stem}/ and no line starting {NO_RESULTS_PREFIX!r}"
    expected = RESULTS_LOST if doc.stem in REBUILD else RESULTS_LIVE
    assert lines[notes[0]] == expected
    reading = [i for i, line in enumerate(lines) if line.startswith(READING_HEADING)]
    assert notes[0] < 8 and (not reading or notes[0] < reading[0])  # near the top, in the generated part


@pytest.mark.parametrize("doc", DOCS, ids=[d.stem for d in DOCS])
def test_every_doc_ends_with_a_headline_of_figures_it_shows(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert text.endswith("\n") and not text.endswith("\n\n")
    last = text.rstrip("\n").splitlines()[-1]
    assert last.startswith(HEADLINE_PREFIX), f"{doc.name} does not end with its headline"
    figures = read_headline(text)
    assert figures and text.count(HEADLINE_PREFIX) == 1
    body = text[: text.rindex(HEADLINE_PREFIX)]
    for name, value in figures.items():
        assert value in body, f"{doc.name}: headline {name}={value} is not a figure of the doc"


def test_the_headline_stays_last_below_a_kept_reading(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    write_report_keeping_reading(out, "# Bench\n\n| 1 |\n\nheadline: a=1\n")
    assert out.read_text() == "# Bench\n\n| 1 |\n\nheadline: a=1\n"
    out.write_text("# Bench\n\n| 1 |\n\n" + READING_HEADING + ")\n\n- one.\n\nheadline: a=1\n")
    write_report_keeping_reading(out, "# Bench\n\n| 2 |\n\nheadline: a=2\n")
    assert out.read_text() == "# Bench\n\n| 2 |\n\n" + READING_HEADING + ")\n\n- one.\n\nheadline: a=2\n"
    write_report_keeping_reading(out, "# Bench\n\n| 3 |\n")  # a report without a headline drops the old one
    assert out.read_text() == "# Bench\n\n| 3 |\n\n" + READING_HEADING + ")\n\n- one.\n"


def test_headline_names_and_values() -> None:
    assert headline({"a": 0.61549, "b": "+0.010", "n": 3}) == "headline: a=0.615 b=+0.010 n=3"
    assert read_headline("# x\n\nheadline: a=0.615 b=+0.010\n") == {"a": "0.615", "b": "+0.010"}
    assert read_headline("# x\n") == {}
    assert slug("control, batch seed 1") == "control_batch_seed_1"
    assert slug("statics + pretrained") == "statics_pretrained"
    with pytest.raises(ValueError, match="without spaces"):
        headline({"a b": 1.0})


def test_streamflow_report_of_a_results_folder_needs_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.benchmarks.streamflow import write_report

    results = tmp_path / "results" / "bench"
    results.mkdir(parents=True)
    folds = {"pub-1of2": ["a", "b"], "pub-2of2": ["c"]}
    (results / FOLDS_FILE).write_text(json.dumps({"k": 2, "seed": 0, "include_pur": False, "max_basins": 0,
                                                  "max_folds": 0, "basins": 3, "folds": folds}))
    rows = [{"gauge_id": "a", "nse": 0.5, "kge": 0.4}, {"gauge_id": "b", "nse": 0.7, "kge": 0.6}]
    (results / "pub-1of2__lstm.json").write_text(json.dumps({"fold": "pub-1of2", "model": "lstm", "seconds": 60.0,
                                                             "per_basin": rows}))
    monkeypatch.setenv("STEFALAND_DATA", str(tmp_path / "no_data"))
    cfg = StreamflowBenchmarkConfig(k=2, models=["lstm"], include_pur=False, run_dir=tmp_path / "run",
                                    results_dir=results)
    report = write_report(cfg, tmp_path / "docs" / "bench.md")
    assert "Data: 3 CAMELS-US basins" in report and "| lstm | 1/2 | 2 | 0.600 |" in report
    assert "| pub-1of2 | 2 | 0.600 / 0.600 / 0.500 / 0%; 1.0 |" in report and "| pub-2of2 |  | not run |" in report
    assert report.rstrip("\n").endswith("headline: pub_median_nse_lstm=0.600") and RESULTS_LOST not in report
    assert not (tmp_path / "run").exists()  # a report reads results only
    empty = StreamflowBenchmarkConfig(k=2, models=["lstm"], include_pur=False, results_dir=tmp_path / "nothing")
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / FOLDS_FILE).write_text((results / FOLDS_FILE).read_text())
    assert RESULTS_LOST in write_report(empty, None)


def test_pretrain_study_reads_its_results_layout(tmp_path: Path) -> None:
    from backend.benchmarks.pretrain_study import collect_study_results, study_report

    runs, results = tmp_path / "runs", tmp_path / "results"
    for name, nse in (("control", 0.5), ("small", 0.6)):
        (runs / name).mkdir(parents=True)
        (runs / name / "summary.json").write_text(json.dumps(
            {"pretrain_basins": 604, "steps": 1500, "training_seconds": 60.0,
             "final_validation": {"val_forcings": 0.25, "val_statics": 0.4}}))
        (results / name / "benchmark").mkdir(parents=True)
        rows = [{"gauge_id": g, "nse": nse + d} for g, d in (("a", 0.0), ("b", 0.1))]
        (results / name / "benchmark" / "pub-1of5__stefaland.json").write_text(json.dumps({"per_basin": rows}))
    assert {p.name for p in collect_study_results(runs, results)} == {"summary.json"}
    assert collect_study_results(runs, results) == []  # unchanged files are not rewritten
    report = study_report(results, references={})
    assert "| small | size: d_model 64" in report and "| 2 | 0.650 | 0.650 | +0.100 [+0.100, +0.100] | 100% |" in report
    assert report.rstrip("\n").endswith("headline: median_nse_control=0.550 median_nse_small=0.650 "
                                        "paired_delta_small=+0.100")


def test_latency_and_signature_probe_reports_rebuild_from_their_stored_records() -> None:
    from backend.benchmarks.latency import latency_report
    from backend.benchmarks.signature_probe import probe_payload, probe_report, rows_from_payload

    record = {"basin": "01022500", "repeats": 2, "machine": "x86_64", "torch_threads": 2, "torch": "2.x",
              "load_seconds": 0.06, "first_seconds": 1.4, "first_days": 12784,
              "periods": [{"label": "10 years", "start": "1990-01-01", "end": "1999-12-31", "seconds": [0.03, 0.05]}]}
    report = latency_report(record)
    assert "| 10 years | 0.040 | 0.050 | < 0.3 s |" in report
    assert report.endswith("headline: median_s_1990_1999=0.040\n")
    rows = [("q_mean", "log1p", {"statics": 0.9, "pretrained encoder": 0.8}),
            ("q5", "", {"statics": 0.5, "pretrained encoder": 0.6})]
    facts = {"basins": 3, "k": 5, "seed": 0, "model_sha": "abc", "model_path": "m.pt", "seconds": 60.0}
    payload = json.loads(json.dumps(probe_payload(rows, facts)))
    assert rows_from_payload(payload) == (rows, facts)
    text = probe_report(*rows_from_payload(payload), "cmd")
    assert "| q_mean (log1p) | 0.900 | 0.800 |" in text
    assert text.endswith("headline: mean_r2_statics=0.700 mean_r2_pretrained_encoder=0.700\n")


def test_a_run_with_results_dir_stores_results_there_and_its_report_needs_no_data(
        real_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from backend.benchmarks.streamflow import run_benchmark, write_report
    from backend.tasks.streamflow.train import StreamflowTrainConfig
    from backend.training.fit import FitConfig

    train = StreamflowTrainConfig(loss_days=60, warmup_days=30, batch_size=4,
                                  fit=FitConfig(steps=2, validate_every=1, patience=1))
    cfg = StreamflowBenchmarkConfig(k=2, models=["lstm"], include_pur=False, max_basins=12, max_folds=1,
                                    train=train, run_dir=tmp_path / "run", results_dir=tmp_path / "results" / "x")
    run_benchmark(cfg)
    ensemble = StreamflowBenchmarkConfig(k=2, models=["lstm"], include_pur=False, max_basins=12, max_folds=1,
                                         ensemble=2, train=train, run_dir=tmp_path / "run_ens",
                                         results_dir=tmp_path / "results" / "x_ens")
    run_benchmark(ensemble)
    results = tmp_path / "results"
    assert sorted(p.name for p in (results / "x").iterdir()) == [FOLDS_FILE, "pub-1of2__lstm.json"]
    assert sorted(p.name for p in (results / "x_ens").iterdir()) == [FOLDS_FILE, "pub-1of2__lstm.json"]
    assert not (tmp_path / "run" / "results").exists() and (tmp_path / "run" / "config.yaml").is_file()
    assert len(list((tmp_path / "run_ens" / "members").glob("*.npy"))) == 2  # big files stay in the run folder
    folds = json.loads((results / "x" / FOLDS_FILE).read_text())
    assert folds["basins"] == 12 and list(folds["folds"]) == ["pub-1of2"]  # max_folds 1
    with_data = [write_report(c, tmp_path / f"{c.results_dir.name}.md") for c in (cfg, ensemble)]
    monkeypatch.setenv("STEFALAND_DATA", str(tmp_path / "no_data"))
    assert [write_report(c, tmp_path / f"{c.results_dir.name}.md") for c in (cfg, ensemble)] == with_data
    assert "| lstm | 1/1 | 6 |" in with_data[0] and "ensemble of 2 members" in with_data[1]


def test_design_search_report_reads_its_results_folder(tmp_path: Path) -> None:
    from backend.benchmarks.streamflow_design import DesignVariant, StreamflowDesignConfig, write_report

    results = tmp_path / "results"
    results.mkdir()
    (results / "pub-1of5__a.json").write_text(json.dumps(
        {"fold": "pub-1of5", "variant": "a", "best_validation_median_nse": 0.7, "best_step": 3, "steps_run": 4,
         "seconds": 60.0}))
    cfg = StreamflowDesignConfig(variants=[DesignVariant("a"), DesignVariant("b", network="lstm")],
                                 run_dir=tmp_path / "run", results_dir=results)
    report = write_report(cfg, Path("design.yaml"), None)
    assert "| 0.700 (step 3/4, 1.0 min) | 0.700 |" in report and "| b | lstm | defaults |" in report
    assert report.endswith("headline: validation_nse_a=0.700\n") and RESULTS_LOST not in report
    assert not (tmp_path / "run").exists()
