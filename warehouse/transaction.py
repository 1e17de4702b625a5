"""One transaction around a step that writes several tables, so a crash anywhere in it leaves the state before it.

Steps nest: a load that reloads the files whose cross-file duplicates it decides wraps the whole sequence, and
each load inside joins that transaction instead of committing on its own (DuckDB has no savepoints). A kill
between two commits could otherwise leave a state no rerun reaches, because the next run sees the first file as
loaded already.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

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
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        _open.discard(id(con))
