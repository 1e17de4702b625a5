"""One transaction around a step that writes several tables, so a crash anywhere in it leaves the state before it.

Steps nest: a load that reloads the files whose cross-file duplicates it decides wraps the whole sequence, and
each load inside joins that transaction instead of committing on its own (DuckDB has no savepoints). A kill
between two commits could otherwise leave a state no rerun reaches, because the next run sees the first file as
loaded already.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import duckdb

from warehouse.connection import is_conflict

T = TypeVar("T")

# The connections with a transaction open in this process, by id: an inner step joins the outer transaction.
_open: set[int] = set()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """BEGIN … COMMIT around the block, ROLLBACK if it raises; inside another ``transaction`` on ``con``, part of
    that one (the outer block commits or rolls back everything)."""
    if id(con) in _open:
        yield
        return
    con.execute("BEGIN TRANSACTION")
    _open.add(id(con))
    committing = False
    try:
        yield
        committing = True
        con.execute("COMMIT")
    except BaseException:
        if not committing:
            con.execute("ROLLBACK")
        else:  # DuckDB rolled a failed commit back itself; its error (a lake's conflict, a full disk) is the news
            with contextlib.suppress(duckdb.Error):
                con.execute("ROLLBACK")
        raise
    finally:
        _open.discard(id(con))


class WarehouseConflictError(RuntimeError):
    """Other writers kept committing changes to the same table of a DuckLake warehouse: the step was retried and
    gave up; nothing of it was written."""


def retrying(step: Callable[[], T], what: str, attempts: int = 8) -> T:
    """Run ``step`` (one transaction) and run it again when its commit lost to another writer's (DuckLake refuses
    an insert into a table another transaction deleted from meanwhile). Each failed attempt was rolled back
    whole; after ``attempts`` the step fails with one line naming ``what``."""
    for attempt in range(1, attempts + 1):
        try:
            return step()
        except duckdb.Error as exc:
            if not is_conflict(exc):
                raise
            if attempt == attempts:
                raise WarehouseConflictError(
                    f"{what}: other writers kept changing the same tables ({str(exc).splitlines()[-1].strip()}); "
                    f"gave up after {attempts} attempts, nothing was written: run it again"
                ) from None
            time.sleep(min(0.25 * 2**attempt, 8.0) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")
