"""The source configuration: the contract between a user's files and the pipeline.

One YAML file lists every source and the population files. Paths are relative to that file and may use
environment variables (``${LANDING}/police/*.csv``), so one configuration serves a laptop and a server.
Every problem is reported as a single :class:`ConfigError` line that names the file, the source and the field.

A new country is added by configuration only: the reading options (format, compression by file suffix,
encoding, delimiter, wide layouts, Eurostat's bulk TSV, SDMX-CSV, row filters, number formats) and the mapping
options (combined offence columns, mapping by label, a country lookup, UN M49 area codes) cover what national
files look like, so no code changes. ``pipelines/sources/README.md`` walks through it.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from iccs.disaggregations import POPULATION_VARIABLES, VARIABLES
from schemas.boundaries_config import Boundaries, BoundariesError, parse_boundaries
from schemas.coverage import check_coverage
from schemas.disaggregation_config import Disaggregation, DisaggregationError, parse_disaggregations

LEVELS = ("incident", "aggregate")
# seized_arms / traced_arms: arms seized, found or surrendered, and those of them traced (SDG 16.4.2)
UNITS = ("offences", "victims", "suspects", "prosecuted", "convicted", "seized_arms", "traced_arms")
STAGES = ("police", "prosecution", "courts", "prisons")
FORMATS = ("csv", "tsv", "parquet", "xlsx", "eurostat", "sdmx-csv")
# format sdmx-csv: the rows of SDMX-CSV 2.x whose ACTION is D (delete) are instructions, not observations. They are
# left out as an ``exclude`` leaves rows out (counted in ``filtered_rows`` / ``runs.records_filtered``); the reader
# gives every SDMX-CSV file an ACTION column (NULL in 1.0), so this exclude always has its column.
SDMX_DELETE_ROWS = ("ACTION", ("D",))
# ``country_lookup: m49``: the country column holds UN M49 numeric codes (the SDG database's REF_AREA), looked up in
# the shipped table iccs/data/m49.csv (``iccs.countries``), with or without leading zeros.
M49_LOOKUP = "m49"
M49_FILE = Path(str(resources.files("iccs") / "data" / "m49.csv"))
LAYOUTS = ("long", "wide")
OFFENCE_MATCHES = ("code", "label")
STANDARD_FIELDS = (
    "record_id",
    "date",
    "offence",
    "offence_label",  # optional: the offence's name beside its code, for `iccs map-check` and `iccs map-draft`
    "latitude",
    "longitude",
    "area",
    "count",
    "country",
    "flag",
)
POPULATION_FIELDS = ("country", "area", "year", "population")
# A field given as a list of columns is read as the columns' values joined by this text.
JOINERS = {"date": "-", "offence": " > ", "offence_label": " > ", "area": " / ", "record_id": ":"}
DEFAULT_JOINER = " "
_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_COUNTRY = re.compile(r"^[A-Z]{3}$")
_DATE_DIRECTIVES = re.compile(r"%[dmYyjbBHMSfq]")
# Cell texts that mean "no number" in a numeric field (count, coordinates, population), compared trimmed and
# case-insensitively, so NaN/NAN/nan, X/x and N/A/n/a are all covered: empty, not a number, Eurostat/OECD '..' and
# ':', a dash for "not available", 'x'/'*' for suppressed (confidential) cells, R's NA, Excel's #N/A. None of them
# is a number, so listing them can only turn an "invalid" count into a "missing" one: a source's own
# ``missing_values`` are added to these. They never apply to text fields (an area or offence code named 'x' or
# '-' stays a name).
DEFAULT_MISSING_VALUES = ("", "nan", "..", "...", ":", "-", "\u2013", "\u2014", "x", "*", "n/a", "na", "#n/a")
# Where the configuration's population is marked in the quarantine table (a source may not take this name).
POPULATION_SOURCE = "population"
# The strptime codes DuckDB knows (checked against duckdb 2.0 and 1.5.5), and %q, the pipeline's quarter.
_KNOWN_DIRECTIVES = set("abcdfghjmnpuwxyzABGHIMSTUVWXYZ%q") | {"-d", "-j", "-m", "-y", "-H", "-I", "-M", "-S"}
_WILDCARD = re.compile(r"[*?\[]")
_UNSET = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
_READ_KEYS = {
    "format",
    "delimiter",
    "encoding",
    "sheet",
    "layout",
    "wide",
    "filter",
    "exclude",
    "decimal",
    "thousands",
    "missing_values",
}


class ConfigError(ValueError):
    """A configuration problem, as one line that names where it is."""


@dataclass(frozen=True)
class ReadOptions:
    """How a file is read, shared by sources and population files.

    ``format`` eurostat is Eurostat's bulk TSV: a comma-joined key column named like ``freq,iccs,unit,geo\\TIME``
    split into one column per dimension, one column per period reshaped to rows (``TIME``) with the number in
    ``value`` and the status letters after it (``p``, ``e``, ``b`` ...) in ``flag``. A ``wide`` layout reshapes
    the columns whose names match ``wide_columns`` (a regular expression) into ``names_to`` (the column name,
    e.g. the year) and ``values_to`` (the cell); empty cells are not records. ``filters`` keep only rows whose
    column holds one of the listed values (e.g. the count rows of a table that also has rates); ``excludes``
    drop rows whose column holds one of the listed values (e.g. sub-national rows beside the national total).
    ``missing_values`` are cell texts that mean "no number" in numeric fields, in addition to
    ``DEFAULT_MISSING_VALUES`` (see ``missing_markers``); text fields keep them as text.

    ``format`` sdmx-csv is SDMX-CSV 1.0, 2.0 or 2.1 (``warehouse.readers._sdmx_sql``): columns are named by their
    SDMX codes (``FREQ: Frequency`` is ``FREQ``), labelled values reduced to their code, and ``excludes`` always
    holds ``SDMX_DELETE_ROWS`` (rows whose ACTION is D).
    """

    format: str = "csv"
    delimiter: str = ","
    encoding: str = "utf-8"
    sheet: str | None = None
    layout: str = "long"
    wide_columns: str | None = None
    names_to: str = "period"
    values_to: str = "value"
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    excludes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    decimal: str = "."
    thousands: str = ""
    missing_values: tuple[str, ...] = ()

    @property
    def reshaped(self) -> bool:
        return self.layout == "wide" or self.format == "eurostat"

    @property
    def missing_markers(self) -> tuple[str, ...]:
        """Every text meaning "no number", trimmed and lower-cased (compare with ``lower(trim(value))``)."""
        given = (str(v).strip().lower() for v in self.missing_values)
        return tuple(dict.fromkeys((*DEFAULT_MISSING_VALUES, *given)))


@dataclass(frozen=True)
class Lookup:
    """A small table that turns a source value (a country name, a Eurostat geo code) into an ISO3 code."""

    file: Path
    key: str
    value: str
    area: str | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    # keys are numbers, compared as integers: M49's '004', '04' and '4' are one code (``country_lookup: m49``)
    numeric: bool = False


@dataclass(frozen=True)
class SourceConfig:
    name: str
    country: str
    level: str
    unit: str
    files: str
    columns: dict[str, str]
    date_format: str
    correspondence: Path | None  # None, or a file not written yet, only in a configuration loaded for map-draft
    base_dir: Path
    stage: str = "police"
    # how the files are read: the YAML keys format, delimiter, encoding, wide, filter... given beside the others
    read: ReadOptions = field(default_factory=ReadOptions)
    description: str = ""
    bbox: tuple[float, float, float, float] | None = None
    date_floor: str = "1900-01-01"
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    offence_match: str = "code"
    country_lookup: Lookup | None = None
    fiscal_year_start: int = 1
    nested_totals: bool = False
    fractional_counts: bool = False
    coverage: tuple[str | None, str | None] | None = None  # configured (from, to): schemas.coverage
    total_area: str | None = None
    # variable -> where it is read and how recoded (schemas.disaggregation_config), in VARIABLES order
    disaggregations: dict[str, Disaggregation] = field(default_factory=dict)
    boundaries: Boundaries | None = None  # the shapes of its areas (schemas.boundaries_config)

    @property
    def period(self) -> str:
        """'day', 'month' or 'year': the finest period the date format carries (a quarter is dated by its
        first month)."""
        if "%d" in self.date_format or "%j" in self.date_format:
            return "day"
        if any(d in self.date_format for d in ("%m", "%b", "%B", "%q")):
            return "month"
        return "year"

    def source_columns(self, name: str) -> tuple[str, ...]:
        """The file columns a standard field is read from (empty when it is a constant or not configured)."""
        return self.parts.get(name, (self.columns[name],) if name in self.columns else ())

    def paths(self) -> list[Path]:
        """The files the glob matches now, sorted so that runs are repeatable."""
        return _glob(self.files, self.base_dir)


@dataclass(frozen=True)
class PopulationConfig:
    files: str
    base_dir: Path
    columns: dict[str, str] = field(default_factory=dict)
    country: str | None = None
    format: str = "csv"
    read: ReadOptions = field(default_factory=ReadOptions)
    multiplier: float = 1.0
    country_lookup: Lookup | None = None
    area_lookup: Lookup | None = None
    year: int | None = None
    # Fields whose column was not configured and is looked up by its standard name (country, area, year,
    # population; case-insensitive): an absent area is simply not there, an absent other field is an error.
    implicit: tuple[str, ...] = ()
    # sex and age (schemas.disaggregation_config): the population of each group, a denominator of its rates
    disaggregations: dict[str, Disaggregation] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        return _glob(self.files, self.base_dir)


@dataclass(frozen=True)
class CorrespondenceConfig:
    """A correspondence table published on its own (no records), checked and reported by `iccs map-check`.

    ``columns`` maps our names (national_code, national_label, iccs_code, ...) to the file's; values of
    iccs_code listed in ``excluded_values`` (e.g. 'Excluido 2024') mark national codes deliberately left out.
    """

    name: str
    file: Path
    country: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    excluded_values: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class PipelineConfig:
    path: Path
    sources: dict[str, SourceConfig]
    population: tuple[PopulationConfig, ...] = ()
    description: str = ""
    correspondences: dict[str, CorrespondenceConfig] = field(default_factory=dict)


def _glob(files: str, base_dir: Path) -> list[Path]:
    """Files matching a pattern whose wildcards may be in folder names too (``*/x.csv``, ``**/*.csv``)."""
    pattern = Path(files)
    if not pattern.is_absolute():
        pattern = base_dir / pattern
    parts = pattern.parts
    first = next((i for i, part in enumerate(parts) if _WILDCARD.search(part)), None)
    if first is None:
        return [pattern] if pattern.is_file() else []
    return sorted(p for p in Path(*parts[:first]).glob(str(Path(*parts[first:]))) if p.is_file())


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's SafeLoader, except that a key given twice in one mapping is an error: "last one wins" would make a
    repeated source silently replace the first."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key == "<<" or not isinstance(key, str | int | float | bool | dt.date | None):
            continue
        if key in first:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key '{key}' is given twice (first on line {first[key]}); each key may appear once",
                key_node.start_mark,
            )
        first[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def load_config(path: str | Path, drafting: bool = False) -> PipelineConfig:
    """Read and check a configuration file; raise ConfigError naming the source and field on any problem.

    ``drafting`` (``iccs map-draft`` only): a source may have no correspondence table yet (no ``correspondence``
    field, or a file not written yet): its ``correspondence`` is then None or the missing path, and every code is
    unmapped. A new source's flow is: sources.yaml, map-draft, review, point ``correspondence`` at the result."""
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: {where}not valid YAML: {problem}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with 'sources' at the top level")
    unknown = set(doc) - {"sources", "population", "description", "correspondences"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key(s) {sorted(unknown)}")
    raw_sources = doc.get("sources") or {}
    raw_tables = doc.get("correspondences") or {}
    if not isinstance(raw_sources, dict) or not isinstance(raw_tables, dict) or not (raw_sources or raw_tables):
        raise ConfigError(f"{path}: 'sources' must be a mapping of source name to settings")
    sources = {name: _source(path, name, spec, drafting) for name, spec in raw_sources.items()}
    tables = {name: _correspondence(path, name, spec) for name, spec in raw_tables.items()}
    population = _populations(path, doc.get("population"))
    return PipelineConfig(
        path=path,
        sources=sources,
        population=population,
        description=str(doc.get("description", "")),
        correspondences=tables,
    )


def _expand(value: str) -> str:
    return os.path.expandvars(os.path.expanduser(value))


def _files(where: str, value: Any) -> str:
    """A source's file pattern, environment variables expanded; an unset variable or a folder is an error here,
    at load time, rather than a pattern that matches nothing later."""
    text = _expand(str(value))
    unset = _UNSET.findall(text)
    if unset:
        raise ConfigError(f"{where}: field 'files': environment variable {unset[0]} is not set ({value})")
    if not Path(text).name or str(value).rstrip().endswith(("/", "\\")):
        raise ConfigError(
            f"{where}: field 'files': '{value}' is a folder; give the files in it, e.g. "
            f"'{str(value).rstrip().rstrip('/')}/*.csv'"
        )
    return text


def _date_floor(where: str, value: Any) -> str:
    """The earliest plausible date, as an ISO date (YAML may give a date object or a text)."""
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ConfigError(
            f"{where}: field 'date_floor': {str(value)!r} is not a date in the form YYYY-MM-DD (e.g. 1990-01-01)"
        ) from None


def _file(path: Path, where: str, key: str, value: Any) -> Path:
    """A referenced file, relative to the configuration; an unset ${VARIABLE} is named in the error."""
    unset = _unset_variables(value)
    if unset:
        raise ConfigError(f"{where}: field '{key}': environment variable {unset[0]} is not set ({value})")
    resolved = _resolved(path, value)
    if not resolved.is_file():
        raise ConfigError(f"{where}: field '{key}': file not found: {resolved}")
    return resolved


def _read_options(where: str, spec: dict[str, Any]) -> ReadOptions:
    fmt = spec.get("format", "csv")
    if fmt not in FORMATS:
        raise ConfigError(f"{where}: field 'format': '{fmt}' is not one of {', '.join(FORMATS)}")
    if fmt == "sdmx-csv" and spec.get("layout", "long") != "long":
        raise ConfigError(f"{where}: field 'layout': an SDMX-CSV file is already long (one observation per row)")
    default_delimiter = "\t" if fmt in ("tsv", "eurostat") else ","
    delimiter = str(spec.get("delimiter", default_delimiter))
    if len(delimiter) != 1 or delimiter in '"\r\n':
        raise ConfigError(f"{where}: field 'delimiter': {delimiter!r} must be one character (not a quote or newline)")
    encoding = str(spec.get("encoding", "utf-8"))
    if encoding.lower().replace("_", "-") not in (
        "utf-8",
        "utf8",
        "utf-8-sig",
        "latin-1",
        "latin1",
        "iso-8859-1",
        "utf-16",
        "windows-1252",
        "cp1252",
    ):
        raise ConfigError(
            f"{where}: field 'encoding': '{encoding}' is not supported (utf-8, latin-1, windows-1252 or utf-16)"
        )
    layout = spec.get("layout", "long")
    if layout not in LAYOUTS:
        raise ConfigError(f"{where}: field 'layout': '{layout}' is not one of {', '.join(LAYOUTS)}")
    wide = spec.get("wide") or {}
    if not isinstance(wide, dict) or set(wide) - {"columns", "names_to", "values_to"}:
        raise ConfigError(f"{where}: field 'wide' must be a mapping with columns, names_to, values_to")
    if layout == "wide" and not wide.get("columns"):
        raise ConfigError(
            f"{where}: field 'wide.columns' (a regular expression for the period columns, "
            "e.g. '^\\d{4}$') is required for layout: wide"
        )
    if wide.get("columns"):
        try:
            re.compile(str(wide["columns"]))
        except re.error as exc:
            raise ConfigError(f"{where}: field 'wide.columns': not a regular expression: {exc}") from None
    selections = {}
    for key in ("filter", "exclude"):
        given = spec.get(key) or {}
        if not isinstance(given, dict):
            raise ConfigError(
                f"{where}: field '{key}' must map a column to the value(s) to {'keep' if key == 'filter' else 'drop'}"
            )
        selections[key] = tuple(
            (str(col), tuple(str(v) for v in (vals if isinstance(vals, list) else [vals])))
            for col, vals in given.items()
        )
    decimal, thousands = str(spec.get("decimal", ".")), str(spec.get("thousands", ""))
    if decimal not in (".", ",") or thousands not in ("", ",", ".", " ", "'") or decimal == thousands:
        raise ConfigError(
            f"{where}: fields 'decimal'/'thousands': decimal is '.' or ',', thousands one of "
            "'', ',', '.', ' ', \"'\" and different from decimal"
        )
    missing = spec.get("missing_values") or []
    if not isinstance(missing, list) or not all(isinstance(v, str | int | float) for v in missing):
        raise ConfigError(f"{where}: field 'missing_values' must be a list of texts meaning 'no value' (e.g. [NA])")
    return ReadOptions(
        format=fmt,
        delimiter=delimiter,
        encoding=encoding,
        sheet=str(spec["sheet"]) if spec.get("sheet") is not None else None,
        layout=layout,
        wide_columns=str(wide["columns"]) if wide.get("columns") else None,
        names_to=str(wide.get("names_to", "period")),
        values_to=str(wide.get("values_to", "value")),
        filters=selections["filter"],
        excludes=selections["exclude"] + ((SDMX_DELETE_ROWS,) if fmt == "sdmx-csv" else ()),
        decimal=decimal,
        thousands=thousands,
        missing_values=tuple(str(v) for v in missing),
    )


def _lookup(path: Path, where: str, key: str, spec: Any, m49: bool = False) -> Lookup | None:
    """A lookup table ``{file, from, to[, area]}``; or, where ``m49`` allows it (a source's country_lookup), the
    word ``m49``: the shipped UN M49 table, its codes compared as numbers."""
    if spec is None:
        return None
    if isinstance(spec, str) and spec.strip().lower() == M49_LOOKUP:
        if not m49:
            raise ConfigError(
                f"{where}: field '{key}': '{M49_LOOKUP}' is available for a source's country_lookup only; "
                "give file, from and to"
            )
        return Lookup(file=M49_FILE, key="m49", value="iso3", numeric=True)
    if not isinstance(spec, dict) or not {"file", "from", "to"} <= set(spec):
        raise ConfigError(
            f"{where}: field '{key}' needs file, from (the source value's column in that file) "
            "and to (the ISO 3166-1 alpha-3 column)" + (f", or is '{M49_LOOKUP}' (UN M49 numeric codes)" if m49 else "")
        )
    lookup = Lookup(
        file=_file(path, where, f"{key}.file", spec["file"]),
        key=str(spec["from"]),
        value=str(spec["to"]),
        area=str(spec["area"]) if spec.get("area") else None,
        delimiter=str(spec.get("delimiter", ",")),
        encoding=str(spec.get("encoding", "utf-8")),
    )
    try:
        with lookup.file.open(
            encoding="utf-8-sig" if lookup.encoding.lower() in ("utf-8", "utf8") else lookup.encoding, newline=""
        ) as handle:
            header = next(csv.reader(handle, delimiter=lookup.delimiter), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{where}: field '{key}.file': cannot read {lookup.file}: {exc}") from None
    wanted = [("from", lookup.key), ("to", lookup.value)] + ([("area", lookup.area)] if lookup.area else [])
    for name, column in wanted:
        if column not in header:
            raise ConfigError(
                f"{where}: field '{key}.{name}': column '{column}' not in {lookup.file} (columns: {', '.join(header)})"
            )
    return lookup


def _columns(where: str, columns: Any, allowed: tuple[str, ...]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    if not isinstance(columns, dict):
        raise ConfigError(f"{where}: field 'columns' must map standard fields to source columns")
    bad = set(columns) - set(allowed)
    if bad:
        raise ConfigError(
            f"{where}: field 'columns': unknown standard field(s) {sorted(bad)}; allowed: {', '.join(allowed)}"
        )
    shown: dict[str, str] = {}
    parts: dict[str, tuple[str, ...]] = {}
    for key, value in columns.items():
        names = tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)
        if not names or any(not n for n in names):
            raise ConfigError(f"{where}: field 'columns.{key}' must name a column or a list of columns")
        parts[key] = names
        shown[key] = " + ".join(names)
    return shown, parts


_SOURCE_KEYS = {
    "country",
    "level",
    "unit",
    "stage",
    "files",
    "columns",
    "constants",
    "date_format",
    "correspondence",
    "description",
    "bbox",
    "date_floor",
    "offence_match",
    "country_lookup",
    "fiscal_year_start",
    "nested_totals",
    "fractional_counts",
    "coverage",
    "total_area",
    "disaggregations",
    "boundaries",
}


def _boundaries(path: Path, where: str, given: Any, area_column: str | None) -> Boundaries | None:
    try:
        return parse_boundaries(where, given, area_column, lambda key, value: _file(path, where, key, value))
    except BoundariesError as exc:
        raise ConfigError(str(exc)) from None


def _disaggregations(where: str, given: Any, variables: tuple[str, ...]) -> dict[str, Disaggregation]:
    try:
        parsed = parse_disaggregations(where, given, variables)
    except DisaggregationError as exc:
        raise ConfigError(str(exc)) from None
    return {v: parsed[v] for v in variables if v in parsed}


def _source(path: Path, name: Any, spec: Any, drafting: bool = False) -> SourceConfig:
    where = f"{path}: source '{name}'"
    if not isinstance(name, str) or not _SOURCE_NAME.match(name):
        raise ConfigError(f"{where}: name must be lower-case letters, digits and '_' (starting with a letter)")
    if name == POPULATION_SOURCE:
        raise ConfigError(
            f"{where}: the name '{POPULATION_SOURCE}' is reserved (rejected population rows are "
            "kept in quarantine under it); choose another"
        )
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: settings must be a mapping")
    allowed = _SOURCE_KEYS | _READ_KEYS
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    for required in ("level", "unit", "files", "columns", "date_format", "correspondence"):
        if spec.get(required) in (None, "") and not (drafting and required == "correspondence"):
            hint = f" (none yet? {_draft_hint(path, name)} drafts one)" if required == "correspondence" else ""
            raise ConfigError(f"{where}: field '{required}' is required{hint}")
    choices = {"level": LEVELS, "unit": UNITS, "stage": STAGES, "offence_match": OFFENCE_MATCHES}
    values = {
        "level": spec["level"],
        "unit": spec["unit"],
        "stage": spec.get("stage", "police"),
        "offence_match": spec.get("offence_match", "code"),
    }
    for key, value in values.items():
        if value not in choices[key]:
            raise ConfigError(f"{where}: field '{key}': '{value}' is not one of {', '.join(choices[key])}")
    read = _read_options(where, spec)
    columns, parts = _columns(where, spec["columns"], STANDARD_FIELDS)
    constants = spec.get("constants") or {}
    if not isinstance(constants, dict) or set(constants) - set(STANDARD_FIELDS):
        raise ConfigError(
            f"{where}: field 'constants' must map standard fields ({', '.join(STANDARD_FIELDS)}) to a fixed value"
        )
    both = set(constants) & set(columns)
    if both:
        raise ConfigError(f"{where}: field(s) {sorted(both)} given both as columns and as constants")
    constants = {k: str(v) for k, v in constants.items()}
    given = set(columns) | set(constants)
    needed = ("date", "offence", "count") if spec["level"] == "aggregate" else ("date", "offence")
    for key in needed:
        if key not in given:
            raise ConfigError(f"{where}: field 'columns.{key}' is required for a {spec['level']} source")
    if spec["level"] == "incident" and "count" in given:
        raise ConfigError(f"{where}: field 'columns.count' belongs to aggregate sources; use level: aggregate")
    if ("latitude" in columns) != ("longitude" in columns):
        raise ConfigError(f"{where}: field 'columns': latitude and longitude go together")
    country = str(spec.get("country") or "")
    if country and not _COUNTRY.match(country):
        raise ConfigError(f"{where}: field 'country': '{country}' is not an ISO 3166-1 alpha-3 code")
    if spec.get("country_lookup") is not None and "country" not in columns:
        raise ConfigError(f"{where}: field 'country_lookup' needs columns.country (the column it looks up)")
    if not country and "country" not in given:
        raise ConfigError(f"{where}: field 'country' is required (or columns.country for a multi-country source)")
    date_format = str(spec["date_format"])
    if not _DATE_DIRECTIVES.search(date_format) or "%Y" not in date_format and "%y" not in date_format:
        raise ConfigError(
            f"{where}: field 'date_format': '{date_format}' needs a year directive (%Y) "
            "and strptime codes such as %d/%m/%Y or %Y-%m"
        )
    unknown_codes = [d for d in re.findall(r"%(-?.?)", date_format) if d not in _KNOWN_DIRECTIVES]
    if unknown_codes:
        raise ConfigError(
            f"{where}: field 'date_format': '%{unknown_codes[0]}' in '{date_format}' is not a strptime "
            "code (e.g. %Y year, %m month, %d day, %b month name, %q quarter)"
        )
    if "%q" in date_format and re.search(r"%[dmjbB]", date_format):
        raise ConfigError(f"{where}: field 'date_format': %q (quarter) cannot be combined with a month or day")
    fiscal = spec.get("fiscal_year_start", 1)
    if not isinstance(fiscal, int) or not 1 <= fiscal <= 12:
        raise ConfigError(f"{where}: field 'fiscal_year_start': month number 1-12 (4 = April), got {fiscal!r}")
    nested = spec.get("nested_totals", False)
    if not isinstance(nested, bool) or (nested and spec["level"] != "aggregate"):
        raise ConfigError(
            f"{where}: field 'nested_totals': true or false, for aggregate sources that publish a "
            "category beside its own sub-categories"
        )
    fractional = spec.get("fractional_counts", False)
    if not isinstance(fractional, bool) or (fractional and spec["level"] != "aggregate"):
        raise ConfigError(
            f"{where}: field 'fractional_counts': true or false, for aggregate sources whose counts "
            "are estimates with decimals (otherwise a count such as 12.5 is quarantined)"
        )
    disaggregations = _disaggregations(where, spec.get("disaggregations"), VARIABLES)
    if disaggregations and nested:
        raise ConfigError(
            f"{where}: field 'disaggregations' cannot be combined with nested_totals yet (a category would be "
            "netted of its sub-categories within each sex and age group, which is not implemented)"
        )
    total_area = spec.get("total_area")
    if total_area is not None and not (isinstance(total_area, str) and total_area.strip()):
        raise ConfigError(f"{where}: field 'total_area': the name of the area whose rows are the national total")
    bbox = spec.get("bbox")
    if bbox is not None:
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, int | float) for v in bbox)):
            raise ConfigError(f"{where}: field 'bbox' must be [min_lon, min_lat, max_lon, max_lat]")
        if not (bbox[0] < bbox[2] and bbox[1] < bbox[3]):
            raise ConfigError(f"{where}: field 'bbox': minimums must be below maximums")
        bbox = tuple(float(v) for v in bbox)
    correspondence = _correspondence_file(path, where, name, spec.get("correspondence"), drafting)
    files, date_floor = _files(where, spec["files"]), _date_floor(where, spec.get("date_floor", "1900-01-01"))
    source = SourceConfig(
        name=name,
        country=country,
        level=spec["level"],
        unit=spec["unit"],
        stage=values["stage"],
        files=files,
        read=read,
        columns=columns,
        date_format=date_format,
        correspondence=correspondence,
        base_dir=path.parent,
        description=str(spec.get("description", "")),
        bbox=bbox,
        date_floor=date_floor,
        parts=parts,
        constants=constants,
        offence_match=values["offence_match"],
        country_lookup=_lookup(path, where, "country_lookup", spec.get("country_lookup"), m49=True),
        fiscal_year_start=fiscal,
        nested_totals=nested,
        fractional_counts=fractional,
        total_area=total_area.strip() if total_area else None,
        disaggregations=disaggregations,
        boundaries=_boundaries(path, where, spec.get("boundaries"), columns.get("area")),
    )
    try:  # validated against the source's period (a month bound on an annual source is refused)
        return replace(source, coverage=check_coverage(where, spec.get("coverage"), source.period))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _correspondence_file(path: Path, where: str, name: str, value: Any, drafting: bool) -> Path | None:
    """The source's correspondence table; when drafting, None (not configured) or a path not written yet."""
    if value in (None, ""):
        return None
    if not _unset_variables(value) and not _resolved(path, value).exists():
        if drafting:
            return _resolved(path, value)
        raise ConfigError(
            f"{where}: field 'correspondence': file not found: {_resolved(path, value)} "
            f"(none yet? {_draft_hint(path, name)} drafts one)"
        )
    return _file(path, where, "correspondence", value)


def _unset_variables(value: Any) -> list[str]:
    return re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", _expand(str(value)))


def _resolved(path: Path, value: Any) -> Path:
    """A referenced path, ${VARIABLES} expanded, relative to the configuration's folder."""
    resolved = Path(_expand(str(value)))
    return resolved if resolved.is_absolute() else path.parent / resolved


def _draft_hint(path: Path, name: str) -> str:
    return f"`iccs map-draft --config {path} --source {name}`"


def _populations(path: Path, given: Any) -> tuple[PopulationConfig, ...]:
    """``population:`` as one mapping (one set of files) or a list of them."""
    if given is None:
        return ()
    if isinstance(given, dict):
        return (_population(path, None, given),)
    if not isinstance(given, list):
        raise ConfigError(
            f"{path}: population: expected a mapping (files, columns, ...) or a list of them, "
            f"got {type(given).__name__}"
        )
    return tuple(_population(path, i, spec) for i, spec in enumerate(given))


def _population(path: Path, index: int | None, spec: Any) -> PopulationConfig:
    where = f"{path}: population" + (f"[{index}]" if index is not None else "")
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{where}: expected a mapping with files, columns, ... (got {type(spec).__name__}: {str(spec)[:60]!r})"
        )
    if not spec.get("files"):
        raise ConfigError(f"{where}: field 'files' is required (given: {', '.join(map(str, spec)) or 'nothing'})")
    allowed = {
        "files",
        "columns",
        "country",
        "year",
        "multiplier",
        "country_lookup",
        "area_lookup",
        "disaggregations",
    } | _READ_KEYS
    unknown = set(spec) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise ConfigError(
            f"{where}: field 'columns' must map standard fields ({', '.join(POPULATION_FIELDS)}) to the file's columns"
        )
    bad = set(columns) - set(POPULATION_FIELDS)
    if bad:
        raise ConfigError(
            f"{where}: field 'columns': unknown field(s) {sorted(bad)}; allowed: {', '.join(POPULATION_FIELDS)}"
        )
    country = spec.get("country")
    if country is not None and not _COUNTRY.match(str(country)):
        raise ConfigError(f"{where}: field 'country': '{country}' is not an ISO 3166-1 alpha-3 code")
    year = spec.get("year")
    if year is not None and not (isinstance(year, int) and 1900 <= year <= 2100):
        raise ConfigError(f"{where}: field 'year': a constant year such as 2011 (a census), got {year!r}")
    if year is not None and "year" in columns:
        raise ConfigError(f"{where}: give 'columns.year' or a constant 'year', not both")
    # A standard field given neither as a column nor as a constant is read from the column of its own name.
    constant = {"country": country is not None, "year": year is not None}
    implicit = tuple(f for f in POPULATION_FIELDS if f not in columns and not constant.get(f, False))
    multiplier = spec.get("multiplier", 1)
    if not isinstance(multiplier, int | float) or multiplier <= 0:
        raise ConfigError(f"{where}: field 'multiplier' must be a positive number (1000 for thousands)")
    read = _read_options(where, spec)
    return PopulationConfig(
        files=_files(where, spec["files"]),
        base_dir=path.parent,
        columns={k: str(v) for k, v in columns.items()},
        country=str(country) if country else None,
        format=read.format,
        read=read,
        multiplier=float(multiplier),
        country_lookup=_lookup(path, where, "country_lookup", spec.get("country_lookup")),
        area_lookup=_lookup(path, where, "area_lookup", spec.get("area_lookup")),
        year=year,
        implicit=implicit,
        disaggregations=_disaggregations(where, spec.get("disaggregations"), POPULATION_VARIABLES),
    )


def _correspondence(path: Path, name: Any, spec: Any) -> CorrespondenceConfig:
    where = f"{path}: correspondence '{name}'"
    if not isinstance(name, str) or not _SOURCE_NAME.match(name):
        raise ConfigError(f"{where}: name must be lower-case letters, digits and '_' (starting with a letter)")
    if not isinstance(spec, dict) or not spec.get("file"):
        raise ConfigError(f"{where}: field 'file' is required")
    unknown = set(spec) - {"file", "country", "columns", "excluded_values", "description"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {sorted(unknown)}")
    country = str(spec.get("country") or "")
    if country and not _COUNTRY.match(country):
        raise ConfigError(f"{where}: field 'country': '{country}' is not an ISO 3166-1 alpha-3 code")
    columns = spec.get("columns") or {}
    if not isinstance(columns, dict):
        raise ConfigError(f"{where}: field 'columns' must map our column names to the file's")
    excluded = spec.get("excluded_values") or []
    return CorrespondenceConfig(
        name=name,
        file=_file(path, where, "file", spec["file"]),
        country=country,
        columns={str(k): str(v) for k, v in columns.items()},
        excluded_values=tuple(str(v) for v in excluded),
        description=str(spec.get("description", "")),
    )
