"""The walk's actions: answer an item, say whether there is any other hazard.

A use case checks the rule (``ledger.walk``), then writes in the one transaction
its ``Actor`` opens (the chat's also marks the update done and moves the person's
journey), so that the chat and the command line share it. A step's write is known
whole once the rule is judged: it runs at once, in one trip to the writer's thread
(``Actor.write_at_once``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cases.actor import Actor
from ledger.errors import Stale
from ledger.walk import Choice, Position, Walk, Where, after_answer
from storage import hazards, walks
from storage.db import Writes

# What the person waits for once the action is written (their journey), in its transaction.
Then = Callable[[Writes], None]


def _nothing(w: Writes) -> None:
    """No journey to store (the command line)."""


async def answer_item(
    actor: Actor,
    walk: Walk,
    item_ids: Sequence[int],
    item_id: int,
    choice: Choice,
    then: Then = _nothing,
) -> Position:
    """Answer the walk's current item; where the walk stands then.

    ``walk`` is the walk as read before the transaction (with its building's
    ``item_ids`` in order): the rule is judged on it, and the write itself refuses an
    answer given twice or a walk no longer the person's (``Stale``), so a tap is
    applied once whatever happened in between. A hazard found is opened as a draft
    whose questions come next.
    """
    after = after_answer(walk, item_ids, item_id, choice)
    person_id = actor.person.id

    def write(w: Writes) -> Position:
        if not walks.record_answer(w, walk.id, item_id, choice, person_id):
            raise Stale()
        then(w)
        if after.where is Where.HAZARD:
            return _open_hazard(w, walk, item_id, person_id)
        return after

    return await actor.write_at_once(write)


async def report_other(
    actor: Actor, walk: Walk, item_ids: Sequence[int], yes: bool, then: Then = _nothing
) -> Position:
    """ "Any other hazard?" answered: yes opens a free-form hazard (its questions come
    next), no leaves the walk at its summary. Stale unless the walk asks it now."""
    if walk.position(item_ids).where is not Where.EXTRA:
        raise Stale()
    person_id = actor.person.id

    def write(w: Writes) -> Position:
        if yes:
            where = _open_hazard(w, walk, None, person_id)
        elif walks.set_extra_done(w, walk.id, person_id):
            where = Position(Where.SUMMARY)
        else:
            raise Stale()
        then(w)
        return where

    return await actor.write_at_once(write)


def _open_hazard(w: Writes, walk: Walk, item_id: int | None, person_id: int) -> Position:
    """A draft hazard found on this walk (at an item, or free-form): its questions next."""
    hazard_id = hazards.new_hazard(
        w,
        school_id=walk.school_id,
        building_id=walk.building_id,
        campaign_id=walk.campaign_id,
        inspection_id=walk.id,
        item_id=item_id,
        source="walk",
        person_id=person_id,
    )
    return Position(Where.HAZARD, hazard_id=hazard_id)
