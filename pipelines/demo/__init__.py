"""The embedded SYNTHETIC demo country Synthetica (XSY): a seeded generator of a realistic police feed.

No dagster here: ``from pipelines.demo import generate_demo`` works from a notebook as well as from the CLI.
"""

from pipelines.demo.generate import DEFAULT_RECORDS, DEFAULT_SEED, FORMATS, MIN_RECORDS, generate_demo
from pipelines.demo.manifest import DemoManifest, describe, read_manifest

__all__ = [
    "DEFAULT_RECORDS",
    "DEFAULT_SEED",
    "FORMATS",
    "MIN_RECORDS",
    "DemoManifest",
    "describe",
    "generate_demo",
    "read_manifest",
]
