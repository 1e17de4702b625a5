"""Where the warehouse lives and how to open it: the one module that knows which backend a warehouse is on.

A warehouse is a DuckDB file (the default: one analyst's machine) or a DuckLake catalog, ``ducklake:postgres:…``
(several writers and readers at once; ``warehouse.lake``). Every other module gets a connection whose default
database is the warehouse and writes the same SQL for both.

For the file, one rule for sharing it between processes.

DuckDB lets one process write a file and no other process open it meanwhile, not even to read. So writers hold
the file only for a step, wait (with a message) while another process holds it, and leave a small status file
that tells a reader who is writing and since when; readers hold it for one query and, when it is busy, say so
in one line instead of failing with a traceback.

The file is written in duckdb 1.5.5's default storage format (compatible back to v0.10.2), which the DuckDB
command-line client users install from PyPI (duckdb-cli 1.x) opens too; tests/test_duckdb_cli.py checks it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse import lake

# A DuckDB file's path, or a DuckLake catalog ("ducklake:postgres:dbname=iccs host=…").
Warehouse = Path | str

DEFAULT_WAREHOUSE = Path("data") / "warehouse.duckdb"
DEFAULT_REPORTS = Path("data") / "reports"
# DuckDB's default memory limit is 80% of RAM, and it keeps that much as buffer pool: a 10M-record load then holds
# several GB. 1 GB keeps the process near 1.2 GB at no measured cost (bench/README.md); ICCS_DUCKDB_MEMORY overrides.
CONNECTION_CONFIG: dict[str, str] = {
    "memory_limit": os.environ.get("ICCS_DUCKDB_MEMORY", "1GB"),
}
DEFAULT_LOCK_WAIT_SECONDS = 300.0


class WarehouseBusyError(RuntimeError):
    """Another process holds the warehouse file; the message says who, since when, and what to do."""


class WarehouseCorruptError(duckdb.IOException):
    """The file exists but DuckDB cannot read it as a database: the message says so and names the file. A
    subclass of DuckDB's own IOException so that every place that reports DuckDB errors reports this one too."""


class WarehouseDiskFullError(duckdb.IOException):
    """The disk ran out of space while a step wrote the warehouse: said as such, whatever DuckDB reported last."""


def locate(value: str | Path) -> Warehouse:
    """The warehouse a setting names: a DuckLake catalog as given, anything else a file path."""
    return str(value) if lake.is_lake(value) else Path(value)


def shown(target: Warehouse, absolute: bool = False) -> str:
    """The warehouse as a message names it: a file's path (``absolute``: resolved), a catalog with its password
    masked."""
    if lake.is_lake(target):
        return lake.shown(target)
    return str(Path(target).resolve() if absolute else target)


def same(a: Warehouse, b: Warehouse) -> bool:
    """Whether two settings name the same warehouse."""
    if lake.is_lake(a) or lake.is_lake(b):
        return str(a) == str(b)
    return Path(a).resolve() == Path(b).resolve()


def warehouse_of(con: duckdb.DuckDBPyConnection) -> Warehouse | None:
    """The warehouse a connection has open, as a setting would name it (None for a database in memory)."""
    path, kind = con.execute(
        "SELECT path, type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if kind == "ducklake":
        return lake.PREFIX + path
    return Path(path) if path else None


def is_file(target: Warehouse) -> bool:
    """Whether the warehouse is a DuckDB file (one writer at a time) rather than a lake (many)."""
    return not lake.is_lake(target)


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a commit refused because another writer changed the same table first (a lake's)."""
    return lake.is_conflict(exc)


def concurrent_writers(target: Warehouse) -> bool:
    """Whether several processes may write the warehouse at once: a lake's writers may, a file has one."""
    return lake.is_lake(target)


def exists(target: Warehouse) -> bool:
    """Whether the warehouse may hold data: a file that exists; a lake always (its catalog says, once opened)."""
    return lake.is_lake(target) or Path(target).exists()


def warehouse_path() -> Warehouse:
    return locate(os.environ.get("ICCS_WAREHOUSE", DEFAULT_WAREHOUSE))


def reports_path() -> Path:
    return Path(os.environ.get("ICCS_REPORTS", DEFAULT_REPORTS))


def status_path(path: Path) -> Path:
    return path.with_name(path.name + ".writer.json")


def _is_lock_error(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


_CORRUPT_SIGNS = (
    "not a valid duckdb database",
    "could not read enough bytes",
    "corrupt",
    "checksum",
    "invalid database",
    "database file",
    "storage version",
    "failed to read",
)


def _corrupt(path: Path, exc: duckdb.Error) -> WarehouseCorruptError | None:
    """DuckDB's error on opening a damaged file, as one line that says the file is corrupt and what to do."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if _is_lock_error(exc) or not any(sign in text.lower() for sign in _CORRUPT_SIGNS):
        return None
    return WarehouseCorruptError(
        f"{path}: the warehouse file is corrupt or not a DuckDB database ({text}); move it "
        "aside and run `iccs run` to rebuild it from the configured sources"
    )


def spill_dir(path: Warehouse, pid: int | None = None) -> Path:
    """Where a read-only connection (`iccs sql`, reports) spills to disk: a folder per process, named by its pid,
    beside a warehouse file or in the temp folder for a lake (DuckDB creates it when it first spills)."""
    pid = os.getpid() if pid is None else pid
    if lake.is_lake(path):
        return Path(tempfile.gettempdir()) / f"iccs-lake.sql.tmp-{pid}"
    return path.with_name(f"{path.name}.sql.tmp-{pid}")


def _lake_scratch() -> Path:
    """Where a writer of a lake spills its scratch tables: a folder of its own in the temp folder."""
    return Path(tempfile.gettempdir()) / f"iccs-lake.tmp-{os.getpid()}"


def _clean_lake_spills() -> None:
    """Remove the spill folders of lake connections whose process no longer runs."""
    for folder in Path(tempfile.gettempdir()).glob("iccs-lake*.tmp-*"):
        pid = folder.name.rsplit("-", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is someone else's
        return True
    return True


def clean_stale_spills(path: Path) -> list[Path]:
    """Remove spill folders that no running process uses, while this process holds the file read-only.

    Holding the file read-only proves that no process writes it (DuckDB's lock excludes a writer while any
    reader is open), so DuckDB's default spill folder ``<file>.tmp``, used only by writers, is stale. Readers
    spill into their own ``<file>.sql.tmp-<pid>``, removed when that pid no longer runs."""
    removed: list[Path] = []
    for folder in path.parent.glob(f"{glob.escape(path.name)}.sql.tmp-*"):
        pid = folder.name.rsplit("-", 1)[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    writer_spill = path.with_name(path.name + ".tmp")
    if writer_spill.is_dir():
        shutil.rmtree(writer_spill, ignore_errors=True)
        removed.append(writer_spill)
    return removed


def _holder(exc: duckdb.Error) -> str:
    found = re.search(r"PID (\d+)", str(exc))
    return f"process {found.group(1)}" if found else "another process"


def writer_status(path: Path) -> str:
    """Who is writing the warehouse, from the status file the writer leaves: for messages only."""
    try:
        status = json.loads(status_path(path).read_text())
    except (OSError, ValueError):
        return "another process is writing it"
    return (
        f"a pipeline run (pid {status.get('pid')}, since {status.get('since')}, {status.get('doing', 'loading')})"
        " is writing it"
    )


@contextmanager
def writing(path: Warehouse, doing: str) -> Iterator[None]:
    """Announce, for readers' messages, that this process is writing the warehouse file (a lake's readers are never
    kept waiting, so nothing is announced there)."""
    if lake.is_lake(path):
        yield
        return
    status = status_path(path)
    status.parent.mkdir(parents=True, exist_ok=True)
    status.write_text(json.dumps({"pid": os.getpid(), "since": dt.datetime.now().strftime("%H:%M:%S"), "doing": doing}))
    try:
        yield
    finally:
        status.unlink(missing_ok=True)


_NO_SPACE = "no space left on device"


def _give_back(path: Path) -> None:
    """After a step failed for lack of disk: checkpoint, and drop the scratch tables a warehouse written before they
    moved to temp may still hold (schema ``staging``), so DuckDB reuses or cuts off the blocks they took and the
    next run has room.

    A checkpoint comes first: the failure can leave a WAL of an earlier committed step and no free byte beside it,
    so that even the few hundred bytes of WAL the DROP needs cannot be written and the file stays grown (seen with
    duckdb 1.5.5 in tests/test_one_line_errors.py, disk full); the checkpoint folds that WAL into the file's free
    blocks and deletes it. Each statement is best effort: when even that cannot be written, the message already says
    to free space."""
    try:
        con = duckdb.connect(str(path), config=CONNECTION_CONFIG)
    except (duckdb.Error, OSError):
        return
    try:
        for statement in ("CHECKPOINT", "DROP SCHEMA IF EXISTS staging CASCADE", "CHECKPOINT"):
            with contextlib.suppress(duckdb.Error, OSError):
                con.execute(statement)
    finally:
        with contextlib.suppress(duckdb.Error, OSError):
            con.close()


def no_space(exc: BaseException) -> str | None:
    """DuckDB's 'no space left' error if it is behind ``exc`` (a failed ROLLBACK after a failed write says only
    'no transaction is active', with the real cause in its context)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _NO_SPACE in str(current).lower() or getattr(current, "errno", None) == errno.ENOSPC:
            return str(current).splitlines()[0]
        current = current.__cause__ or current.__context__
    return None


@contextmanager
def write_step(path: Warehouse, doing: str) -> Iterator[duckdb.DuckDBPyConnection]:
    """A writer connection for one pipeline step: announced to readers and always closed. Running out of disk
    is said as such, and the space the failed step filled with scratch tables is given back."""
    con = connect(path)
    try:
        with writing(path, doing):
            yield con
    except BaseException as exc:
        cause = no_space(exc)
        if cause is None or lake.is_lake(path):
            raise
        size = path.stat().st_size if path.exists() else 0
        with contextlib.suppress(duckdb.Error):
            con.close()
        _give_back(path)
        free = shutil.disk_usage(path.parent).free
        raise WarehouseDiskFullError(
            f"{path}: no space left on device while writing the warehouse; the step was rolled back and the file "
            f"is {path.stat().st_size / 1e6:,.1f} MB (was {size / 1e6:,.1f} MB at the failure), {free / 1e6:,.1f} "
            f"MB free there: free some space and run again ({cause})"
        ) from None
    finally:
        with contextlib.suppress(duckdb.Error):
            con.close()


def connect(
    path: Warehouse | None = None,
    read_only: bool = False,
    wait_seconds: float | None = None,
    sandboxed: bool = False,
    settings: dict[str, object] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Read-only connections refuse every write with DuckDB's own message and fail at once
    with WarehouseBusyError while a writer holds the file; writers wait up to ``wait_seconds`` (default
    ``ICCS_LOCK_WAIT_SECONDS`` or 300) for the file, saying once on stderr that they wait. A ``sandboxed``
    read-only connection can touch no other file (no COPY TO, read_csv, ATTACH or extension install): for ad-hoc
    SQL typed by a user; ``settings`` (a read-only connection's memory, spill and lock options) are applied as it
    opens. A file DuckDB cannot read raises WarehouseCorruptError."""
    path = locate(path) if path is not None else warehouse_path()
    if lake.is_lake(path):
        return _connect_lake(str(path), read_only, sandboxed, settings)
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no warehouse yet; run `iccs run` first")
        try:
            # enable_external_access must come first: DuckDB refuses it after a temp_directory was set
            config: dict[str, object] = {"enable_external_access": False} if sandboxed else {}
            config["temp_directory"] = str(spill_dir(path))
            settings = dict(settings or {})
            lock = settings.pop("lock_configuration", False)
            con = duckdb.connect(str(path), read_only=True, config={**config, **settings})
            _settle(con, settings, lock)
        except duckdb.Error as exc:
            if isinstance(exc, duckdb.IOException) and _is_lock_error(exc):
                raise WarehouseBusyError(
                    f"{path}: the warehouse is busy: {writer_status(path)}; retry in a few "
                    "seconds, when its current step has finished"
                ) from None
            raise _corrupt(path, exc) or exc from None
        clean_stale_spills(path)
        return con
    path.parent.mkdir(parents=True, exist_ok=True)
    if wait_seconds is None:
        wait_seconds = float(os.environ.get("ICCS_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS))
    deadline = time.monotonic() + wait_seconds
    told = False
    while True:
        try:
            con = duckdb.connect(str(path), config=CONNECTION_CONFIG)
            _drop_legacy_staging(con)
            return con
        except duckdb.Error as exc:
            if not (isinstance(exc, duckdb.IOException) and _is_lock_error(exc)):
                raise _corrupt(path, exc) or exc from None
            holder = _holder(exc)
            if time.monotonic() >= deadline:
                raise WarehouseBusyError(
                    f"{path}: gave up after waiting {wait_seconds:.0f} s for the warehouse, held by {holder}"
                ) from None
            if not told:
                print(
                    f"iccs: waiting for the warehouse {path}, held by {holder} (up to {wait_seconds:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
                told = True
            time.sleep(0.2)


def _drop_legacy_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Warehouse files written before the scratch tables moved to temp kept them in schema ``staging``: dropped
    once, so they no longer take space."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database() AND schema_name = 'staging'"
    ).fetchone()[0]
    if found:
        con.execute("DROP SCHEMA staging CASCADE")


def _connect_lake(
    target: str, read_only: bool, sandboxed: bool, settings: dict[str, object] | None
) -> duckdb.DuckDBPyConnection:
    """A connection to a DuckLake warehouse. Readers see the snapshot committed when their query starts and
    never wait for a writer; writers spill into a folder of their own. A ``sandboxed`` reader can read the lake
    and nothing else: once the lake is attached, external access is switched off except for its data folder
    (writing there, COPY TO, is refused by `iccs sql` before DuckDB sees it)."""
    settings = dict(settings or {})
    lock = settings.pop("lock_configuration", False)
    if read_only:
        config: dict[str, object] = {"temp_directory": str(spill_dir(target)), **settings}
    else:
        config = {**CONNECTION_CONFIG, "temp_directory": str(_lake_scratch())}
    _clean_lake_spills()
    con = duckdb.connect(config=config)
    try:
        lake.attach(con, target, read_only)
        if sandboxed:
            lake.sandbox(con)
    except BaseException:
        con.close()
        raise
    _settle(con, settings, lock)
    return con


def _settle(con: duckdb.DuckDBPyConnection, settings: dict[str, object], lock: bool) -> None:
    """The settings that must be set once the database is open (the connection is closed if one fails)."""
    try:
        # duckdb 1.5.5 shows but does not enforce a max_temp_directory_size given as the database opens (a sort
        # spilled 1 GB past a 16 MB cap); set once more, it holds. The lock comes last, or it refuses.
        if "max_temp_directory_size" in settings:
            cap = str(settings["max_temp_directory_size"]).replace("'", "''")
            con.execute(f"SET max_temp_directory_size = '{cap}'")
        if lock:
            con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
