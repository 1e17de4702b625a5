"""The source configuration: the contract between a user's files and the pipeline.

One YAML file lists every source and the population files. Paths are relative to that file and may use
environment variables (``${LANDING}/police/*.csv``), so one configuration serves a laptop and a server.
Every problem is reported as a single :class:`ConfigError` line that names the file, the source and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

LEVELS = ("incident", "aggregate")
UNITS = ("offences", "victims", "suspects", "prosecuted", "convicted")
STAGES = ("police", "prosecution", "courts", "prisons")
FORMATS = ("csv", "parquet")
STANDARD_FIELDS = ("record_id", "date", "offence", "latitude", "longitude", "area", "count")
POPULATION_FIELDS = ("country", "area", "year", "population")
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")
_DATE_DIRECTIVES = re.compile(r"%[dmYyjbBHMSf]")


class ConfigError(ValueError):
    """A configuration problem, as one line that names where it is."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    country: str
    level: str
    unit: str
    files: str
    columns: dict[str, str]
    date_format: str
    correspondence: Path
    base_dir: Path
    stage: str = "police"
    format: str = "csv"
    delimiter: str = ","
    encoding: str = "utf-8"
    description: str = ""
    bbox: tuple[float, float, float, float] | None = None
    date_floor: str = "1900-01-01"

    @property
    def period(self) -> str:
        """'day', 'month' or 'year': the finest period the date format carries."""
        if "%d" in self.date_format or "%j" in self.date_format:
            return "day"
        if "%m" in self.date_format or "%b" in self.date_format or "%B" in self.date_format:
            return "month"
        return "year"

    def paths(self) -> list[Path]:
        """The files the glob matches now, sorted so that runs are repeatable."""
        pattern = Path(self.files)
        if not pattern.is_absolute():
            pattern = self.base_dir / pattern
        return sorted(p for p in pattern.parent.glob(pattern.name) if p.is_file())


@dataclass(frozen=True)
class PopulationConfig:
    files: str
    base_dir: Path
    columns: dict[str, str] = field(default_factory=dict)
    country: str | None = None
    format: str = "csv"

    def paths(self) -> list[Path]:
        pattern = Path(self.files)
        if not pattern.is_absolute():
            pattern = self.base_dir / pattern
        return sorted(p for p in pattern.parent.glob(pattern.name) if p.is_file())


@dataclass(frozen=True)
class PipelineConfig:
    path: Path
    sources: dict[str, SourceConfig]
    population: tuple[PopulationConfig, ...] = ()
    description: str = ""


def load_config(path: str | Path) -> PipelineConfig:
    """Read and check a configuration file; raise ConfigError naming the source and field on any problem."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with 'sources' at the top level")
    unknown = set(doc) - {"sources", "population", "description"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}")
    raw_sources = doc.get("sources")
    if not isinstance(raw_sources, dict) or not raw_sources:
        raise ConfigError(f"{path}: 'sources' must be a mapping of source name to settings")
    sources = {name: _source(path, name, spec) for name, spec in raw_sources.items()}
    population = tuple(_population(path, i, spec) for i, spec in enumerate(doc.get("population") or []))
    return PipelineConfig(path=path, sources=sources, population=population,
                          description=str(doc.get("description", "")))


def _expand(value: str) -> str:
    return os.path.expandvars(os.path.expanduser(value))


def _source(path: Path, name: Any, spec: Any) -> SourceConfig:
    where = f"{path}: source '{name}'"
    if not isinstance(name, str) or not _SOURCE_NAME.match(name):
        raise ConfigError(f"{where}: name must be lower-case letters, digits and '_' (starting with a letter)")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: settings must be a mapping")
    allowed = {"country", "level", "unit", "stage", "files", "format", "columns", "date_format", "correspondence",
               "delimiter", "encoding", "description", "bbox", "date_floor"}
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    for required in ("country", "level", "unit", "files", "columns", "date_format", "correspondence"):
        if spec.get(required) in (None, ""):
            raise ConfigError(f"{where}: field '{required}' is required")
    country = str(spec["country"])
    if not _COUNTRY.match(country):
        raise ConfigError(f"{where}: field 'country': '{country}' is not an ISO 3166-1 alpha-3 code")
    choices = {"level": LEVELS, "unit": UNITS, "stage": STAGES, "format": FORMATS}
    values = {"level": spec["level"], "unit": spec["unit"], "stage": spec.get("stage", "police"),
              "format": spec.get("format", "csv")}
    for key, value in values.items():
        if value not in choices[key]:
            raise ConfigError(f"{where}: field '{key}': '{value}' is not one of {', '.join(choices[key])}")
    columns = spec["columns"]
    if not isinstance(columns, dict):
        raise ConfigError(f"{where}: field 'columns' must map standard fields to source columns")
    bad = set(columns) - set(STANDARD_FIELDS)
    if bad:
        raise ConfigError(f"{where}: field 'columns': unknown standard field(s) {sorted(bad)}; "
                          f"allowed: {', '.join(STANDARD_FIELDS)}")
    needed = ("date", "offence", "count") if spec["level"] == "aggregate" else ("date", "offence")
    for key in needed:
        if not columns.get(key):
            raise ConfigError(f"{where}: field 'columns.{key}' is required for a {spec['level']} source")
    if spec["level"] == "incident" and "count" in columns:
        raise ConfigError(f"{where}: field 'columns.count' belongs to aggregate sources; use level: aggregate")
    if ("latitude" in columns) != ("longitude" in columns):
        raise ConfigError(f"{where}: field 'columns': latitude and longitude go together")
    date_format = str(spec["date_format"])
    if not _DATE_DIRECTIVES.search(date_format) or "%Y" not in date_format and "%y" not in date_format:
        raise ConfigError(f"{where}: field 'date_format': '{date_format}' needs a year directive (%Y) "
                          "and strptime codes such as %d/%m/%Y or %Y-%m")
    bbox = spec.get("bbox")
    if bbox is not None:
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)):
            raise ConfigError(f"{where}: field 'bbox' must be [min_lon, min_lat, max_lon, max_lat]")
        if not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            raise ConfigError(f"{where}: field 'bbox': minimums must be below maximums")
        bbox = tuple(float(v) for v in bbox)
    correspondence = Path(_expand(str(spec["correspondence"])))
    if not correspondence.is_absolute():
        correspondence = path.parent / correspondence
    if not correspondence.is_file():
        raise ConfigError(f"{where}: field 'correspondence': file not found: {correspondence}")
    return SourceConfig(
        name=name, country=country, level=spec["level"], unit=spec["unit"], stage=values["stage"],
        files=_expand(str(spec["files"])), format=values["format"], columns={k: str(v) for k, v in columns.items()},
        date_format=date_format, correspondence=correspondence, base_dir=path.parent,
        delimiter=str(spec.get("delimiter", ",")), encoding=str(spec.get("encoding", "utf-8")),
        description=str(spec.get("description", "")), bbox=bbox, date_floor=str(spec.get("date_floor", "1900-01-01")),
    )


def _population(path: Path, index: int, spec: Any) -> PopulationConfig:
    where = f"{path}: population[{index}]"
    if not isinstance(spec, dict) or not spec.get("files"):
        raise ConfigError(f"{where}: field 'files' is required")
    columns = spec.get("columns") or {}
    bad = set(columns) - set(POPULATION_FIELDS)
    if bad:
        raise ConfigError(f"{where}: field 'columns': unknown field(s) {sorted(bad)}; "
                          f"allowed: {', '.join(POPULATION_FIELDS)}")
    country = spec.get("country")
    if "country" not in columns and not country:
        raise ConfigError(f"{where}: give 'columns.country' or a constant 'country'")
    if country is not None and not _COUNTRY.match(str(country)):
        raise ConfigError(f"{where}: field 'country': '{country}' is not an ISO 3166-1 alpha-3 code")
    for key in ("year", "population"):
        if key not in columns:
            raise ConfigError(f"{where}: field 'columns.{key}' is required")
    fmt = spec.get("format", "csv")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: field 'format': '{fmt}' is not one of {', '.join(FORMATS)}")
    return PopulationConfig(files=_expand(str(spec["files"])), base_dir=path.parent,
                            columns={k: str(v) for k, v in columns.items()},
                            country=str(country) if country else None, format=fmt)
