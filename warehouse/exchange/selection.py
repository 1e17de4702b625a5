"""What an export takes from the warehouse: sources, countries, years, ICCS levels, counting units, areas."""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.sql import literal, one_of


class ExportError(ValueError):
    """An export that cannot be made as asked: one line saying why (the command line prints it)."""


@dataclass(frozen=True)
class Selection:
    sources: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()  # ISO alpha-3, as the warehouse stores them
    first_year: int | None = None
    last_year: int | None = None
    iccs_levels: tuple[int, ...] = ()  # 1 (section) to 4
    units: tuple[str, ...] = ()  # counting units: offences, victims, …
    national_only: bool = False  # only the national figures, no area's

    def where(self, columns: set[str]) -> str:
        """A SQL condition on a relation with ``columns`` (only those it has are tested): TRUE where a row is
        selected. ``iccs_levels`` tests a ``level`` column, else the level of ``iccs_code``."""
        tests = ["true"]
        for column, values in (("source", self.sources), ("country", self.countries), ("unit", self.units)):
            if values and column in columns:
                tests.append(one_of(column, values))
        if "year" in columns:
            if self.first_year is not None:
                tests.append(f"year >= {literal(self.first_year)}")
            if self.last_year is not None:
                tests.append(f"year <= {literal(self.last_year)}")
        if self.iccs_levels:
            levels = ", ".join(str(int(level)) for level in self.iccs_levels)
            if "level" in columns:
                tests.append(f"level IN ({levels})")
            elif "iccs_code" in columns:
                tests.append(f"iccs_code IN (SELECT code FROM iccs_categories WHERE level IN ({levels}))")
        if self.national_only and "area" in columns:
            tests.append("area IS NULL")
        return " AND ".join(tests)

    def check(self, con) -> None:
        """ExportError naming a selected source or country the warehouse does not have: a typo is not an empty
        file."""
        for column, values, table in (
            ("source", self.sources, "sources"),
            ("country", self.countries, "offence_counts"),
            ("unit", self.units, "offence_counts"),
        ):
            if not values:
                continue
            known = {r[0] for r in con.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()}
            unknown = [v for v in values if v not in known]
            if unknown:
                shown = ", ".join(sorted(str(k) for k in known if k is not None)) or "none"
                raise ExportError(f"--{column} {unknown[0]}: not in the warehouse (it has: {shown})")
        if self.first_year is not None and self.last_year is not None and self.first_year > self.last_year:
            raise ExportError(f"--from {self.first_year} is after --to {self.last_year}")
        bad = [level for level in self.iccs_levels if level not in (1, 2, 3, 4)]
        if bad:
            raise ExportError(f"--iccs-level {bad[0]}: ICCS levels are 1 (section) to 4")
