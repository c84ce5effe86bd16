"""Regenerating a benchmark report keeps its hand-written reading."""

from __future__ import annotations

from pathlib import Path

from backend.benchmarks import READING_HEADING, write_report_keeping_reading


def test_regenerated_tables_keep_the_hand_written_reading(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    write_report_keeping_reading(out, "# Bench\n\n| a |\n| 1 |\n")
    assert out.read_text() == "# Bench\n\n| a |\n| 1 |\n"  # nothing to keep yet
    out.write_text(out.read_text() + f"\n{READING_HEADING}; the table above is generated)\n\n- a is 1.\n")
    write_report_keeping_reading(out, "# Bench\n\n| a |\n| 2 |\n")
    text = out.read_text()
    assert "| 2 |" in text and "| 1 |" not in text
    assert text.endswith(f"| 2 |\n\n{READING_HEADING}; the table above is generated)\n\n- a is 1.\n")
    assert text.count(READING_HEADING) == 1


def test_a_report_with_its_own_reading_replaces_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    out.write_text(f"# Old\n\n{READING_HEADING})\n\nold words\n")
    write_report_keeping_reading(out, f"# New\n\n{READING_HEADING})\n\nnew words\n")
    assert "old words" not in out.read_text() and "new words" in out.read_text()
