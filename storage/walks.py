"""Walks (inspections), their answers, hazards and hazard photos."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from ledger.hazards import HazardDraft
from ledger.walk import Choice, Walk
from storage.campus import items_applying, version_items
from storage.db import Query, Reader, Row, Tx
from storage.photos import StoredPhoto


async def inspection(db: Reader, inspection_id: int) -> Row | None:
    return await db.one(
        "SELECT i.*, b.name AS building_name, b.school_id, b.use, b.year_built"
        " FROM inspections i JOIN buildings b ON b.id = i.building_id WHERE i.id = ?",
        (inspection_id,),
    )


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


async def walk_items(db: Reader, walk: Walk) -> list[Row]:
    """The walk's items in order: its checklist version's (read once per connection)
    that apply to its building as the building stands now."""
    items = await version_items(db, walk.checklist_version_id)
    return items_applying(items, walk.use, walk.year_built)


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


async def record_answer(
    tx: Tx, inspection_id: int, item_id: int, choice: Choice, person_id: int
) -> bool:
    """Store an answer; False if the item was answered already (a stale tap), or the
    walk is no longer this person's to answer (closed, or taken over since it was read)."""
    answer_id = await tx.run(
        "INSERT INTO answers (inspection_id, item_id, choice, answered_by, answered_at)"
        " SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM inspections WHERE id = ?"
        " AND walker_id = ? AND closed_at IS NULL)"
        " ON CONFLICT (inspection_id, item_id) DO NOTHING",
        (inspection_id, item_id, choice.value, person_id, tx.now(), inspection_id, person_id),
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


# --- hazards -----------------------------------------------------------------

# Fields a person fills in while reporting; written one at a time.
HAZARD_FIELDS = frozenset(
    {
        "school_id",
        "building_id",
        "photos_done",
        "description",
        "fixable_now",
        "deadline",
        "responsible_id",
        "responsible_name",
        "measures",
        "takes_out_of_use",
        "major",
        "funding",
        "contingency_plan",
    }
)


async def create_hazard(
    tx: Tx,
    *,
    school_id: int,
    building_id: int | None,
    campaign_id: int,
    inspection_id: int | None,
    item_id: int | None,
    source: str,
    person_id: int,
) -> int:
    hazard_id = await tx.run(
        "INSERT INTO hazards (school_id, building_id, campaign_id, inspection_id, item_id, source,"
        " reported_by, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (school_id, building_id, campaign_id, inspection_id, item_id, source, person_id, tx.now()),
    )
    await tx.event(
        person_id,
        "hazard.reported",
        "hazard",
        hazard_id,
        after={"building_id": building_id, "item_id": item_id, "source": source},
    )
    return hazard_id


async def create_walk_hazard(tx: Tx, walk: Row, item_id: int | None, person_id: int) -> int:
    """A hazard found during a walk, on a checklist item (or free-form when None)."""
    return await create_hazard(
        tx,
        school_id=walk["school_id"],
        building_id=walk["building_id"],
        campaign_id=walk["campaign_id"],
        inspection_id=walk["id"],
        item_id=item_id,
        source="walk",
        person_id=person_id,
    )


async def hazard(db: Reader, hazard_id: int) -> Row | None:
    """A hazard with its building's, school's, checklist item's and reporter's names."""
    return await db.one(
        "SELECT h.*, b.name AS building_name, ci.code AS item_code, ci.text_zh AS item_zh,"
        " ci.text_en AS item_en, s.name AS school_name, p.name AS reporter_name"
        " FROM hazards h LEFT JOIN buildings b ON b.id = h.building_id"
        " LEFT JOIN checklist_items ci ON ci.id = h.item_id"
        " JOIN schools s ON s.id = h.school_id JOIN people p ON p.id = h.reported_by"
        " WHERE h.id = ?",
        (hazard_id,),
    )


def draft_of(row: Row) -> HazardDraft:
    def flag(key: str) -> bool | None:
        return None if row[key] is None else bool(row[key])

    return HazardDraft(
        building_id=row["building_id"],
        photos_done=bool(row["photos_done"]),
        description=row["description"],
        fixable_now=flag("fixable_now"),
        deadline=None if row["deadline"] is None else date.fromisoformat(row["deadline"]),
        responsible_name=row["responsible_name"],
        measures=row["measures"],
        takes_out_of_use=flag("takes_out_of_use"),
        major=flag("major"),
        funding=row["funding"],
        contingency_plan=row["contingency_plan"],
    )


async def update_hazard(tx: Tx, hazard_id: int, person_id: int, **fields: Any) -> None:
    """Set some fields of a hazard and log them with their old values."""
    unknown = set(fields) - HAZARD_FIELDS
    if unknown:
        raise ValueError(f"not hazard fields: {unknown}")
    old = await tx.one(
        f"SELECT {', '.join(fields)} FROM hazards WHERE id = ?",  # noqa: S608 - names checked above
        (hazard_id,),
    )
    assert old is not None
    values = [v.isoformat() if isinstance(v, date) else v for v in fields.values()]
    await tx.run(
        f"UPDATE hazards SET {', '.join(f'{k} = ?' for k in fields)} WHERE id = ?",  # noqa: S608
        (*values, hazard_id),
    )
    await tx.event(
        person_id,
        "hazard.updated",
        "hazard",
        hazard_id,
        before=dict(old),
        after=dict(zip(fields, values, strict=True)),
    )


async def complete_hazard(tx: Tx, hazard_id: int, person_id: int) -> None:
    await tx.run(
        "UPDATE hazards SET state = 'open', completed_at = ? WHERE id = ? AND state = 'draft'",
        (tx.now(), hazard_id),
    )
    await tx.event(
        person_id,
        "hazard.opened",
        "hazard",
        hazard_id,
        before={"state": "draft"},
        after={"state": "open"},
    )


async def hazards_of_inspection(db: Reader, inspection_id: int) -> list[Row]:
    return await db.all(
        "SELECT h.*, ci.code AS item_code FROM hazards h"
        " LEFT JOIN checklist_items ci ON ci.id = h.item_id"
        " WHERE h.inspection_id = ? AND h.state != 'draft' ORDER BY h.id",
        (inspection_id,),
    )


async def quick_draft(db: Reader, person_id: int) -> Row | None:
    hazard_id = await db.value(
        "SELECT id FROM hazards WHERE reported_by = ? AND source = 'quick' AND state = 'draft'"
        " ORDER BY id DESC LIMIT 1",
        (person_id,),
    )
    return None if hazard_id is None else await hazard(db, hazard_id)


async def add_photo(
    tx: Tx,
    hazard_id: int,
    photo: StoredPhoto,
    person_id: int,
    file_unique_id: str | None,
    kind: str = "before",
    fix_report_id: int | None = None,
    reused_of: int | None = None,
    time_flag: str | None = None,
) -> bool:
    """Attach a stored photo; False when the same picture was attached already.

    After-photos (``kind`` "after") belong to the fix report that brought them.
    A photo kept although it matches one on record names it (``reused_of``);
    ``time_flag`` says why its capture time is suspect (ledger.evidence).
    """
    photo_id = await tx.run(
        "INSERT INTO photos (hazard_id, kind, fix_report_id, sha256, width, height, bytes,"
        " tg_file_unique_id, uploaded_by, uploaded_at, phash, crop_hashes, taken_at, latitude,"
        " longitude, reused_of, time_flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?)"
        " ON CONFLICT (hazard_id, sha256) DO NOTHING",
        (
            hazard_id,
            kind,
            fix_report_id,
            photo.sha256,
            photo.width,
            photo.height,
            photo.size,
            file_unique_id,
            person_id,
            tx.now(),
            photo.phash,
            json.dumps(list(photo.crop_hashes)) if photo.crop_hashes else None,
            photo.taken_at,
            photo.latitude,
            photo.longitude,
            reused_of,
            time_flag,
        ),
    )
    if photo_id:
        # The chain binds the photo by its SHA-256, with what was found about it.
        after: dict[str, object] = {"sha256": photo.sha256, "kind": kind}
        if photo.taken_at:
            after["taken_at"] = photo.taken_at
        if reused_of:
            after["reused_of"] = reused_of
        if time_flag:
            after["time_flag"] = time_flag
        await tx.event(person_id, "photo.added", "hazard", hazard_id, after=after)
    return bool(photo_id)


async def photo_count(db: Reader, hazard_id: int) -> int:
    return int(await db.value("SELECT COUNT(*) FROM photos WHERE hazard_id = ?", (hazard_id,)))


async def withdraw_hazard(tx: Tx, hazard_id: int, person_id: int) -> None:
    """A draft its reporter cancelled: kept with its photos, never counted."""
    changed = await tx.run(
        "UPDATE hazards SET state = 'withdrawn' WHERE id = ? AND state = 'draft'", (hazard_id,)
    )
    if changed:
        await tx.event(
            person_id,
            "hazard.withdrawn",
            "hazard",
            hazard_id,
            before={"state": "draft"},
            after={"state": "withdrawn"},
        )
