"""Command-line model commands on the bundled base model: embed and impute (on the generated mini data root)."""

from __future__ import annotations

import csv

import pytest

from backend.cli import main

pytestmark = pytest.mark.usefixtures("mini_data")  # the bundled base model (in git) on generated basins


def test_embed_writes_one_vector_per_basin_and_never_overwrites(tmp_path, capsys):
    out = tmp_path / "emb.csv"
    assert main(["embed", "--basins", "01022500", "01013500", "--windows", "2", "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0][0] == "gauge_id" and len(rows[0]) == 129
    assert [r[0] for r in rows[1:]] == ["01022500", "01013500"]
    assert rows[1][1:] != rows[2][1:]  # different basins, different vectors
    before = out.read_text()
    assert main(["embed", "--basins", "01022500", "--out", str(out)]) == 2
    assert out.read_text() == before
    assert "refusing to overwrite" in capsys.readouterr().err


def test_impute_reports_hidden_group_as_imputed(capsys):
    assert main(["impute", "--basin", "01022500", "--hide", "soil"]) == 0
    lines = capsys.readouterr().out.splitlines()
    status = {line.split()[0]: line.split()[-1] for line in lines if line.split() and line.split()[-1] in
              ("imputed", "given")}
    assert status["sand_frac"] == "imputed" and status["clay_frac"] == "imputed"
    assert status["p_mean"] == "given" and status["elev_mean"] == "given"


def test_unknown_basin_is_a_clear_error(capsys):
    assert main(["embed", "--basins", "99999999", "--out", "/tmp/never-written.csv"]) == 2
    assert "99999999" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["hazard", "--raster", "r.tif", "--out", "o.tif", "--threads", "0"],
                                  ["finetune", "--gauges", "g", "--streamflow", "s", "--forcings", "f",
                                   "--out-dir", "o", "--steps", "-5"],
                                  ["hazard", "--raster", "r.tif", "--out", "o.tif", "--tile", "abc"]])
def test_counts_below_one_are_usage_errors_naming_the_option(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    option = next(a for a in argv if a in ("--threads", "--steps", "--tile"))
    assert f"argument {option}:" in capsys.readouterr().err
