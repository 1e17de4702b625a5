"""``boundaries:`` of a source: the file whose shapes are the areas its records or cells name.

    boundaries: districts.geojson          # the feature property named like the source's area column
    boundaries:
      file: lsoa_2011.zip                  # GeoJSON, a zipped shapefile, a GeoPackage ... (anything GDAL reads)
      area: LSOA11CD                       # the feature property holding the area as the records name it
      label: LSOA11NM                      # the name shown on maps (default: the area itself)
      country: ISO3                        # a multi-country source: the property holding the ISO3 code
      layer: districts                     # a file with several layers (GeoPackage)

The shapes are matched to the records' areas exactly, trimmed and case-insensitively; an area without a shape
is drawn as a ranked dot, never dropped, and a shape no record names is kept (an area with no offences is data).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEYS = ("file", "area", "label", "country", "layer")


class BoundariesError(ValueError):
    """A ``boundaries`` entry that cannot be used, as one line naming the field."""


@dataclass(frozen=True)
class Boundaries:
    file: Path
    area: str  # the feature property holding the area
    label: str | None = None  # the property holding the name shown on maps
    country: str | None = None  # the property holding the ISO3 code (a multi-country source)
    layer: str | None = None


def parse_boundaries(where: str, given: Any, area_column: str | None, resolve) -> Boundaries | None:
    """``given`` as written in the YAML; ``area_column`` the source's column of areas (the short form's property);
    ``resolve(key, value)`` turns a path relative to the configuration into an existing file (or raises)."""
    if given is None:
        return None
    if area_column is None:
        raise BoundariesError(f"{where}: field 'boundaries' needs columns.area (the areas the shapes are matched to)")
    if isinstance(given, str):
        given = {"file": given, "area": area_column}
    if not isinstance(given, dict):
        raise BoundariesError(
            f"{where}: field 'boundaries': a file name, or a mapping with keys {', '.join(KEYS)}; got {given!r}"
        )
    unknown = sorted(set(given) - set(KEYS))
    if unknown:
        raise BoundariesError(f"{where}: field 'boundaries': unknown key(s) {unknown}; allowed: {', '.join(KEYS)}")
    if not given.get("file"):
        raise BoundariesError(f"{where}: field 'boundaries.file' is required")
    for key in ("area", "label", "country", "layer"):
        value = given.get(key)
        if value is not None and not (isinstance(value, str) and value.strip()):
            raise BoundariesError(f"{where}: field 'boundaries.{key}': a property name, got {value!r}")
    return Boundaries(
        file=resolve("boundaries.file", given["file"]),
        area=(given.get("area") or area_column).strip(),
        label=given["label"].strip() if given.get("label") else None,
        country=given["country"].strip() if given.get("country") else None,
        layer=given["layer"].strip() if given.get("layer") else None,
    )
