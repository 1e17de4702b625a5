"""The two SDMX structures the warehouse's figures leave in (``iccs export``), as ``pysdmx`` schemas.

- ``ICCS_CRIME``: offences (or victims …) by ICCS category, modelled on Eurostat's ``crim_off_cat``: dimensions
  ``SOURCE`` (our source name: two sources never share a key), ``FREQ`` (A, M), ``ICCS`` (``ICCS0101``, as
  Eurostat writes codes), ``UNIT`` (``NR`` number, ``P_HTHAB`` per hundred thousand inhabitants),
  ``COUNTING_UNIT`` and ``STAGE`` (our model's), ``GEO`` (ISO 3166-1 alpha-3), ``AREA`` (``_T`` for the whole
  country, else the area as the source names it: area names are not SDMX identifiers and are unique only within a
  country, so they are not folded into GEO), ``TIME_PERIOD``; ``OBS_VALUE``; ``OBS_STATUS`` the flags we keep
  (the publisher's, ``allocated``, ``subcategories_exceed_total``, ``partial_year``), comma-separated.
- ``DF_SDG_GLH``: the UN SDG global database's layout: ``SERIES`` (``VC_IHR_PSRC`` …), ``REF_AREA`` (M49),
  ``SEX``, ``AGE`` and the other breakdowns, ``_T`` where we cannot fill them; ``UNIT_MEASURE``, ``UNIT_MULT``,
  ``NATURE`` (``C``: country data), ``SOURCE_DETAIL`` and ``COMMENT_OBS`` (what a user must know to quote it).

The components' order is the columns' order in a written file. Codes a receiver checks against its own code lists
(FREQ, ICCS, UNIT, SERIES, SEX …) are given as code lists here, and ``coded_values`` says which values a frame
has outside them.
"""

from __future__ import annotations

import functools

import pandas as pd
from pysdmx.model import Code, Codelist, Component, Components, Concept, ConceptScheme, DataType, Role, Schema
from pysdmx.model.dataflow import Dataflow, DataStructureDefinition

from iccs.classification import categories
from iccs.sdg_series import sdg_series
from schemas.source_config import STAGES, UNITS

AGENCY = "ICCS_PIPELINE"
SDG_AGENCY = "IAEG-SDGs"
TOTAL = "_T"
# The breakdowns of the SDG database's structure that ICCS counts cannot fill: always _T.
SDG_UNFILLED = (
    "URBANISATION",
    "INCOME_WEALTH_QUANTILE",
    "EDUCATION_LEV",
    "OCCUPATION",
    "CUST_BREAKDOWN",
    "COMPOSITE_BREAKDOWN",
    "DISABILITY_STATUS",
    "ACTIVITY",
    "PRODUCT",
)


def _codes(name: str, codes: dict[str, str]) -> Codelist:
    return Codelist(id=f"CL_{name}", agency=AGENCY, name=name, items=[Code(id=k, name=v) for k, v in codes.items()])


def _component(
    name: str, role: Role, dtype: DataType = DataType.STRING, codes: dict[str, str] | None = None, required=True
) -> Component:
    return Component(
        id=name,
        required=required,
        role=role,
        concept=Concept(id=name, dtype=dtype),
        local_dtype=dtype,
        local_codes=_codes(name, codes) if codes else None,
        attachment_level="O" if role == Role.ATTRIBUTE else None,
    )


def iccs_code(code: str) -> str:
    """An ICCS code as Eurostat writes it: ``0101`` -> ``ICCS0101``."""
    return f"ICCS{code}"


@functools.cache
def iccs_schema() -> Schema:
    dim, attr = Role.DIMENSION, Role.ATTRIBUTE
    components = Components(
        [
            _component("SOURCE", dim),
            _component("FREQ", dim, codes={"A": "Annual", "M": "Monthly"}),
            _component("ICCS", dim, codes={iccs_code(c.code): c.label for c in categories()}),
            _component("UNIT", dim, codes={"NR": "Number", "P_HTHAB": "Per hundred thousand inhabitants"}),
            _component("COUNTING_UNIT", dim, codes={u: u for u in UNITS}),
            _component("STAGE", dim, codes={s: s for s in STAGES}),
            _component("GEO", dim),
            _component("AREA", dim),
            _component("TIME_PERIOD", dim, DataType.PERIOD),
            _component("OBS_VALUE", Role.MEASURE, DataType.DOUBLE, required=False),
            _component("OBS_STATUS", attr, required=False),
        ]
    )
    return Schema(
        context="dataflow",
        agency=AGENCY,
        id="ICCS_CRIME",
        version="1.0",
        components=components,
        name="Crime statistics by ICCS category (modelled on Eurostat crim_off_cat)",
    )


@functools.cache
def sdg_schema() -> Schema:
    dim, attr = Role.DIMENSION, Role.ATTRIBUTE
    series = {s.series: s.description for s in sdg_series()}
    units = {"NUMBER": "Number", "PER_100000_POP": "Per 100,000 population", "PERCENT": "Percent"}
    components = Components(
        [
            _component("FREQ", dim, codes={"A": "Annual"}),
            _component("REPORTING_TYPE", dim, codes={"N": "National"}),
            _component("SERIES", dim, codes=series),
            _component("REF_AREA", dim),
            _component("SEX", dim, codes={TOTAL: "Both sexes", "F": "Female", "M": "Male"}),
            _component("AGE", dim),
            *(_component(name, dim, codes={TOTAL: "Total"}) for name in SDG_UNFILLED),
            _component("TIME_PERIOD", dim, DataType.PERIOD),
            _component("OBS_VALUE", Role.MEASURE, DataType.DOUBLE, required=False),
            _component("UNIT_MEASURE", attr, codes=units),
            _component("UNIT_MULT", attr, codes={"0": "Units"}),
            _component("NATURE", attr, codes={"C": "Country data"}),
            _component("SOURCE_DETAIL", attr, required=False),
            _component("COMMENT_OBS", attr, required=False),
        ]
    )
    return Schema(
        context="dataflow",
        agency=SDG_AGENCY,
        id="DF_SDG_GLH",
        version="1.0",
        components=components,
        name="SDG global database (the series ICCS counts fill)",
    )


def coded_values(schema: Schema, frame: pd.DataFrame) -> dict[str, list[str]]:
    """Per coded component, the values of ``frame`` outside its code list (empty: the frame conforms)."""
    out = {}
    for component in schema.components:
        if component.local_codes is None or component.id not in frame:
            continue
        allowed = {code.id for code in component.local_codes}
        values = frame[component.id].dropna().astype(str)
        stray = sorted(set(values[values.ne("")]) - allowed)
        if stray:
            out[component.id] = stray
    return out


def structure_artefacts(schema: Schema) -> list:
    """The schema as the SDMX artefacts a structure message carries (its concept scheme, code lists, data structure
    and dataflow, with the URNs SDMX-ML needs), for a receiver to load or check our files with. Only for our own
    structure: the SDG database's is the IAEG-SDGs' to publish."""
    agency, version = schema.agency, schema.version
    scheme_id = f"CS_{schema.id}"
    concepts, components, codelists = [], [], []
    for c in schema.components:
        urn = f"urn:sdmx:org.sdmx.infomodel.conceptscheme.Concept={agency}:{scheme_id}({version}).{c.id}"
        concept = Concept(id=c.id, urn=urn, name=c.id, dtype=c.local_dtype)
        codes = None
        if c.local_codes is not None:
            codes = Codelist(
                id=c.local_codes.id,
                agency=agency,
                version=version,
                name=c.local_codes.name,
                items=list(c.local_codes.items),
                urn=f"urn:sdmx:org.sdmx.infomodel.codelist.Codelist={agency}:{c.local_codes.id}({version})",
            )
            codelists.append(codes)
        concepts.append(concept)
        components.append(
            Component(
                id=c.id,
                required=c.required,
                role=c.role,
                concept=concept,
                local_dtype=c.local_dtype,
                local_codes=codes,
                attachment_level=c.attachment_level,
            )
        )
    structure = DataStructureDefinition(
        id=schema.id, agency=agency, version=version, name=schema.name, components=Components(components)
    )
    return [
        ConceptScheme(id=scheme_id, agency=agency, version=version, name=f"Concepts of {schema.id}", items=concepts),
        *codelists,
        structure,
        Dataflow(id=schema.id, agency=agency, version=version, name=schema.name, structure=structure),
    ]
