"""A quick report (随手拍): a photo sent outside a walk opens a draft hazard, whose
questions then follow as in a walk (``handlers.hazard``).

Any member of a school may report; a scanned building must be one of theirs.
The draft goes to the scanned building's school, else to their first school
(the building is asked first).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from cases.actor import Actor
from ledger.errors import NotAllowed
from ledger.hazards import Hazard
from ledger.roles import Person, can_walk
from storage import hazards
from storage.db import Reader, Row, Tx


def _school_of(person: Person, building: Row | None) -> int:
    """The school a quick report goes to; refused for a building not theirs."""
    if not person.school_ids:
        raise NotAllowed()
    if building is None:
        return person.school_ids[0]
    if not can_walk(person, building["school_id"]):
        raise NotAllowed()
    return int(building["school_id"])


async def anything_to_report_in(db: Reader, person: Person, building: Row | None) -> bool:
    """Whether this person may report quickly, refused (``NotAllowed``) when not; False
    while none of their schools has a building yet (nothing to name)."""
    _school_of(person, building)
    marks = ",".join("?" * len(person.school_ids))
    count = await db.value(
        f"SELECT COUNT(*) FROM buildings WHERE school_id IN ({marks})",  # noqa: S608
        person.school_ids,
    )
    return bool(count)


async def open_quick_report(
    actor: Actor,
    campaign_id: int,
    building: Row | None,
    waiting: Callable[[Tx, int], Awaitable[None]],
) -> Hazard:
    """A new draft hazard for the quick report, with the caller's waiting state."""
    school_id = _school_of(actor.person, building)
    async with actor.write() as tx:
        hazard_id = await hazards.create_hazard(
            tx,
            school_id=school_id,
            building_id=building["id"] if building is not None else None,
            campaign_id=campaign_id,
            inspection_id=None,
            item_id=None,
            source="quick",
            person_id=actor.person.id,
        )
        await waiting(tx, hazard_id)
    hazard = await hazards.hazard(actor.db, hazard_id)
    assert hazard is not None  # written just now
    return hazard
