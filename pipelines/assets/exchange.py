"""Exchange files, written after the loads beside the reports: what `iccs export` writes, for every source."""

import shutil
import time

import dagster as dg

from pipelines.assets.quality import QUALITY
from pipelines.assets.reference import population
from pipelines.assets.sources import FACTS
from pipelines.resources import ReportsFolder, WarehouseResource

# SDMX carries the national figures (what UNODC, Eurostat and the SDG database take; an area's figures leave with
# `iccs export`), bounded by sources x codes x years whatever the number of areas. Parquet carries the stored tables
# whole and the views' national rows: v_rates by area is a roll-up of every area's cells (42 s for 21.7M rows at
# 10M records in 50,000 areas, against 2.7 s for its national rows), which `iccs export --format parquet` writes.
SDMX_FORMATS = ("sdmx-csv", "sdmx-ml")
PARQUET = {
    "iccs": ((("offence_counts", "disaggregated_counts"), False), (("v_rates",), True)),
    "sdg": ((("v_sdg16", "v_sdg16_by_sex_age"), False),),
}


@dg.asset(
    group_name="reports",
    deps=[FACTS, population, QUALITY],
    kinds={"sdmx", "parquet"},
    description="exchange/ beside the reports: national figures as SDMX-CSV 2.0 and SDMX-ML 2.1 (ICCS and SDG "
    "datasets) with the ICCS dataset's structure message; offence_counts and disaggregated_counts whole, and the "
    "national rows of v_rates, v_sdg16 and v_sdg16_by_sex_age, as Parquet.",
)
def exchange_files(context: dg.AssetExecutionContext, duckdb: WarehouseResource, reports: ReportsFolder):
    from schemas.sdmx import iccs_schema
    from warehouse.exchange import DATASETS, ExportError, Selection, default_name, write_sdmx
    from warehouse.exchange.sdmx_files import write_structure_file
    from warehouse.exchange.tables import write_tables

    folder = reports.directory() / "exchange"
    folder.mkdir(parents=True, exist_ok=True)
    metadata: dict[str, object] = {"folder": dg.MetadataValue.path(str(folder.resolve()))}
    notes = []
    started = time.perf_counter()
    structure = folder / "iccs.structure.xml"  # the ICCS dataset's structure, for a receiver to load its files with
    write_structure_file(iccs_schema(), structure)
    metadata[structure.name] = dg.MetadataValue.path(str(structure.resolve()))
    with duckdb.get_connection() as con:
        for dataset in DATASETS:
            files = {fmt: folder / default_name(dataset, fmt) for fmt in SDMX_FORMATS}
            try:
                done = write_sdmx(con, dataset, files, Selection(national_only=True))
            except ExportError as exc:  # e.g. no source counts victims: no SDG series to write
                for path in files.values():
                    path.unlink(missing_ok=True)  # an earlier run's file must not pass for this one's
                notes.append(f"{dataset} SDMX: {exc}")
            else:
                metadata.update({path.name: rows for path, rows in done.files.items()})
                notes.extend(f"{dataset} SDMX: {note}" for note in done.left_out)
            parquet = folder / default_name(dataset, "parquet")
            for tables, national in PARQUET[dataset]:
                written = write_tables(con, tables, "parquet", parquet, Selection(national_only=national))
                metadata.update({f"{parquet.name}/{table}": rows for table, (_, rows) in written.items()})
            if not any(parquet.iterdir()):
                shutil.rmtree(parquet)
    for note in notes:
        context.log.info(note)
    metadata["left_out"] = dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "nothing")
    metadata["seconds"] = round(time.perf_counter() - started, 2)
    return dg.MaterializeResult(metadata=metadata)
