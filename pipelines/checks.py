"""Asset checks: every contract in ``schemas/`` run over the warehouse rows it governs.

Contracts are evaluated in DuckDB (``warehouse.contracts``), so checking 10M rows costs one scan, not a pandas
copy. Errors block downstream assets (a report never shows facts that broke their contract); a low mapped share
is a warning: the records are safe in quarantine, but the analyst should look.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import duckdb
import pandera.pandas as pa

from pipelines import settings
from schemas import DisaggregatedCountRow, OffenceCountRow, OffenceRow, PopulationRow, QuarantineRow
from schemas.iccs_category import IccsCategoryRow
from warehouse import contract_log
from warehouse.classify import records_table
from warehouse.connection import warehouse_of
from warehouse.contracts import CheckOutcome, failures_text, validate_table
from warehouse.diagnose import diagnose
from warehouse.load import FILE_MATCH, LoadSummary, file_params

MAPPED_SHARE_WARNING = 0.99

FACT_CONTRACTS: dict[str, tuple[type[pa.DataFrameModel], str]] = {
    "offences_contract": (OffenceRow, "offences"),
    "offence_counts_contract": (OffenceCountRow, "offence_counts"),
    "disaggregated_counts_contract": (DisaggregatedCountRow, "disaggregated_counts"),
    "quarantine_contract": (QuarantineRow, "quarantine"),
}


# The rules of the fact contracts that a file's load guarantees by the way it writes the file's rows
# (``warehouse.load``), so the fact checks do not scan them. They hold because the load runs in the step that
# has just checked ``mapped_records_contract`` over every accepted record of the file (the fact rows copy those
# records' columns) and loaded the source's correspondence table through its contract (split targets come from
# it). The rules left are scanned over the file's rows: the country (not part of the mapped contract), the year
# and month (derived, and the date floor is configurable), the counts (summed and netted by the load).
_COPIED = "copied from the file's accepted records, which mapped_records_contract checked in this step"
_CONFIGURED = "the source's configured value, checked when the configuration is read"
_NAME = "the source's name, a parameter of the load"
_TARGET = (
    "the accepted record's code (mapped_records_contract) or a split target of the correspondence table, "
    "checked by its contract when it was loaded for this file"
)
_SOURCE_CONSTANTS = {
    "not_null(source)": _NAME,
    "not_null(unit)": _CONFIGURED,
    "isin(unit)": _CONFIGURED,
    "not_null(stage)": _CONFIGURED,
    "isin(stage)": _CONFIGURED,
}
FACT_PROVED: dict[str, dict[str, str]] = {
    "offences_contract": {
        **_SOURCE_CONSTANTS,
        **dict.fromkeys(
            (
                "not_null(record_id)",
                "not_null(occurred_on)",
                "not_null(national_code)",
                "str_length(national_code)",
                "not_null(iccs_code)",
                "str_matches(iccs_code)",
                "iccs_code_exists(iccs_code)",
                "in_range(latitude)",
                "finite(latitude)",
                "in_range(longitude)",
                "finite(longitude)",
            ),
            _COPIED,
        ),
        "greater_than_or_equal_to(row_number)": "the record's line, at least 2 by mapped_records_contract",
        "unique(source, record_id)": "one source; the record ids of the file's accepted records are unique by "
        "mapped_records_contract, and only those not loaded from another file are written",
    },
    "offence_counts_contract": {
        **_SOURCE_CONSTANTS,
        "not_null(national_code)": _COPIED,
        **dict.fromkeys(("not_null(iccs_code)", "str_matches(iccs_code)", "iccs_code_exists(iccs_code)"), _TARGET),
        "unique(source, country, area, iccs_code, national_code, year, month, unit, file)": "the rows are grouped "
        "by exactly these columns (source, unit and stage are constant in a load; warehouse.counts), and netting "
        "nested totals changes a row's count, never its key",
    },
}


def _spec(name: str, asset: str | dg.AssetKey, description: str, blocking: bool = True) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name=name, asset=asset, description=description, blocking=blocking)


def fact_check_specs(asset: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        _spec("records_conserved", asset, "records_in = records_loaded + records_quarantined, against the tables"),
        *(
            _spec(name, asset, f"{model.__name__} contract over the file's rows of {table}")
            for name, (model, table) in FACT_CONTRACTS.items()
        ),
        _spec(
            "mapped_share",
            asset,
            "share of the records ICCS can place that are mapped ≥ "
            f"{MAPPED_SHARE_WARNING:.0%} (records outside ICCS by the correspondence table counted apart)",
            blocking=False,
        ),
        # Not blocking: the records are safe in quarantine and the warehouse mirrors the file; the run fails.
        _spec(
            "records_usable",
            asset,
            "not (nearly) all records quarantined for one reason (see warehouse.diagnose)",
            blocking=False,
        ),
    ]


def map_check_command(con: duckdb.DuckDBPyConnection, source: str, config: str | None) -> str:
    """`iccs map-check` for one source, runnable as printed: the configuration and warehouse named unless they
    are the defaults (run elsewhere, the defaults would be another warehouse, or the demo)."""
    named = settings.named_paths(warehouse=warehouse_of(con), config=Path(config) if config else None)
    return f"iccs map-check{named} --source {shlex.quote(source)}"


def _contract_result(name: str, asset: str | dg.AssetKey, outcomes: list[CheckOutcome]) -> dg.AssetCheckResult:
    failed = [o for o in outcomes if not o.passed]
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=asset,
        passed=not failed,
        description=failures_text(outcomes) if failed else None,
        metadata={
            "rules": len(outcomes),
            "rules_scanned": sum(o.proved is None for o in outcomes),
            "failed_rules": len(failed),
            **{f"{o.check}({o.column})": o.failures for o in failed},
        },
    )


def fact_checks(
    con: duckdb.DuckDBPyConnection,
    asset: dg.AssetKey,
    source: str,
    file: str,
    run_id: str,
    incident: bool,
    config: str | None = None,
) -> list[dg.AssetCheckResult]:
    """Every check of ``fact_check_specs`` but ``records_usable`` for one landed file, inside its load
    transaction (before the commit: a failing blocking check rolls the load back)."""
    results = [_conservation(con, asset, source, file, run_id, incident)]
    checked = []
    for name, (model, table) in FACT_CONTRACTS.items():
        outcomes = validate_table(
            con, model, table, f"source = ? AND {FILE_MATCH}", [source, *file_params(file)], FACT_PROVED.get(name)
        )
        checked.append((model.__name__, table, outcomes))
        results.append(_contract_result(name, asset, outcomes))
    contract_log.record(con, source, file, run_id, checked)
    results.append(mapped_share_check(con, asset, source, config))
    return results


def mapped_share_check(
    con: duckdb.DuckDBPyConnection, asset: dg.AssetKey, source: str, config: str | None = None
) -> dg.AssetCheckResult:
    """Share of the PLACEABLE records mapped to ICCS, as `iccs map-check` reports it: records whose national code
    the correspondence table places outside ICCS (`excluded`) were left out on purpose and are counted apart,
    never as not mapped."""
    mapped, excluded, total = con.execute(
        "SELECT count(*) FILTER (iccs_code IS NOT NULL), count(*) FILTER (iccs_code IS NULL AND mapping = 'excluded'),"
        f" count(*) FROM {records_table(source)}"
    ).fetchone()
    placeable = total - excluded
    share = mapped / placeable if placeable else 1.0
    outside = f"; {excluded:,} outside ICCS by the correspondence table, counted apart" if excluded else ""
    return dg.AssetCheckResult(
        check_name="mapped_share",
        asset_key=asset,
        passed=share >= MAPPED_SHARE_WARNING,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{share:.1%} of the {placeable:,} records ICCS can place mapped to ICCS "
        f"({placeable - mapped:,} not mapped{outside}; `{map_check_command(con, source, config)}` lists "
        "the codes by volume)",
        metadata={
            "mapped_share": round(share, 6),
            "mapped": mapped,
            "placeable_records": placeable,
            "outside_iccs": excluded,
            "records": total,
        },
    )


def _conservation(
    con: duckdb.DuckDBPyConnection, asset: dg.AssetKey, source: str, file: str, run_id: str, incident: bool
) -> dg.AssetCheckResult:
    records_in, loaded, quarantined = con.execute(
        "SELECT records_in, records_loaded, records_quarantined FROM runs WHERE source = ? AND file = ? "
        "AND run_id = ? ORDER BY finished_at DESC LIMIT 1",
        [source, file, run_id],
    ).fetchone()
    in_quarantine = con.execute(
        f"SELECT count(*) FROM quarantine WHERE source = ? AND {FILE_MATCH}", [source, *file_params(file)]
    ).fetchone()[0]
    in_facts = (
        con.execute(
            f"SELECT count(*) FROM offences WHERE source = ? AND {FILE_MATCH}", [source, *file_params(file)]
        ).fetchone()[0]
        if incident
        else loaded
    )
    passed = records_in == loaded + quarantined and in_quarantine == quarantined and in_facts == loaded
    return dg.AssetCheckResult(
        check_name="records_conserved",
        asset_key=asset,
        passed=passed,
        description=None
        if passed
        else (
            f"{records_in:,} records in ≠ {loaded:,} loaded + {quarantined:,} quarantined, or the tables disagree "
            f"({in_facts:,} fact rows, {in_quarantine:,} quarantine rows)"
        ),
        metadata={
            "records_in": records_in,
            "records_loaded": loaded,
            "records_quarantined": quarantined,
            "quarantine_rows": in_quarantine,
            "fact_rows": in_facts,
        },
    )


def usable_check(con: duckdb.DuckDBPyConnection, asset: dg.AssetKey, src, loaded: LoadSummary) -> dg.AssetCheckResult:
    """`records_usable`: a file that gave (nearly) nothing fails with a one-line diagnosis (ERROR), or warns."""
    found = diagnose(con, src, loaded.file, loaded.records_in, loaded.records_loaded, loaded.reasons)
    return dg.AssetCheckResult(
        check_name="records_usable",
        asset_key=asset,
        passed=found is None,
        severity=dg.AssetCheckSeverity.ERROR if found is None or found.fatal else dg.AssetCheckSeverity.WARN,
        description=found.text if found else None,
        metadata={"records_in": loaded.records_in, "records_loaded": loaded.records_loaded},
    )


def layer_check_specs(staged: dg.AssetKey, mapped: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    return [
        _spec("raw_records_contract", staged, "RawRecordRow contract over the staged file (before mapping)"),
        _spec(
            "columns_used",
            staged,
            "a wide file has no column that is neither matched by wide.columns nor read, "
            "and no unread column of an aggregate table holds a total beside its parts",
            blocking=False,
        ),
        _spec("mapped_records_contract", mapped, "MappedRecordRow contract over the accepted records (before load)"),
    ]


def unused_columns_check(asset: dg.AssetKey, staged) -> dg.AssetCheckResult:
    """`columns_used` (a warning): the wide layout's columns that nothing reads, named; and the columns of an
    aggregate table that nothing reads but that hold a total beside its parts ('Total' beside 'Hombre', 'Mujer'),
    whose rows are then counted twice."""
    unused = list(staged.unused_columns)
    totals = list(getattr(staged, "unread_totals", ()))
    texts = []
    if unused:
        texts.append(
            f"{len(unused)} column(s) neither matched by wide.columns nor read by a field, so not loaded: "
            f"{', '.join(unused[:20])}{' …' if len(unused) > 20 else ''}"
        )
    for column, value, others in totals:
        texts.append(
            f"column '{column}' is read by no field but holds '{value}' beside {others}: every row is "
            f"a cell, so the '{value}' rows are added to the parts they total; keep one breakdown with "
            f"filter: {{{column}: [{value}]}} (or drop it with exclude)"
        )
    return dg.AssetCheckResult(
        check_name="columns_used",
        asset_key=asset,
        passed=not texts,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(texts) or None,
        metadata={"unused_columns": ", ".join(unused), "unread_totals": "; ".join(f"{c}={v}" for c, v, _ in totals)},
    )


def layer_check(
    con: duckdb.DuckDBPyConnection,
    name: str,
    asset: dg.AssetKey,
    model: type[pa.DataFrameModel],
    table: str,
    where: str = "true",
    proved: Mapping[str, str] | None = None,
) -> dg.AssetCheckResult:
    """A contract over a staging table; the load step stops when it fails, so the warehouse keeps its state."""
    return _contract_result(name, asset, validate_table(con, model, table, where, proved=proved))


def reference_check_specs() -> list[dg.AssetCheckSpec]:
    return [_spec("iccs_categories_contract", "iccs_reference", "IccsCategoryRow contract; 320 categories")]


def reference_checks(con: duckdb.DuckDBPyConnection) -> list[dg.AssetCheckResult]:
    outcomes = validate_table(con, IccsCategoryRow, "iccs_categories")
    total = con.execute("SELECT count(*) FROM iccs_categories").fetchone()[0]
    result = _contract_result("iccs_categories_contract", "iccs_reference", outcomes)
    if total != 320:
        return [
            dg.AssetCheckResult(
                check_name="iccs_categories_contract",
                asset_key="iccs_reference",
                passed=False,
                description=f"{total} categories instead of 320",
                metadata={"categories": total},
            )
        ]
    return [result]


def population_check_specs() -> list[dg.AssetCheckSpec]:
    return [_spec("population_contract", "population", "PopulationRow contract (positive, one row per area-year)")]


def population_checks(con: duckdb.DuckDBPyConnection) -> list[dg.AssetCheckResult]:
    return [_contract_result("population_contract", "population", validate_table(con, PopulationRow, "population"))]
