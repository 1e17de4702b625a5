"""Tests for the shipped SDG 16 -> ICCS mapping."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

import iccs

SHIPPED = Path(iccs.__file__).parent / "data" / "sdg16.csv"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "iccs" / "sdg16.csv"


def _shipped_rows() -> list[dict[str, str]]:
    with SHIPPED.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_shipped_columns_and_flags() -> None:
    rows = _shipped_rows()
    assert list(rows[0]) == [
        "indicator",
        "component",
        "title",
        "unit",
        "iccs_code",
        "include_descendants",
        "basis",
        "reference_row",
    ]
    assert {r["include_descendants"] for r in rows} <= {"true", "false"}
    assert all(r["basis"] and r["title"] for r in rows)
    keys = [(r["indicator"], r["component"], r["iccs_code"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_every_shipped_code_is_valid() -> None:
    for row in _shipped_rows():
        assert iccs.is_valid(row["iccs_code"]), row


def test_every_expanded_code_is_valid() -> None:
    frame = iccs.sdg16_frame()
    assert frame["iccs_code"].map(iccs.is_valid).all()


def test_basis_comes_from_reference() -> None:
    if not REFERENCE.parent.is_dir():
        pytest.skip(f"reference folder {REFERENCE.parent} is absent (only present beside the repo checkout)")
    with REFERENCE.open(encoding="utf-8", newline="") as handle:
        reference = {r["indicator"]: r for r in csv.DictReader(handle)}
    for row in _shipped_rows():
        source = reference[row["reference_row"]]
        assert row["basis"] == source["association_basis"], row
        listed = {c for c in source["iccs_codes"].split(";") if c}
        assert row["iccs_code"] in listed, row


@pytest.mark.parametrize(
    ("indicator", "component", "expected"),
    [
        ("16.1.1", None, ["0101"]),
        ("16.2.2", None, ["0204", "02041", "02042", "02043", "02044"]),
        ("16.4.2", None, ["09012", "090121"]),
        ("16.5.1", None, ["07031", "070311", "070312"]),
        ("16.4", "firearms_trafficking", ["09012", "090121"]),
        ("16.4", "drug_trafficking", ["06012", "060121", "060122", "060123", "060124", "060129"]),
        ("16.4", "money_laundering", ["07041"]),
        ("16.4", "trafficking_in_persons", ["0204", "02041", "02042", "02043", "02044"]),
        ("16.4", "migrant_smuggling", ["08051"]),
        ("16.4", "organized_criminal_group", ["0905", "09051", "09059"]),
        ("16.4", "terrorism_financing", ["09062"]),
        ("16.4", "wildlife_trafficking", ["1003", "10031", "100311", "100312", "10032", "10039"]),
    ],
)
def test_indicator_codes(indicator: str, component: str | None, expected: list[str]) -> None:
    assert iccs.indicator_codes(indicator, component) == expected


def test_corruption_expands_to_whole_subtree() -> None:
    codes = iccs.indicator_codes("16.4", "corruption")
    assert codes == ["0703", *[c.code for c in iccs.descendants("0703")]]
    assert "070311" in codes


def test_firearms_excludes_other_weapons() -> None:
    """09012 is listed on its own (unspecified weapons trafficking), not with its non-firearm children."""
    assert "090122" not in iccs.indicator_codes("16.4", "firearms_trafficking")


def test_target_16_4_is_union_of_components() -> None:
    components = {
        "firearms_trafficking",
        "drug_trafficking",
        "money_laundering",
        "corruption",
        "trafficking_in_persons",
        "migrant_smuggling",
        "organized_criminal_group",
        "terrorism_financing",
        "wildlife_trafficking",
    }
    assert {r["component"] for r in _shipped_rows() if r["indicator"] == "16.4"} == components
    union = sorted({code for comp in components for code in iccs.indicator_codes("16.4", comp)})
    assert iccs.indicator_codes("16.4") == union


def test_unknown_indicator_and_component() -> None:
    with pytest.raises(ValueError, match="16.1.1"):
        iccs.indicator_codes("99.9")
    with pytest.raises(ValueError, match="corruption"):
        iccs.indicator_codes("16.4", "piracy")


def test_sdg16_frame() -> None:
    frame = iccs.sdg16_frame()
    assert list(frame.columns) == ["indicator", "component", "title", "unit", "iccs_code"]
    assert all(isinstance(dtype, pd.StringDtype) for dtype in frame.dtypes)
    assert not frame.duplicated(["indicator", "component", "iccs_code"]).any()
    assert frame.loc[frame["indicator"] != "16.4", "component"].isna().all()
    assert frame.loc[frame["indicator"] == "16.4", "component"].notna().all()
    for (indicator, component), group in frame.groupby(["indicator", "component"], dropna=False):
        comp = None if pd.isna(component) else component
        assert sorted(group["iccs_code"]) == iccs.indicator_codes(indicator, comp)


def test_components_are_listed_in_the_shipped_order() -> None:
    shipped = [r["component"] for r in _shipped_rows() if r["indicator"] == "16.4"]
    assert iccs.components("16.4") == tuple(dict.fromkeys(shipped))
    assert iccs.components("16.1.1") == ()
