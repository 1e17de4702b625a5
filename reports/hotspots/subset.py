"""A part of a dataset's records mapped on its own (the firearm-related offences): which records, and how its
section is titled and introduced."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Subset:
    weapon: str  # the records committed with this weapon (a code of iccs.disaggregations: 'FIREARM')
    name: str  # 'firearm-related', in the section's title and the charts' labels
    lead: str  # the sentences before the maps: what the subset is and how much of the dataset has the tag
    metadata: dict[str, str] = field(default_factory=dict)  # lines added to the section's metadata
