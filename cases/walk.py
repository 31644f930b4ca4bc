"""The walk's actions: answer an item.

A use case checks the rule (``ledger.walk``), writes, and queues its notices in
the one transaction it is given, so that the chat (whose transaction also marks
the update done and moves the person's journey) and the command line share it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.errors import Stale
from ledger.walk import Choice, Position, Walk, Where, after_answer
from storage import hazards, walks
from storage.db import Tx


async def answer_item(
    tx: Tx, walk: Walk, item_ids: Sequence[int], item_id: int, choice: Choice, person_id: int
) -> Position:
    """Answer the walk's current item; where the walk stands then.

    ``walk`` is the walk as read before the transaction (with its building's
    ``item_ids`` in order): the rule is judged on it, and the write itself refuses an
    answer given twice or a walk no longer the person's (``Stale``), so a tap is
    applied once whatever happened in between. A hazard found is opened as a draft
    whose questions come next.
    """
    after = after_answer(walk, item_ids, item_id, choice)
    if not await walks.record_answer(tx, walk.id, item_id, choice, person_id):
        raise Stale()
    if after.where is Where.HAZARD:
        return await _open_hazard(tx, walk, item_id, person_id)
    return after


async def report_other(
    tx: Tx, walk: Walk, item_ids: Sequence[int], yes: bool, person_id: int
) -> Position:
    """ "Any other hazard?" answered: yes opens a free-form hazard (its questions come
    next), no leaves the walk at its summary. Stale unless the walk asks it now."""
    if walk.position(item_ids).where is not Where.EXTRA:
        raise Stale()
    if yes:
        return await _open_hazard(tx, walk, None, person_id)
    if not await walks.set_extra_done(tx, walk.id, person_id):
        raise Stale()
    return Position(Where.SUMMARY)


async def _open_hazard(tx: Tx, walk: Walk, item_id: int | None, person_id: int) -> Position:
    """A draft hazard found on this walk (at an item, or free-form): its questions next."""
    hazard_id = await hazards.create_hazard(
        tx,
        school_id=walk.school_id,
        building_id=walk.building_id,
        campaign_id=walk.campaign_id,
        inspection_id=walk.id,
        item_id=item_id,
        source="walk",
        person_id=person_id,
    )
    return Position(Where.HAZARD, hazard_id=hazard_id)
