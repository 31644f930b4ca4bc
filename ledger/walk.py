"""A walk through one building: where it stands and what it covers.

A walk (an inspection) answers the building's checklist items one at a time,
then asks for other hazards, then shows a summary to close the building
(销号). The position is derived from stored answers, so it survives restarts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ledger.errors import NotAllowed, Stale


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


@dataclass(frozen=True)
class WalkItem:
    """A checklist item as a walk asks it: its stored id, its code and its words."""

    id: int
    code: str
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class BuildingWalk:
    """A school's building with its walk in the campaign's current round (if begun)."""

    id: int
    name: str
    use: str
    year_built: int | None
    state: BuildingState
    walker_id: int | None
    answered: int
    checklist_version_id: int | None  # its walk's; None when not begun
    missed: bool  # added by a supervision visit (遗漏建筑)


@dataclass(frozen=True)
class Walk:
    """A walk as stored: its building, who walks it, and what is answered so far."""

    id: int
    campaign_id: int
    building_id: int
    building_name: str
    school_id: int
    use: str
    year_built: int | None
    checklist_version_id: int
    walker_id: int
    started_by: int
    last_activity_at: datetime
    extra_done: bool
    closed_at: datetime | None
    answers: Mapping[int, Choice]  # item id -> choice, in the order given
    draft_id: int | None  # the hazard being reported in it, if one is

    def position(self, item_ids: Sequence[int]) -> Position:
        """Where it stands, given the ids of its building's items in order."""
        return position(
            list(item_ids),
            set(self.answers),
            self.draft_id,
            self.extra_done,
            self.closed_at is not None,
        )


def after_answer(walk: Walk, item_ids: Sequence[int], item_id: int, choice: Choice) -> Position:
    """Where the walk stands once ``item_id`` is answered with ``choice``.

    Only the question asked now is answered (one at a time): an item of another
    building is refused, an item of this one that is not the current question is
    stale (answered already, or a tap on an old message). A hazard found leaves the
    walk at that hazard's questions, which the caller opens (``Where.HAZARD``).
    """
    if item_id not in item_ids:
        raise NotAllowed()
    now = walk.position(item_ids)
    if now.where is not Where.ITEM or item_ids[now.index] != item_id:
        raise Stale()
    if choice is Choice.HAZARD:
        return Position(Where.HAZARD)
    return position(list(item_ids), {*walk.answers, item_id}, None, walk.extra_done, False)


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
