"""Open a report page in headless Chromium and return its rendered DOM and console errors.

Used by the browser tests of every report. Tests mark themselves `browser` and use `needs_browser` so they skip
with a clear reason where no Chromium is installed (CI installs it through .ci/run).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Chromium's own start-up noise on a headless container (no D-Bus, no GPU...), not errors of the page.
_NOISE = re.compile(r"dbus|Fontconfig|gpu|GPU|sandbox|crashpad|Gtk|libva|vaapi|viz|ALSA|udev", re.IGNORECASE)
# Chromium logs every console message as "INFO:CONSOLE:<line>" whatever its level, so errors are recognised by
# their text: uncaught exceptions, failed resources (e.g. a missing plotly.min.js), explicit error messages.
_CONSOLE = re.compile(r":CONSOLE[:(]")
_ERROR_TEXT = re.compile(r"Uncaught|Error|error|Failed to load|net::ERR_")


def find_chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


needs_browser = pytest.mark.skipif(
    find_chromium() is None,
    reason="no headless Chromium on PATH (chromium/chromium-browser); install it to run browser tests",
)


@dataclass(frozen=True)
class Rendered:
    dom: str
    console_errors: list[str]
    console: list[str]
    stderr: str

    @property
    def plotly_svgs(self) -> int:
        return self.dom.count('class="main-svg"')


def _flags(profile: str) -> list[str]:
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=15000",
        "--enable-logging=stderr",
        "--v=0",
    ]


def render(page: Path, timeout: float = 90.0) -> Rendered:
    """The DOM after scripts ran (virtual time budget 15 s) and the console errors Chromium logged."""
    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no headless Chromium on PATH")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        proc = subprocess.run(
            [chromium, *_flags(profile), "--dump-dom", Path(page).resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    console = [line for line in proc.stderr.splitlines() if _CONSOLE.search(line)]
    errors = [line for line in console if _ERROR_TEXT.search(line)]
    errors += [line for line in proc.stderr.splitlines() if "net::ERR_" in line and not _NOISE.search(line)]
    return Rendered(dom=proc.stdout, console_errors=errors, console=console, stderr=proc.stderr)


def screenshot(page: Path, png: Path, *, width: int = 1300, height: int = 2400, timeout: float = 90.0) -> Path:
    """A PNG of the page (for a human look; not used by assertions)."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no headless Chromium on PATH")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        subprocess.run(
            [
                chromium,
                *_flags(profile),
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                "--hide-scrollbars",
                Path(page).resolve().as_uri(),
            ],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    return png


def chart_divs(html: str) -> int:
    """How many plotly chart divs a page's HTML declares."""
    return html.count('class="plotly-graph-div"')
