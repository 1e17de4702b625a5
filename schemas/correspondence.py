"""A correspondence table: national offence category -> ICCS code (any level), with how and since when.

Columns beyond the required ``national_code`` and ``iccs_code`` are optional in the file:

- ``correspondence``: ``full`` (the national category is the ICCS category), ``partial`` (it overlaps: the
  closest ICCS category is given), ``split`` (its records belong to several ICCS categories in known
  ``share``s, one row per target, shares summing to 1), ``excluded`` (outside the scope of ICCS, e.g.
  anti-social behaviour incidents that are not offences; no target, the ``note`` says why). Default ``full``.
- ``valid_from`` / ``valid_to``: ISO dates, both inclusive, either open; national codes change over time and
  a record maps by its date.
- ``basis``: why the mapping holds (``BASES``). ``suggested`` (``DRAFT_BASIS``) is known but refused: it marks a
  row ``iccs map-draft`` wrote from the ranker's top candidate, which nobody has reviewed yet; a person sets one of
  ``BASES`` when they accept or correct the row, so a draft can never map records by accident.
- ``parent``: the national_code of the national category that contains this one (its national hierarchy,
  which may differ from the ICCS tree); a ``nested_totals`` source nets a category of its published
  sub-categories along it.

The rules below are table rules (a row is judged with its neighbours): each returns one boolean per row, so a
failure names the line it is on.
"""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import iccs_code_field, number_field

KINDS = ("full", "partial", "split", "excluded")
BASES = ("legal_text", "official_crosswalk", "source_coding", "analyst_judgement")
DRAFT_BASIS = "suggested"  # written by `iccs map-draft`; refused by the loader until a person reviews the row
SHARE_TOLERANCE = 1e-6
GROUP = ["national_code", "valid_from", "valid_to"]

# What each table rule means, for the one-line error that names file, line and problem.
PROBLEMS: dict[str, str] = {
    "target_given": "iccs_code is empty (only an 'excluded' row has no ICCS code)",
    "excluded_has_reason": "an 'excluded' row has an ICCS code or no note saying why ICCS cannot place it",
    "share_only_on_split": "share is given on a row that is not 'split' (only split rows carry shares)",
    "split_has_share": "a 'split' row needs a share between 0 and 1",
    "one_row_per_code": "duplicate national_code for the same validity (use correspondence: split for several targets)",
    "split_targets_distinct": "the same ICCS target twice in one split",
    "split_shares_sum_to_one": "the shares of this national_code's split do not sum to 1",
    "validity_ordered": "valid_from is after valid_to",
    "validity_not_overlapping": "this national_code has another row whose validity overlaps this one",
    "parent_known": "parent is not a national_code of this table",
    "parent_not_cyclic": "parent leads back to this national_code (the national hierarchy must be a tree)",
}


def _group_keys(df: pd.DataFrame) -> pd.Series:
    return df["national_code"].astype(str) + "\x1f" + df["valid_from"].astype(str) + "\x1f" + df["valid_to"].astype(str)


class CorrespondenceRow(pa.DataFrameModel):
    national_code: Series[str] = pa.Field(
        str_length={"min_value": 1}, description="the source's offence code (or label, for offence_match: label)"
    )
    national_label: Series[str] = pa.Field(nullable=True, description="the national category's name")
    iccs_code: Series[str] = iccs_code_field(nullable=True, description="target ICCS code; must exist in ICCS v1.0")
    correspondence: Series[str] = pa.Field(isin=list(KINDS), description="full, partial, split or excluded")
    share: Series[float] = number_field(nullable=True, gt=0, le=1, description="split rows: fraction of the records")
    valid_from: Series[pd.Timestamp] = pa.Field(nullable=True, description="first day the row applies (inclusive)")
    valid_to: Series[pd.Timestamp] = pa.Field(nullable=True, description="last day the row applies (inclusive)")
    basis: Series[str] = pa.Field(
        nullable=True, isin=list(BASES), description="why the mapping holds ('suggested' rows are refused as drafts)"
    )
    note: Series[str] = pa.Field(nullable=True, description="free text; for excluded rows, the reason")
    parent: Series[str] = pa.Field(nullable=True, description="national_code of the category containing this one")

    class Config:
        strict = False

    @pa.dataframe_check(name="target_given")
    def _target_given(cls, df: pd.DataFrame) -> pd.Series:
        return df["iccs_code"].notna() | (df["correspondence"] == "excluded")

    @pa.dataframe_check(name="excluded_has_reason")
    def _excluded_has_reason(cls, df: pd.DataFrame) -> pd.Series:
        excluded = df["correspondence"] == "excluded"
        return ~excluded | (df["iccs_code"].isna() & df["note"].fillna("").str.strip().ne(""))

    @pa.dataframe_check(name="share_only_on_split")
    def _share_only_on_split(cls, df: pd.DataFrame) -> pd.Series:
        return (df["correspondence"] == "split") | df["share"].isna() | (df["share"] == 1)

    @pa.dataframe_check(name="split_has_share")
    def _split_has_share(cls, df: pd.DataFrame) -> pd.Series:
        return (df["correspondence"] != "split") | df["share"].notna()

    @pa.dataframe_check(name="one_row_per_code")
    def _one_row_per_code(cls, df: pd.DataFrame) -> pd.Series:
        key = _group_keys(df)
        single = df["correspondence"] != "split"
        # A non-split row must be alone in its group; a split group must not mix in non-split rows.
        rows_in_group = key.map(key.value_counts())
        splits_in_group = key.map(key[~single].value_counts()).fillna(0)
        return (single & (rows_in_group == 1)) | (~single & (splits_in_group == rows_in_group))

    @pa.dataframe_check(name="split_targets_distinct")
    def _split_targets_distinct(cls, df: pd.DataFrame) -> pd.Series:
        key = _group_keys(df) + "\x1f" + df["iccs_code"].astype(str)
        return (df["correspondence"] != "split") | ~key.duplicated(keep=False)

    @pa.dataframe_check(name="split_shares_sum_to_one")
    def _split_shares_sum_to_one(cls, df: pd.DataFrame) -> pd.Series:
        split = df["correspondence"] == "split"
        key = _group_keys(df)
        totals = df["share"].where(split, 0.0).fillna(0.0).groupby(key).transform("sum")
        return ~split | ((totals - 1.0).abs() <= SHARE_TOLERANCE)

    @pa.dataframe_check(name="validity_ordered")
    def _validity_ordered(cls, df: pd.DataFrame) -> pd.Series:
        return df["valid_from"].isna() | df["valid_to"].isna() | (df["valid_from"] <= df["valid_to"])

    @pa.dataframe_check(name="validity_not_overlapping")
    def _validity_not_overlapping(cls, df: pd.DataFrame) -> pd.Series:
        """Two validity groups of one national code must not share a day (open ends reach the far past/future)."""
        low = df["valid_from"].fillna(pd.Timestamp.min)
        high = df["valid_to"].fillna(pd.Timestamp.max)
        groups = pd.DataFrame(
            {"code": df["national_code"], "group": _group_keys(df), "low": low, "high": high, "row": range(len(df))}
        )
        pairs = groups.merge(groups, on="code", suffixes=("", "_other"))
        pairs = pairs[pairs["group"] != pairs["group_other"]]
        clash = pairs[(pairs["low"] <= pairs["high_other"]) & (pairs["low_other"] <= pairs["high"])]
        bad = pd.Series(False, index=range(len(df)))
        bad.loc[clash["row"].unique()] = True
        return pd.Series(~bad.to_numpy(), index=df.index)

    @pa.dataframe_check(name="parent_known")
    def _parent_known(cls, df: pd.DataFrame) -> pd.Series:
        return df["parent"].isna() | df["parent"].isin(set(df["national_code"]))

    @pa.dataframe_check(name="parent_not_cyclic")
    def _parent_not_cyclic(cls, df: pd.DataFrame) -> pd.Series:
        """Walk up from every code as many steps as there are codes: a tree ends at a root, a cycle never does."""
        up = df.dropna(subset=["parent"]).drop_duplicates("national_code").set_index("national_code")["parent"]
        current = df["national_code"].map(up)
        for _ in range(len(up)):
            if current.isna().all():
                break
            current = current.map(up)
        return pd.Series(current.isna().to_numpy(), index=df.index)
