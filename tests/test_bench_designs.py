"""bench/designs.py: every design is measured and the designs write the same facts."""

from __future__ import annotations

from pathlib import Path

from bench.designs import measure
from bench.shapes import Shape, generate

STEPS = {
    "floor": ["read + write"],
    "read numbered": ["temp table"],
    "read unnumbered": ["temp table"],
    "typed pass from the file": ["offences"],
    "typed from a raw copy": ["raw copy", "offences"],
    "classified records: table": ["typed copy", "offences", "offence_counts", "quarantine", "tally"],
    "classified records: view": ["view", "offences", "offence_counts", "quarantine", "tally"],
}


def test_designs_are_measured_and_write_the_same_rows(tmp_path: Path) -> None:
    data = generate(tmp_path / "shape", 3000, Shape(50, 40), "csv", bad_share=0.05)
    lines: list[str] = []
    times = measure(data.out_dir, tmp_path, say=lines.append)
    assert {design: list(steps) for design, steps in times.items()} == STEPS
    assert all(seconds >= 0 for steps in times.values() for seconds in steps.values())
    assert len(lines) == sum(len(steps) for steps in STEPS.values())
