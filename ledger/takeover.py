"""Who may walk a building now: the walk lock.

A walk belongs to whoever walks it. Somebody else is refused while it is in
use, and may take it over once it has been idle for the configured minutes
(``[walk] takeover_after_minutes``); a closed walk (销号) is walked by nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ledger.walk import can_take_over


class Lock(StrEnum):
    OWN = "own"  # theirs: walk on
    CLOSED = "closed"  # closed already: nobody walks it
    BUSY = "busy"  # somebody else's, in use
    IDLE = "idle"  # somebody else's, idle long enough: theirs to take over


@dataclass(frozen=True)
class HeldWalk:
    """What the lock needs to know of a walk."""

    walker_id: int
    last_activity: datetime
    closed: bool


def lock(walk: HeldWalk, person_id: int, now: datetime, idle_minutes: int) -> Lock:
    """Whether this person may walk on, must wait, or may take the walk over."""
    if walk.closed:
        return Lock.CLOSED
    if walk.walker_id == person_id:
        return Lock.OWN
    return Lock.IDLE if can_take_over(walk.last_activity, now, idle_minutes) else Lock.BUSY


def free_at(walk: HeldWalk, idle_minutes: int) -> datetime:
    """From when somebody else may take the walk over, if nobody touches it meanwhile."""
    return walk.last_activity + timedelta(minutes=idle_minutes)
