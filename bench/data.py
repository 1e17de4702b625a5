"""Demo inputs for the benchmark, generated once per (records, seed, format, generator version) and cached.

The generator's version is a hash of its source files, so editing the generator invalidates the cache instead of
silently benchmarking stale data. A folder is written under a temporary name and renamed when complete, so an
interrupted generation never leaves a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from pipelines.demo import DEFAULT_SEED, DemoManifest, generate_demo, read_manifest

CACHE_DIR = Path(__file__).resolve().parent / "cache"
GENERATOR_DIR = Path(__file__).resolve().parent.parent / "pipelines" / "demo"


def generator_version() -> str:
    """A short hash of the demo generator's source: the data it writes can only change when this does."""
    digest = hashlib.sha256()
    for path in sorted(GENERATOR_DIR.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_key(records: int, fmt: str, seed: int = DEFAULT_SEED) -> str:
    return f"demo-{records}-{fmt}-seed{seed}-gen{generator_version()}"


def demo_data(
    records: int, fmt: str, seed: int = DEFAULT_SEED, cache_dir: Path = CACHE_DIR
) -> tuple[DemoManifest, bool]:
    """The cached demo of ``records`` records in ``fmt`` (generated if absent); and whether it was generated now."""
    target = cache_dir / cache_key(records, fmt, seed)
    if (target / "manifest.json").is_file():
        return read_manifest(target), False
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    generate_demo(partial, records=records, seed=seed, fmt=fmt)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    # The same input from an older generator can never be used again: do not let 10M-record copies pile up.
    for stale in cache_dir.glob(f"demo-{records}-{fmt}-seed{seed}-gen*"):
        if stale != target and stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
    return read_manifest(target), True
