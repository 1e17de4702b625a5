"""Run one command in its own process and measure it: wall seconds, CPU seconds and peak resident memory.

``os.wait4`` returns the rusage of exactly that child, so each measured process has its own peak RSS (the
benchmark's own memory, and that of earlier children, never leaks into a figure).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    command: list[str]
    seconds: float
    user_seconds: float
    system_seconds: float
    peak_rss_bytes: int
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure(self) -> str:
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-5:]
        return f"{' '.join(self.command)} exited with {self.returncode}: " + " | ".join(tail)


def run_measured(
    command: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None, log: Path | None = None
) -> Measured:
    """Run ``command`` to completion; its output is captured in files (a pipe could fill up and stall it)."""
    log = log or Path(os.devnull)
    out_path, err_path = (log.with_suffix(".out"), log.with_suffix(".err")) if log != Path(os.devnull) else (log, log)
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(command), stdout=out, stderr=err, env=dict(env) if env else None, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
    read = (lambda p: p.read_text(errors="replace")) if log != Path(os.devnull) else (lambda p: "")
    return Measured(
        command=list(command),
        seconds=seconds,
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        peak_rss_bytes=usage.ru_maxrss * 1024,
        returncode=proc.returncode,
        stdout=read(out_path),
        stderr=read(err_path),
    )
