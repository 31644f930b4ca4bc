"""Walks (inspections) and their answers; their hazards are ``storage.hazards``."""

from __future__ import annotations

from ledger.walk import Choice, Position, position
from storage.campus import items_for_building
from storage.db import Reader, Row, Tx


async def inspection(db: Reader, inspection_id: int) -> Row | None:
    return await db.one(
        "SELECT i.*, b.name AS building_name, b.school_id, b.use, b.year_built"
        " FROM inspections i JOIN buildings b ON b.id = i.building_id WHERE i.id = ?",
        (inspection_id,),
    )


# The round a building is walked in now: the school's latest recurring round in
# the campaign, or NULL (the campaign's own walk) when none was opened.
CURRENT_ROUND = (
    "(SELECT MAX(r.id) FROM inspection_rounds r JOIN buildings rb ON rb.school_id = r.school_id"
    " WHERE rb.id = ? AND r.campaign_id = ?)"
)


async def inspection_of(db: Reader, campaign_id: int, building_id: int) -> Row | None:
    """The building's walk in the campaign's current round, if started."""
    inspection_id = await db.value(
        "SELECT id FROM inspections WHERE campaign_id = ? AND building_id = ?"  # noqa: S608
        f" AND round_id IS {CURRENT_ROUND}",
        (campaign_id, building_id, building_id, campaign_id),
    )
    return None if inspection_id is None else await inspection(db, inspection_id)


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


async def touch(tx: Tx, inspection_id: int) -> None:
    await tx.run(
        "UPDATE inspections SET last_activity_at = ? WHERE id = ?", (tx.now(), inspection_id)
    )


async def answers(db: Reader, inspection_id: int) -> dict[int, str]:
    rows = await db.all(
        "SELECT item_id, choice FROM answers WHERE inspection_id = ?", (inspection_id,)
    )
    return {r["item_id"]: r["choice"] for r in rows}


async def record_answer(
    tx: Tx, inspection_id: int, item_id: int, choice: Choice, person_id: int
) -> bool:
    """Store an answer; False if the item was answered already (a stale tap)."""
    answer_id = await tx.run(
        "INSERT INTO answers (inspection_id, item_id, choice, answered_by, answered_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (inspection_id, item_id) DO NOTHING",
        (inspection_id, item_id, choice.value, person_id, tx.now()),
    )
    if not answer_id:
        return False
    await touch(tx, inspection_id)
    await tx.event(
        person_id,
        "answer.given",
        "inspection",
        inspection_id,
        after={"item_id": item_id, "choice": choice.value},
    )
    return True


async def set_extra_done(tx: Tx, inspection_id: int, person_id: int) -> bool:
    changed = await tx.run(
        "UPDATE inspections SET extra_done = 1 WHERE id = ? AND extra_done = 0", (inspection_id,)
    )
    if changed:
        await touch(tx, inspection_id)
        await tx.event(person_id, "inspection.no_more_hazards", "inspection", inspection_id)
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


async def walk_position(db: Reader, walk: Row) -> tuple[Position, list[Row]]:
    """Where the walk stands, and the building's items in order."""
    building = await db.one("SELECT * FROM buildings WHERE id = ?", (walk["building_id"],))
    assert building is not None
    items = await items_for_building(db, walk["checklist_version_id"], building)
    answered = set(await answers(db, walk["id"]))
    draft = await walk_draft(db, walk["id"])
    where = position(
        [i["id"] for i in items],
        answered,
        draft,
        bool(walk["extra_done"]),
        walk["closed_at"] is not None,
    )
    return where, items
