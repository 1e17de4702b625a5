"""The manifest of a generated demo: what was planted, so tests and people can check the pipeline finds it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class DemoManifest:
    """Paths and ground truth of one generated SYNTHETIC demo; ``details`` is the whole manifest.json."""

    out_dir: Path
    config_path: Path
    incidents_path: Path
    population_path: Path
    bad_rows_path: Path
    districts_path: Path
    seed: int
    fmt: str
    records: int  # data lines written after the header, bad and malformed ones included
    valid_records: int  # records the pipeline must load
    expected_quarantine: dict[str, int]  # quarantine reason -> count
    details: dict[str, Any]

    @property
    def clusters(self) -> list[dict[str, Any]]:
        return self.details["clusters"]

    @property
    def planted(self) -> bool:
        """False for a demo generated with nothing planted (no hotspots, no patterns)."""
        return self.details.get("planted", True)

    @property
    def patterns(self) -> dict[str, Any]:
        return self.details.get("patterns", {"spikes": [], "level_shift": None, "mix_change": None})

    @property
    def spikes(self) -> list[dict[str, Any]]:
        return self.patterns["spikes"]

    @property
    def level_shift(self) -> dict[str, Any] | None:
        return self.patterns["level_shift"]

    @property
    def mix_change(self) -> dict[str, Any] | None:
        return self.patterns["mix_change"]

    @property
    def rising(self) -> dict[str, Any]:
        return self.details["trends"]["rising"]

    @property
    def falling(self) -> dict[str, Any]:
        return self.details["trends"]["falling"]

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        return tuple(self.details["country"]["bbox"])

    @classmethod
    def from_details(cls, out_dir: Path, details: dict[str, Any]) -> DemoManifest:
        files = details["files"]
        return cls(
            out_dir=out_dir,
            config_path=out_dir / files["config"],
            incidents_path=out_dir / files["incidents"],
            population_path=out_dir / files["population"],
            bad_rows_path=out_dir / files["bad_rows"],
            districts_path=out_dir / files["districts"],
            seed=details["generator"]["seed"],
            fmt=details["generator"]["format"],
            records=details["records"],
            valid_records=details["valid_records"],
            expected_quarantine=dict(details["expected_quarantine"]),
            details=details,
        )


def read_manifest(out_dir: str | Path) -> DemoManifest:
    """The manifest of a demo generated earlier into ``out_dir``."""
    out_dir = Path(out_dir).resolve()
    path = out_dir / MANIFEST_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no demo manifest (generate one with `iccs demo-data --out {out_dir}`)")
    return DemoManifest.from_details(out_dir, json.loads(path.read_text(encoding="utf-8")))


def _signals(details: dict[str, Any]) -> str:
    """'W1 Port Averin gun violence (101, 102), ...': the places planted with another mix of weapons."""
    codes: dict[tuple[str, str], list[str]] = {}
    for s in details["disaggregations"]["weapon_signals"]:
        codes.setdefault((s["id"], s["name"]), []).append(s["national_code"])
    return ", ".join(f"{i} {name} ({', '.join(c)})" for (i, name), c in codes.items())


def _patterns(manifest: DemoManifest) -> str:
    """'spikes S1 D26 105 2020-10 (+25), ...; level shift 301 x1.8 from 2022-07; mix change D33 201 in 2024 (+60)'."""
    parts = []
    if manifest.spikes:
        parts.append(
            "spikes "
            + ", ".join(
                f"{s.get('id', '')} {s['district']} {s['national_code']} {s['month']} (+{s['added']})".lstrip()
                for s in manifest.spikes
            )
        )
    if (shift := manifest.level_shift) is not None:
        parts.append(f"level shift {shift['national_code']} x{shift['factor']} from {shift['from']}")
    if (mix := manifest.mix_change) is not None:
        parts.append(f"mix change {mix['district']} {mix['national_code']} in {mix['year']} (+{mix['added']})")
    return "; ".join(parts) or "none"


def describe(manifest: DemoManifest) -> str:
    """A few lines for the command line: what was written and what was planted."""
    d = manifest.details
    bad = sum(manifest.expected_quarantine.values())
    clusters = ", ".join(
        f"{c['id']} {c['name']} ({c['kind']}, {c['years'][0]}-{c['years'][-1]})" for c in manifest.clusters
    )
    return "\n".join(
        [
            d["notice"],
            f"{manifest.records:,} records ({manifest.valid_records:,} valid, {bad:,} planted bad rows) "
            f"{d['period']['start']}..{d['period']['end']}, {len(d['offences'])} national offence codes, "
            f"{len(d['districts'])} districts, seed {manifest.seed}",
            f"rising: {manifest.rising['national_code']} {manifest.rising['label']}; "
            f"falling: {manifest.falling['national_code']} {manifest.falling['label']}",
            f"hotspots: {clusters or 'none'}",
            f"patterns: {_patterns(manifest)}",
            f"victim sex and age and weapon planted by offence; weapon signals: {_signals(d)}",
            "expected quarantine: " + ", ".join(f"{k} {v}" for k, v in manifest.expected_quarantine.items()),
            f"config: {manifest.config_path}",
        ]
    )
