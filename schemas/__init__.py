"""Data contracts: the source configuration and one pandera model per layer.

Layers, in the order data flows: standardized raw records (``RawRecordRow``), mapped records
(``MappedRecordRow``), warehouse facts (``OffenceRow``, ``OffenceCountRow``, ``DisaggregatedCountRow``),
``PopulationRow``, correspondence tables (``CorrespondenceRow``), what was not loaded (``QuarantineRow``) and the
completeness findings (``CompletenessRow``, ``SeriesBreakRow``). The models are the documentation of each table
and the single definition the checks run from: small tables are validated by pandera itself, large ones by the
same model compiled to SQL in ``warehouse.contracts``, and the fields tagged with a quarantine reason give the
row-level quarantine rules.
"""

from schemas.completeness import CompletenessRow, SeriesBreakRow
from schemas.correspondence import CorrespondenceRow
from schemas.disaggregated_counts import DisaggregatedCountRow
from schemas.iccs_category import IccsCategoryRow
from schemas.mapped_records import MappedRecordRow
from schemas.offence_counts import OffenceCountRow
from schemas.offences import OffenceRow
from schemas.population import PopulationRow
from schemas.quarantine import REASONS, QuarantineRow
from schemas.raw_records import RawRecordRow
from schemas.source_config import ConfigError, PipelineConfig, PopulationConfig, SourceConfig, load_config

__all__ = [
    "REASONS",
    "CompletenessRow",
    "ConfigError",
    "CorrespondenceRow",
    "DisaggregatedCountRow",
    "IccsCategoryRow",
    "MappedRecordRow",
    "OffenceCountRow",
    "OffenceRow",
    "PipelineConfig",
    "PopulationConfig",
    "PopulationRow",
    "QuarantineRow",
    "RawRecordRow",
    "SeriesBreakRow",
    "SourceConfig",
    "load_config",
]
