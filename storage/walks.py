"""Walks (inspections) and their answers; their hazards are ``storage.hazards``."""

from __future__ import annotations

import json
import weakref
from datetime import datetime

from ledger.walk import BuildingWalk, Choice, Walk, WalkItem
from storage.campus import buildings_with_state, items_applying, state_of, version_items
from storage.db import Query, Reader, Row, Tx, Writes


def walk_query(inspection_id: int) -> Query:
    """The one statement that reads a walk whole (``walk_from``): its building, its
    answers and its draft hazard, in one snapshot."""
    return (
        "SELECT i.id, i.campaign_id, i.building_id, b.name AS building_name, b.school_id,"
        " b.use, b.year_built, i.checklist_version_id, i.walker_id, i.started_by,"
        " i.last_activity_at, i.extra_done, i.closed_at,"
        " (SELECT json_group_array(json_array(a.item_id, a.choice)) FROM"
        "  (SELECT item_id, choice FROM answers WHERE inspection_id = i.id ORDER BY id) a)"
        " AS answered,"
        " (SELECT h.id FROM hazards h WHERE h.inspection_id = i.id AND h.state = 'draft'"
        "  ORDER BY h.id LIMIT 1) AS draft_id"
        " FROM inspections i JOIN buildings b ON b.id = i.building_id WHERE i.id = ?",
        (inspection_id,),
    )


def walk_from(rows: list[Row]) -> Walk | None:
    """The walk read by ``walk_query``."""
    if not rows:
        return None
    r = rows[0]
    return Walk(
        id=r["id"],
        campaign_id=r["campaign_id"],
        building_id=r["building_id"],
        building_name=r["building_name"],
        school_id=r["school_id"],
        use=r["use"],
        year_built=r["year_built"],
        checklist_version_id=r["checklist_version_id"],
        walker_id=r["walker_id"],
        started_by=r["started_by"],
        last_activity_at=datetime.fromisoformat(r["last_activity_at"]),
        extra_done=bool(r["extra_done"]),
        closed_at=None if r["closed_at"] is None else datetime.fromisoformat(r["closed_at"]),
        answers={int(item): Choice(choice) for item, choice in json.loads(r["answered"])},
        draft_id=r["draft_id"],
    )


async def walk(db: Reader, inspection_id: int) -> Walk | None:
    """A walk whole, in one read."""
    return walk_from(await db.all(*walk_query(inspection_id)))


# The items a walk asks, per connection, version and building kind: worked out once from
# the version's items (kept per connection, ``campus.version_items``), which never change.
_ASKED: weakref.WeakKeyDictionary[
    object, dict[tuple[int, str, int | None], tuple[WalkItem, ...]]
] = weakref.WeakKeyDictionary()


async def walk_items(db: Reader, walk: Walk) -> tuple[WalkItem, ...]:
    """The walk's items in order: its checklist version's (read once per connection)
    that apply to its building as the building stands now (its use and age are read
    with the walk, so an edited building is seen at once)."""
    return await items_asked(db, walk.checklist_version_id, walk.use, walk.year_built)


async def items_asked(
    db: Reader, version_id: int, use: str, year_built: int | None
) -> tuple[WalkItem, ...]:
    """The items of a checklist version that a building of this use and age is asked."""
    key = (version_id, use, year_built)
    known = _ASKED.setdefault(db.conn, {})
    asked = known.get(key)
    if asked is None:
        rows = await version_items(db, version_id)
        asked = tuple(
            WalkItem(r["id"], r["code"], r["text_zh"], r["text_en"])
            for r in items_applying(rows, use, year_built)
        )
        if rows and not db.conn.in_transaction:  # as ``version_items`` keeps them
            known[key] = asked
    return asked


async def buildings(db: Reader, school_id: int, campaign_id: int) -> list[BuildingWalk]:
    """The school's buildings by name, each with its walk's state in the current round."""
    return buildings_from(await buildings_with_state(db, school_id, campaign_id))


def school_buildings_from(rows: list[Row], school_id: int) -> list[BuildingWalk]:
    """The school's among buildings read by ``campus.members_buildings_query``."""
    return buildings_from([r for r in rows if r["school_id"] == school_id])


def buildings_from(rows: list[Row]) -> list[BuildingWalk]:
    """The buildings read by ``campus.buildings_with_state_query``."""
    return [
        BuildingWalk(
            id=r["id"],
            name=r["name"],
            use=r["use"],
            year_built=r["year_built"],
            state=state_of(r),
            walker_id=r["walker_id"],
            answered=r["answered"],
            checklist_version_id=r["checklist_version_id"],
            missed=r["missed_visit_id"] is not None,
        )
        for r in rows
    ]


async def building_school(db: Reader, building_id: int) -> int | None:
    """The school a building belongs to (None: no such building)."""
    found = await db.value("SELECT school_id FROM buildings WHERE id = ?", (building_id,))
    return None if found is None else int(found)


# The round a building is walked in now: the school's latest recurring round in
# the campaign, or NULL (the campaign's own walk) when none was opened.
CURRENT_ROUND = (
    "(SELECT MAX(r.id) FROM inspection_rounds r JOIN buildings rb ON rb.school_id = r.school_id"
    " WHERE rb.id = ? AND r.campaign_id = ?)"
)


async def inspection_of(db: Reader, campaign_id: int, building_id: int) -> Walk | None:
    """The building's walk in the campaign's current round, if started."""
    inspection_id = await db.value(
        "SELECT id FROM inspections WHERE campaign_id = ? AND building_id = ?"  # noqa: S608
        f" AND round_id IS {CURRENT_ROUND}",
        (campaign_id, building_id, building_id, campaign_id),
    )
    return None if inspection_id is None else await walk(db, inspection_id)


async def walks_in_progress(db: Reader, walker_id: int, campaign_id: int) -> list[Row]:
    return await db.all(
        "SELECT i.id, b.name AS building_name FROM inspections i"
        " JOIN buildings b ON b.id = i.building_id"
        " WHERE i.walker_id = ? AND i.campaign_id = ? AND i.closed_at IS NULL ORDER BY i.id",
        (walker_id, campaign_id),
    )


async def start_inspection(
    tx: Tx, *, campaign_id: int, building_id: int, version_id: int, walker_id: int
) -> int:
    inspection_id = await tx.run(
        "INSERT INTO inspections (campaign_id, building_id, round_id, checklist_version_id,"  # noqa: S608
        " walker_id, started_by, started_at, last_activity_at)"
        f" VALUES (?, ?, {CURRENT_ROUND}, ?, ?, ?, ?, ?)",
        (
            campaign_id,
            building_id,
            building_id,
            campaign_id,
            version_id,
            walker_id,
            walker_id,
            tx.now(),
            tx.now(),
        ),
    )
    await tx.event(
        walker_id,
        "inspection.started",
        "inspection",
        inspection_id,
        after={"building_id": building_id, "campaign_id": campaign_id},
    )
    return inspection_id


async def take_over(tx: Tx, inspection_id: int, old_walker: int, new_walker: int) -> None:
    await tx.run(
        "UPDATE inspections SET walker_id = ?, last_activity_at = ? WHERE id = ?",
        (new_walker, tx.now(), inspection_id),
    )
    await tx.event(
        new_walker,
        "inspection.taken_over",
        "inspection",
        inspection_id,
        before={"walker_id": old_walker},
        after={"walker_id": new_walker},
    )


async def ever_walked_by(db: Reader, inspection_id: int, person_id: int) -> bool:
    """Whether this person started the walk or held it before someone took it over."""
    found = await db.value(
        "SELECT 1 FROM inspections WHERE id = ? AND started_by = ?"
        " UNION ALL SELECT 1 FROM events WHERE subject = 'inspection' AND subject_id = ?"
        " AND action = 'inspection.taken_over'"
        " AND (actor_id = ? OR json_extract(before, '$.walker_id') = ?) LIMIT 1",
        (inspection_id, person_id, inspection_id, person_id, person_id),
    )
    return found is not None


TOUCH = "UPDATE inspections SET last_activity_at = ? WHERE id = ?"


async def touch(tx: Tx, inspection_id: int) -> None:
    await tx.run(TOUCH, (tx.now(), inspection_id))


def record_answer(
    w: Writes, inspection_id: int, item_id: int, choice: Choice, person_id: int
) -> bool:
    """Store an answer (inside a write run at once); False if the item was answered
    already (a stale tap), or the walk is no longer this person's to answer (closed, or
    taken over since it was read)."""
    answer_id = w.run(
        "INSERT INTO answers (inspection_id, item_id, choice, answered_by, answered_at)"
        " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM inspections WHERE id = ?"
        " AND walker_id = ? AND closed_at IS NULL)"
        " ON CONFLICT (inspection_id, item_id) DO NOTHING",
        (inspection_id, item_id, choice.value, person_id, w.now(), inspection_id, person_id),
    )
    if not answer_id:
        return False
    w.run(TOUCH, (w.now(), inspection_id))
    w.event(
        person_id,
        "answer.given",
        "inspection",
        inspection_id,
        after={"item_id": item_id, "choice": choice.value},
    )
    return True


def set_extra_done(w: Writes, inspection_id: int, person_id: int) -> bool:
    """ "Any other hazard?" answered no (inside a write run at once); False when it was
    answered already."""
    changed = w.run(
        "UPDATE inspections SET extra_done = 1 WHERE id = ? AND extra_done = 0", (inspection_id,)
    )
    if changed:
        w.run(TOUCH, (w.now(), inspection_id))
        w.event(person_id, "inspection.no_more_hazards", "inspection", inspection_id)
    return bool(changed)


async def close_inspection(tx: Tx, inspection_id: int, person_id: int) -> bool:
    changed = await tx.run(
        "UPDATE inspections SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
        (tx.now(), person_id, inspection_id),
    )
    if changed:
        await tx.event(
            person_id,
            "inspection.closed",
            "inspection",
            inspection_id,
            before={"state": "in_progress"},
            after={"state": "closed"},
        )
    return bool(changed)


async def walk_draft(db: Reader, inspection_id: int) -> int | None:
    """The hazard being reported in this walk, if one is (at most one at a time)."""
    hazard_id = await db.value(
        "SELECT id FROM hazards WHERE inspection_id = ? AND state = 'draft' ORDER BY id LIMIT 1",
        (inspection_id,),
    )
    return None if hazard_id is None else int(hazard_id)
