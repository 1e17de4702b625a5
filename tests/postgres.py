"""A real, throwaway PostgreSQL server for the tests that need one (a DuckLake catalog, Dagster's storage).

``ICCS_TEST_POSTGRES`` names a running server as a libpq conninfo (``host=… port=… user=… [password=…]``); the
tests then use it and never start one. Otherwise the session starts Debian's PostgreSQL (the newest
``/usr/lib/postgresql/*/bin``, else ``initdb``/``pg_ctl`` on PATH): ``initdb -A trust -U postgres`` into a fresh
folder under /tmp, ``pg_ctl -w start`` on a free loopback port, as the ``postgres`` user when running as root.
It is stopped (``pg_ctl -m immediate stop``) and its folder deleted when the session ends, whatever the tests did.
Where no server can be had the tests that need one are skipped, with one line saying what was missing.

Databases are made with ``psql`` from the same folder (or PATH): no Python driver is needed.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ENV = "ICCS_TEST_POSTGRES"
HINT = f"set {ENV} to a libpq conninfo such as 'host=127.0.0.1 port=5432 user=postgres' to use a running server"
SUPERUSER = "postgres"
DEBIAN_SERVERS = Path("/usr/lib/postgresql")  # Debian's server packages: <version>/bin/{initdb,pg_ctl,psql}
_TOKEN = re.compile(r"\s*(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")


class Unavailable(Exception):
    """No PostgreSQL server can be had; the message says what was missing."""


def parse_conninfo(conninfo: str) -> dict[str, str]:
    """``key=value`` pairs of a libpq conninfo (values may be single-quoted); a later key overrides an earlier one."""
    fields: dict[str, str] = {}
    position = 0
    while conninfo[position:].strip():
        match = _TOKEN.match(conninfo, position)
        if match is None:
            raise ValueError(f"not a libpq conninfo (key=value …): {conninfo!r}")
        key, value = match.groups()
        if value.startswith("'"):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        fields[key] = value
        position = match.end()
    return fields


def format_conninfo(fields: dict[str, str]) -> str:
    """The conninfo of ``fields``, values quoted where libpq needs it."""

    def quote(value: str) -> str:
        if value and not re.search(r"[\s'\\]", value):
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quote(value)}" for key, value in fields.items())


def with_database(conninfo: str, dbname: str) -> str:
    """``conninfo`` pointing at database ``dbname``."""
    fields = parse_conninfo(conninfo)
    fields.pop("dbname", None)
    return format_conninfo({"dbname": dbname, **fields})


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", folder.parent.name)) or (0,)


def find_bin_dir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: the newest Debian server, else the one on PATH."""
    debian = [d for d in DEBIAN_SERVERS.glob("*/bin") if (d / "initdb").is_file()]
    for folder in sorted(debian, key=_version, reverse=True):
        if (folder / "pg_ctl").is_file():
            return folder
    initdb = shutil.which("initdb")
    if initdb is not None:
        folder = Path(initdb).resolve().parent
        if (folder / "pg_ctl").is_file():
            return folder
    raise Unavailable("no PostgreSQL server binaries (initdb and pg_ctl in /usr/lib/postgresql/*/bin or on PATH)")


def find_psql(bin_dir: Path | None) -> str:
    if bin_dir is not None and (bin_dir / "psql").is_file():
        return str(bin_dir / "psql")
    psql = shutil.which("psql")
    if psql is None:
        raise Unavailable("no psql client (needed to create the test databases)")
    return psql


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the server takes it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def psql(conninfo: str, sql: str, *, psql_path: str, timeout: float = 60) -> str:
    """Run ``sql`` through psql; the output, or ``Unavailable``/``RuntimeError`` with psql's message."""
    result = subprocess.run(
        [psql_path, "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c", sql],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
    )
    if result.returncode != 0:
        message = " ".join(line.strip() for line in result.stderr.splitlines() if line.strip())
        raise RuntimeError(f"psql failed ({sql!r}): {message or f'exit status {result.returncode}'}")
    return result.stdout.strip()


class Server:
    """A server the tests may use: its conninfo (database ``postgres``) and the psql that talks to it."""

    def __init__(self, conninfo: str, psql_path: str) -> None:
        self.conninfo = with_database(conninfo, "postgres")
        self.psql_path = psql_path

    def query(self, sql: str, dbname: str = "postgres") -> str:
        return psql(with_database(self.conninfo, dbname), sql, psql_path=self.psql_path)

    def create_database(self, prefix: str = "iccs_test") -> str:
        """A new empty database; its conninfo."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.query(f'CREATE DATABASE "{name}"')
        return with_database(self.conninfo, name)

    def drop_database(self, conninfo: str) -> None:
        """Drop the database of ``conninfo`` if the server lets us (best effort: it is a test's leftover)."""
        name = parse_conninfo(conninfo)["dbname"]
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self.query(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_server_user(command: list[str]) -> list[str]:
    """``command`` run as the ``postgres`` user when we are root (the server refuses to run as root)."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise Unavailable("running as root without runuser, so the server cannot run as the postgres user")
    return [runuser, "-u", SUPERUSER, "--", *command]


def _run(command: list[str], *, cwd: Path, what: str, timeout: float = 120) -> None:
    try:
        result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Unavailable(f"{what} did not finish within {timeout:.0f} s") from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or [f"exit status {result.returncode}"]
        raise Unavailable(f"{what} failed: {lines[-1]}")


@contextlib.contextmanager
def throwaway_server() -> Iterator[Server]:
    """A fresh cluster under /tmp on a free loopback port, stopped and deleted on leaving, whatever happened."""
    bin_dir = find_bin_dir()
    psql_path = find_psql(bin_dir)
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise Unavailable("running as root and there is no 'postgres' user to run the server as") from None
    root = Path(tempfile.mkdtemp(prefix="iccs-postgres-", dir="/tmp"))
    data = root / "data"
    try:
        if os.geteuid() == 0:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8"]
        _run(_as_server_user([*initdb, "--locale=C", "--no-sync"]), cwd=root, what="initdb")
        pg_ctl = str(bin_dir / "pg_ctl")
        for attempt in range(3):  # another process may take the free port between choosing it and listening
            port = free_port()
            options = f"-p {port} -k {shlex.quote(str(root))} -c listen_addresses=127.0.0.1 -c fsync=off"
            start = [pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w", "-t", "60", "start"]
            try:
                _run(_as_server_user(start), cwd=root, what="pg_ctl start")
                break
            except Unavailable:
                if attempt == 2:
                    log = (root / "server.log").read_text(errors="replace").strip().splitlines()
                    raise Unavailable(f"pg_ctl start failed: {log[-1] if log else 'no server log'}") from None
        yield Server(f"host=127.0.0.1 port={port} user={SUPERUSER}", psql_path)
    finally:
        if (data / "postmaster.pid").exists():  # started, even if pg_ctl gave up waiting for it
            stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            subprocess.run(_as_server_user(stop), cwd=root, capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[Server]:
    """The server of ``ICCS_TEST_POSTGRES`` when set (checked to answer), else a throwaway one."""
    named = os.environ.get(ENV, "").strip()
    if not named:
        with throwaway_server() as server:
            yield server
        return
    try:
        bin_dir = find_bin_dir()
    except Unavailable:
        bin_dir = None
    try:
        server = Server(named, find_psql(bin_dir))
        server.query("SELECT 1")
    except (ValueError, RuntimeError, subprocess.TimeoutExpired) as error:
        shown = re.sub(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S*)", "password=…", named)
        raise Unavailable(f"{ENV}={shown!r} does not answer: {error}") from None
    yield server


def _skip(error: Unavailable) -> None:
    pytest.skip(f"no PostgreSQL server: {error}" + ("" if os.environ.get(ENV, "").strip() else f"; {HINT}"))


@pytest.fixture(scope="session")
def postgres_server_for_tests() -> Iterator[Server]:
    """The session's PostgreSQL server (see the module's docstring); tests needing it skip where there is none."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except Unavailable as error:
            _skip(error)
        yield server


@pytest.fixture(scope="session")
def postgres_dsn(postgres_server_for_tests: Server) -> str:
    """A libpq conninfo of the session's server, database ``postgres``: ``dbname=postgres host=… port=… user=…``."""
    return postgres_server_for_tests.conninfo


@pytest.fixture
def postgres_database(postgres_server_for_tests: Server) -> Iterator[str]:
    """The conninfo of a new empty database of its own for one test (dropped afterwards)."""
    conninfo = postgres_server_for_tests.create_database()
    yield conninfo
    postgres_server_for_tests.drop_database(conninfo)


@pytest.fixture
def lake_catalog(postgres_database: str) -> str:
    """A DuckLake catalog in a new empty PostgreSQL database: ``ducklake:postgres:dbname=… host=… port=… user=…``."""
    return f"ducklake:postgres:{postgres_database}"
