"""Progress of long commands (`iccs run`, `iccs report`, `iccs export`) as one live line on stderr.

Shown only on a terminal and without ``--quiet``: a log, a pipe or a test sees nothing, and stdout (the final
summary that scripts and tests read) is never touched. The line is transient: it is gone when the work ends.
"""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def wanted(quiet: bool = False) -> bool:
    """Whether to show progress: on a terminal, unless told to be quiet."""
    return not quiet and sys.stderr.isatty()


class Steps:
    """Steps of a command counted on a bar: ``start`` announces the next step (the previous one is then done).

    Disabled (``enabled=False``), every method does nothing, so callers never test whether progress is shown.
    The total may grow once the work is known (``plan``): `iccs run` knows its files only after the reference
    tables are loaded.
    """

    def __init__(self, enabled: bool, total: int = 0, console: Console | None = None) -> None:
        self.enabled = enabled
        self._started = 0
        self._progress: Progress | None = None
        self._task = None
        if enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
                transient=True,
                redirect_stdout=False,  # stdout is the command's output, even when the line is drawn on stderr
            )
            self._task = self._progress.add_task("", total=total or None)

    def __enter__(self) -> Steps:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def plan(self, total: int) -> None:
        """The number of steps, once known."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=total)

    def start(self, text: str, count: int = 1) -> None:
        """Step ``text`` begins (``count`` steps at once: files loading together); those before it are done."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=self._started, description=text, refresh=True)
        self._started += count

    def say(self, text: str) -> None:
        """What the current step is doing now (a part of it), without counting a step."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, description=text)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    @property
    def started(self) -> int:
        """Steps started so far."""
        return self._started
