"""A walk through one building: where it stands and what it covers.

A walk (an inspection) answers the building's checklist items one at a time,
then asks for other hazards, then shows a summary to close the building
(销号). The position is derived from stored answers, so it survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Choice(StrEnum):
    OK = "ok"  # no hazard
    HAZARD = "hz"
    NA = "na"  # not applicable


class Where(StrEnum):
    HAZARD = "hazard"  # a hazard being reported must be finished first
    ITEM = "item"
    EXTRA = "extra"  # any other hazard?
    SUMMARY = "summary"
    CLOSED = "closed"


class BuildingState(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


@dataclass(frozen=True)
class Position:
    where: Where
    index: int = 0  # the item's index when ``where`` is ITEM
    hazard_id: int | None = None


def position(
    item_ids: list[int],
    answered: set[int],
    draft_hazard_id: int | None,
    extra_done: bool,
    closed: bool,
) -> Position:
    """Where a walk stands, from what is stored."""
    if closed:
        return Position(Where.CLOSED)
    if draft_hazard_id is not None:
        return Position(Where.HAZARD, hazard_id=draft_hazard_id)
    for index, item_id in enumerate(item_ids):
        if item_id not in answered:
            return Position(Where.ITEM, index=index)
    return Position(Where.SUMMARY if extra_done else Where.EXTRA)


def can_take_over(last_activity: datetime, now: datetime, idle_minutes: int) -> bool:
    """Another person may take over a walk left idle this long."""
    return now - last_activity >= timedelta(minutes=idle_minutes)


@dataclass(frozen=True)
class Coverage:
    closed: int
    in_progress: int
    total: int

    @property
    def not_started(self) -> int:
        return self.total - self.closed - self.in_progress


def coverage(states: list[BuildingState]) -> Coverage:
    return Coverage(
        closed=sum(s is BuildingState.CLOSED for s in states),
        in_progress=sum(s is BuildingState.IN_PROGRESS for s in states),
        total=len(states),
    )


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """A text bar for phones: ▓▓▓░░░."""
    filled = round(width * done / total) if total else 0
    return "▓" * filled + "░" * (width - filled)
