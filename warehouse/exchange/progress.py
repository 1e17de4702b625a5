"""What an export tells its caller as it goes (`iccs export`'s progress line): each step as it starts, and the parts
of a step written a part at a time (``part=True``), so a command line can count steps and name parts."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, text: str, part: bool = False) -> None: ...


def silent(text: str, part: bool = False) -> None:
    """Told nothing: the default of every writer."""
