"""Exchange files, written after the loads beside the reports: what `iccs export` writes, for every source."""

import shutil
import time
from functools import partial
from pathlib import Path

import dagster as dg

from pipelines.assets.quality import QUALITY
from pipelines.assets.reference import population
from pipelines.assets.sources import FACTS
from pipelines.resources import ReportsFolder, WarehouseResource

# SDMX carries the national figures (what UNODC, Eurostat and the SDG database take; an area's figures leave with
# `iccs export`): bounded by sources x codes x years, whatever the number of areas. Parquet carries the aggregate
# tables whole, written by DuckDB.
SDMX_FORMATS = ("sdmx-csv", "sdmx-ml")


@dg.asset(
    group_name="reports",
    deps=[FACTS, population, QUALITY],
    kinds={"sdmx", "parquet"},
    description="exchange/ beside the reports: national figures as SDMX-CSV 2.0 and SDMX-ML 2.1 (ICCS and SDG "
    "datasets) and the aggregate tables as Parquet, as `iccs export` writes them.",
)
def exchange_files(context: dg.AssetExecutionContext, duckdb: WarehouseResource, reports: ReportsFolder):
    from warehouse.exchange import DATASETS, ExportError, Selection, default_name, export, write_sdmx

    folder = reports.directory() / "exchange"
    folder.mkdir(parents=True, exist_ok=True)
    metadata: dict[str, object] = {"folder": dg.MetadataValue.path(str(folder.resolve()))}
    notes = []
    started = time.perf_counter()
    with duckdb.get_connection() as con:
        for dataset in DATASETS:
            files = {fmt: folder / default_name(dataset, fmt) for fmt in SDMX_FORMATS}
            parquet = folder / default_name(dataset, "parquet")
            for name, write in (
                ("SDMX", partial(write_sdmx, con, dataset, files, Selection(national_only=True))),
                ("Parquet", partial(export, con, "parquet", dataset, parquet)),
            ):
                try:
                    done = write()
                except ExportError as exc:  # e.g. no source counts victims: no SDG series to write
                    for path in files.values() if name == "SDMX" else (parquet,):
                        _remove(path)  # an earlier run's file must not pass for this one's
                    notes.append(f"{dataset} {name}: {exc}")
                    continue
                metadata.update({path.name: rows for path, rows in done.files.items()})
                notes.extend(f"{dataset} {name}: {note}" for note in done.left_out)
    for note in notes:
        context.log.info(note)
    metadata["left_out"] = dg.MetadataValue.md("\n".join(f"- {n}" for n in notes) or "nothing")
    metadata["seconds"] = round(time.perf_counter() - started, 2)
    return dg.MaterializeResult(metadata=metadata)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
