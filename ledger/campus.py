"""A school and a building as the layers above storage read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class School:
    id: int
    name: str
    kind: str
    ownership: str
    district: str


@dataclass(frozen=True)
class Building:
    id: int
    school_id: int
    name: str
    use: str
    floors: int
    year_built: int | None
    out_of_use: bool
    # Added by a supervision visit that found it missing from the school's list.
    missed_visit_id: int | None = None


@dataclass(frozen=True)
class RecurringInspection:
    """A school's recurring inspection in force (长效机制): every week, month or term."""

    id: int
    school_id: int
    every: str
    set_at: datetime
