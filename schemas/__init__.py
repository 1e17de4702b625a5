"""Data contracts: the source configuration and one pandera model per warehouse table.

The models are the documentation of each table and the single definition the checks run from: small tables are
validated by pandera itself, large ones by the same model compiled to SQL in ``warehouse.contracts``.
"""

from schemas.correspondence import CorrespondenceRow
from schemas.iccs_category import IccsCategoryRow
from schemas.offence_counts import OffenceCountRow
from schemas.offences import OffenceRow
from schemas.population import PopulationRow
from schemas.quarantine import REASONS, QuarantineRow
from schemas.source_config import ConfigError, PipelineConfig, PopulationConfig, SourceConfig, load_config

__all__ = [
    "REASONS", "ConfigError", "CorrespondenceRow", "IccsCategoryRow", "OffenceCountRow", "OffenceRow",
    "PipelineConfig", "PopulationConfig", "PopulationRow", "QuarantineRow", "SourceConfig", "load_config",
]
