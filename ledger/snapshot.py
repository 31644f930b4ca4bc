"""A snapshot of the ledger as the reminder planner reads it: plain, frozen records.

``storage.schedule`` fills it from the database; ``scheduler.planner`` plans from
it; tests build it by hand. It lives with the domain so that storage never
imports the scheduler (dependencies point inward).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple


@dataclass(frozen=True)
class Recipient:
    id: int
    name: str
    blocked: bool = False
    hour: int | None = None  # their preferred hour, None: the send hour


@dataclass(frozen=True)
class School:
    id: int
    name: str
    leaders: tuple[int, ...] = ()
    principals: tuple[int, ...] = ()
    buildings: int = 0  # in use
    buildings_left: int = 0  # in use and not walked to the end in the campaign's walk
    open: int = 0  # hazards open (not yet fixed)
    overdue: int = 0  # of which past their deadline
    waiting: int = 0  # fixes waiting for verification
    closed: int = 0


class Hazard(NamedTuple):
    """A hazard whose deadline is near or past. A tuple, not a dataclass: a city's pass
    reads tens of thousands, and a tuple is made in a fraction of a frozen dataclass's time."""

    id: int
    school_id: int
    deadline: date
    responsible_id: int | None
    responsible_name: str = ""
    what: str = ""
    building: str = ""
    # Cannot be fixed: ``deadline`` is the demolition deadline, and the school's
    # leaders (not the responsible person) are reminded of it.
    demolition: bool = False


class WaitingFix(NamedTuple):
    """A fix waiting for verification (a tuple for the same reason as ``Hazard``)."""

    hazard_id: int
    school_id: int
    submitted: date
    reporter_id: int | None = None  # who reported it: never the one to verify it


@dataclass(frozen=True)
class Round:
    """A school's current round of a recurring inspection."""

    id: int
    school_id: int
    every: str  # week, month, term
    opened: date
    due: date
    buildings_left: int


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    self_inspection_due: date | None = None
    rectification_due: date | None = None
    supervision_due: date | None = None


@dataclass(frozen=True)
class DrawnVisit:
    """A drawn supervision visit not yet done; told to its supervisors and the task
    force only, never to the school (四不两直)."""

    id: int
    school: str
    supervisors: tuple[int, ...]


@dataclass(frozen=True)
class Ledger:
    """What the planner reads: loaded by ``storage.schedule`` or built by tests."""

    campaign: Campaign
    people: dict[int, Recipient]
    schools: dict[int, School]
    taskforce: tuple[int, ...] = ()
    hazards: Sequence[Hazard] = ()
    waiting: Sequence[WaitingFix] = ()
    rounds: Sequence[Round] = ()
    visits: Sequence[DrawnVisit] = ()
