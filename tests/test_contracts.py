"""The contracts in schemas/ compiled to SQL give the same verdict as pandera on pandas, row for row, and the
same definitions give the allowed units, stages and reasons."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pandera.errors
import pandera.pandas as pa
import pytest
from pandera.typing import Series

from schemas import (
    REASONS,
    CompletenessRow,
    IccsCategoryRow,
    MappedRecordRow,
    OffenceCountRow,
    OffenceRow,
    PopulationRow,
    QuarantineRow,
    RawRecordRow,
    SeriesBreakRow,
)
from schemas.source_config import STAGES, UNITS
from warehouse.contracts import (
    UnsupportedCheckError,
    failures_text,
    unique_columns,
    validate_table,
)
from warehouse.ddl import ensure_schema
from warehouse.reference import load_classification

LAYER_MODELS = (
    RawRecordRow,
    MappedRecordRow,
    OffenceRow,
    OffenceCountRow,
    PopulationRow,
    QuarantineRow,
    IccsCategoryRow,
    CompletenessRow,
    SeriesBreakRow,
)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    return con


def _pandera_failures(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> dict[tuple[str, str], set[int] | int]:
    """(check, column) -> failing row positions (for uniqueness: how many rows), with pandera's check names mapped
    to the compiler's."""
    try:
        model.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    else:
        return {}
    names = {
        "not_nullable": "not_null",
        "field_uniqueness": "unique",
        "multiple_fields_uniqueness": "unique",
        "column_in_dataframe": "column_present",
    }
    found: dict[tuple[str, str], set[int]] = {}
    for row in cases.itertuples():
        check = str(row.check).split("(")[0]
        check = names.get(check, check)
        column = "*" if check == "unique" else str(row.column if check != "column_present" else row.failure_case)
        found.setdefault((check, column), set())
        if row.index is not None and not pd.isna(row.index):
            found[(check, column)].add(int(row.index))
    return {key: len(rows) if key[0] == "unique" else rows for key, rows in found.items()}


def _sql_failures(
    con: duckdb.DuckDBPyConnection, model: type[pa.DataFrameModel], frame: pd.DataFrame
) -> dict[tuple[str, str], set[int] | int]:
    name = f"frame_{model.__name__}_{len(frame)}"
    con.register(name, frame.assign(_row=range(len(frame))))
    try:
        outcomes = validate_table(con, model, name)
    finally:
        con.unregister(name)
    found: dict[tuple[str, str], set[int]] = {}
    for o in outcomes:
        if o.passed:
            continue
        if o.check == "unique":  # examples are the duplicated keys, not rows: compared by number of rows
            found[(o.check, "*")] = o.failures
        else:
            found[(o.check, o.column)] = {int(e["_row"]) for e in o.examples if "_row" in e}
    return found


def _offences() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["s", "s", "s", "s"],
            "country": ["XTS", "xts", "XTS", "XTS"],
            "record_id": ["1", "1", "2", "3"],
            "occurred_on": [dt.date(2020, 1, 1), dt.date(2020, 1, 2), None, dt.date(2021, 5, 1)],
            "national_code": ["a", "", "b", "c"],
            "iccs_code": ["0101", "9999", "0502", "12"],
            "area": [None, "N", "S", "S"],
            "latitude": [1.0, 95.0, None, -90.0],
            "longitude": [1.0, 1.0, None, 181.0],
            "unit": ["offences", "persons", "victims", "offences"],
            "stage": ["police", "police", "courts", "jail"],
            "file": ["f", "f", "f", None],
            "row_number": [2, 3, 0, 5],
        }
    )


def _counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": ["s"] * 4,
            "country": ["XTS"] * 4,
            "area": ["N", "N", None, "S"],
            "iccs_code": ["0101", "0101", "0502", "x1"],
            "national_code": ["a", "a", "b", "c"],
            "year": [2020, 2020, 1850, 2021],
            "month": pd.array([1, 1, None, 13], dtype="Int64"),
            "unit": ["offences"] * 4,
            "stage": ["police"] * 4,
            "count": [3.0, 1.0, -2.0, 0.0],
        }
    )


def _population() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "country": ["XTS", "XTS", "ABCD"],
            "area": [None, None, "N"],
            "year": [2020, 2020, 2021],
            "population": [100.0, 0.0, 5.0],
            "sex": ["_T", "_T", "X"],
            "age": ["_T", "_T", "Y15T29"],
        }
    )


def _mapped() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file_index": [0, 0, 0, 1],
            "file": ["a.csv", "a.csv", "a.csv", ""],
            "line": [2, 3, 1, 2],
            "record_id": ["r1", "r2", "r2", "r4"],
            "occurred_on": [dt.date(2020, 1, 1), None, dt.date(2020, 1, 3), dt.date(2020, 1, 4)],
            "national_code": ["A", "B", None, "D"],
            "iccs_code": ["0101", None, "0502", "0999"],
            "area": ["N", None, "S", "S"],
            "latitude": [40.0, 91.0, None, 0.0],
            "longitude": [10.0, 10.0, None, -190.0],
            "count": [1.0, 1.0, -1.0, None],
            "reason": [None, None, "bogus", None],
            "detail": [None, None, "count: '-1' is negative", None],
            "raw": [None, None, '{"n": "-1"}', None],
        }
    )


@pytest.mark.parametrize(
    "model, make",
    [(OffenceRow, _offences), (OffenceCountRow, _counts), (PopulationRow, _population), (MappedRecordRow, _mapped)],
)
def test_sql_and_pandera_fail_the_same_rows_for_the_same_rules(con, model, make) -> None:
    frame = make()
    expected = _pandera_failures(model, frame)
    assert expected, "the frame must break some rules, or the comparison proves nothing"
    got = _sql_failures(con, model, frame)
    assert got == expected


def test_valid_frames_pass_both_engines(con) -> None:
    frame = _offences().iloc[[0]].reset_index(drop=True).assign(area="N")
    assert _pandera_failures(OffenceRow, frame) == {}
    assert _sql_failures(con, OffenceRow, frame) == {}


def test_schema_rules_missing_column_optional_column_and_type(con) -> None:
    con.execute(
        "CREATE TEMP TABLE raw_ok AS SELECT 0 AS file_index, 'a.csv' AS file, 1 AS ordinal, "
        "'2020-01-01' AS date_raw, 'X' AS offence_raw"
    )
    assert all(o.passed for o in validate_table(con, RawRecordRow, "raw_ok")), "optional columns may be absent"
    con.execute(
        "CREATE TEMP TABLE raw_bad AS SELECT 0 AS file_index, 'a.csv' AS file, 1 AS ordinal, "
        "'X' AS offence_raw UNION ALL SELECT 0, 'a.csv', 1, 'Y'"
    )
    failed = {(o.check, o.column): o for o in validate_table(con, RawRecordRow, "raw_bad") if not o.passed}
    assert set(failed) == {("column_present", "date_raw"), ("unique", "file_index, ordinal")}
    assert failed[("unique", "file_index, ordinal")].failures == 2
    con.execute(
        "CREATE TEMP TABLE pop_typed AS SELECT 'XTS' AS country, NULL::VARCHAR AS area, "
        "'2020' AS year, 10.0::DOUBLE AS population, '_T' AS sex, '_T' AS age"
    )
    failed = [(o.check, o.column) for o in validate_table(con, PopulationRow, "pop_typed") if not o.passed]
    assert failed == [("dtype", "year")]
    assert "dtype(year)" in failures_text(validate_table(con, PopulationRow, "pop_typed"))


def test_coerce_checks_castability_and_checks_the_cast_value(con) -> None:
    class Coerced(pa.DataFrameModel):
        n: Series[int] = pa.Field(coerce=True, ge=0, description="a number given as text")

    con.execute("CREATE TEMP TABLE coerced AS SELECT * FROM (VALUES ('1'), ('x'), ('-3'), (NULL)) v(n)")
    failed = {(o.check, o.failures) for o in validate_table(con, Coerced, "coerced") if not o.passed}
    assert failed == {("coercible", 1), ("not_null", 1), ("greater_than_or_equal_to", 1)}


def test_warning_checks_report_their_severity(con) -> None:
    class Soft(pa.DataFrameModel):
        x: Series[float] = pa.Field(le=10, raise_warning=True, description="soft upper bound")

    con.execute("CREATE TEMP TABLE soft AS SELECT 11.0::DOUBLE AS x")
    (outcome,) = [o for o in validate_table(con, Soft, "soft") if not o.passed]
    assert (outcome.check, outcome.severity) == ("less_than_or_equal_to", "warn")


def test_a_check_without_translation_is_an_error_not_a_skip(con) -> None:
    class Custom(pa.DataFrameModel):
        x: Series[float] = pa.Field(description="x")

        @pa.check("x")
        def small(cls, series: pd.Series) -> pd.Series:
            return series < 3

    con.execute("CREATE TEMP TABLE custom AS SELECT 1.0::DOUBLE AS x")
    with pytest.raises(UnsupportedCheckError, match="column 'x': check 'small'"):
        validate_table(con, Custom, "custom")


@pytest.mark.parametrize("model", LAYER_MODELS, ids=lambda m: m.__name__)
def test_every_field_of_every_layer_contract_is_documented(model) -> None:
    undocumented = [name for name, column in model.to_schema().columns.items() if not column.description]
    assert undocumented == []


def allowed_values(model: type[pa.DataFrameModel], column: str) -> tuple[object, ...]:
    (isin,) = [c for c in model.to_schema().columns[column].checks if c.name == "isin"]
    return tuple(isin.statistics["allowed_values"])


def test_units_stages_and_reasons_come_from_the_models() -> None:
    assert allowed_values(OffenceRow, "unit") == UNITS == allowed_values(OffenceCountRow, "unit")
    assert allowed_values(OffenceRow, "stage") == STAGES
    assert set(allowed_values(QuarantineRow, "reason")) == set(REASONS)


def test_unique_columns_come_from_the_model() -> None:
    assert unique_columns(MappedRecordRow) == [["record_id"]]


def test_proved_rules_are_reported_with_their_proof_and_not_scanned(con) -> None:
    """A rule the caller proves is not evaluated (the table below breaks it and it still passes, with the proof);
    every other rule, schema-level ones included, is checked as before."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE raw_proved AS SELECT -1 AS file_index, 'a.csv' AS file, 1 AS ordinal, "
        "NULL::VARCHAR AS offence_raw UNION ALL SELECT -1, 'a.csv', 1, 'Y'"
    )
    proofs = {"greater_than_or_equal_to(file_index)": "a constant", "unique(file_index, ordinal)": "row_number()"}
    outcomes = {o.key: o for o in validate_table(con, RawRecordRow, "raw_proved", proved=proofs)}
    assert outcomes["greater_than_or_equal_to(file_index)"].passed
    assert outcomes["greater_than_or_equal_to(file_index)"].proved == "a constant"
    assert outcomes["unique(file_index, ordinal)"].proved == "row_number()"
    assert not outcomes["column_present(date_raw)"].passed, "schema rules are never proved away"
    assert all(o.proved is None for k, o in outcomes.items() if k not in proofs)
    unproved = {o.key for o in validate_table(con, RawRecordRow, "raw_proved") if not o.passed}
    assert {"greater_than_or_equal_to(file_index)", "unique(file_index, ordinal)"} <= unproved


def test_a_proof_for_a_rule_the_contract_lacks_is_an_error(con) -> None:
    with pytest.raises(UnsupportedCheckError, match="no_such_rule"):
        validate_table(con, RawRecordRow, "raw_proved", proved={"no_such_rule(file)": "?"})


def test_the_declared_proofs_name_rules_their_contracts_have(con) -> None:
    """Every proof the pipeline declares matches a rule (a renamed rule would otherwise stop being checked)."""
    from pipelines.checks import FACT_CONTRACTS, FACT_PROVED
    from warehouse.classify import MAPPED_PROVED
    from warehouse.contracts import row_rules, rule_key
    from warehouse.staging import RAW_PROVED

    declared = [(RawRecordRow, RAW_PROVED), (MappedRecordRow, MAPPED_PROVED)]
    declared += [(FACT_CONTRACTS[n][0], p) for n, p in FACT_PROVED.items()]
    for model, proofs in declared:
        known = {rule_key(r.check, r.column) for r in row_rules(model)}
        known |= {rule_key("unique", ", ".join(c)) for c in unique_columns(model)}
        assert set(proofs) <= known, (model.__name__, set(proofs) - known)
        assert all(reason.strip() for reason in proofs.values())
