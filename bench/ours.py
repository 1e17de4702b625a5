"""`iccs` as a user runs it, plus where its time went: ``python -m bench.ours STAGES_JSON run --config …``.

Calls ``pipelines.cli.main`` with the arguments after STAGES_JSON, exactly what the ``iccs`` script does, in a
process of its own. Dagster instances created meanwhile (the in-memory one `iccs run` uses without
``DAGSTER_HOME``, or the one under it) are remembered, so that once the command has finished their event logs
can be cut into stages (bench/stages.py) and written to STAGES_JSON, with the seconds that took, which the
benchmark subtracts from the process's wall time.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def _remember_instances() -> list:
    """Wrap the DagsterInstance constructors the runner may use so the instances can be read afterwards."""
    import dagster as dg

    created: list = []
    for name in ("ephemeral", "get"):
        original = getattr(dg.DagsterInstance, name)  # static methods in dagster 1.13

        def remembering(*args, _original=original, **kwargs):
            instance = _original(*args, **kwargs)
            created.append(instance)
            return instance

        setattr(dg.DagsterInstance, name, staticmethod(remembering))
    return created


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out, args = Path(argv[0]), argv[1:]
    created = _remember_instances()
    from pipelines.cli import main as iccs

    code = iccs(args)
    started = time.perf_counter()
    from bench.stages import dagster_stages

    stages = []
    seen: set[int] = set()
    for instance in created:
        if id(instance) not in seen:
            seen.add(id(instance))
            stages += dagster_stages(instance)
    out.write_text(
        json.dumps({"stages": [s.as_dict() for s in stages], "extraction_seconds": time.perf_counter() - started})
    )
    return code


if __name__ == "__main__":
    raise SystemExit(main())
