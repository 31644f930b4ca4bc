"""Hazards in the database: reading one as a typed record, writing its fields, its photos.

A hazard leaves this module as ``ledger.hazards.Hazard``: its columns and the
names it is shown with, moments and days parsed. Every change appends to the
event log; a change that expects a state (``... WHERE state = 'open'``) and
finds another lost a race and is refused as stale.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from ledger.errors import Stale
from ledger.hazards import Hazard, Photo
from ledger.rectify import State
from storage import campus
from storage.db import Query, Reader, Row, Tx, Writes, stored_day, stored_moment
from storage.photos import StoredPhoto

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

_RECORD = (
    "SELECT h.*, b.name AS building_name, ci.code AS item_code, ci.text_zh AS item_zh,"
    " ci.text_en AS item_en, s.name AS school_name, p.name AS reporter_name"
    " FROM hazards h LEFT JOIN buildings b ON b.id = h.building_id"
    " LEFT JOIN checklist_items ci ON ci.id = h.item_id"
    " JOIN schools s ON s.id = h.school_id JOIN people p ON p.id = h.reported_by"
)


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def record(row: Row) -> Hazard:
    """A row of ``_RECORD`` as the typed hazard."""
    return Hazard(
        id=row["id"],
        school_id=row["school_id"],
        school_name=row["school_name"],
        building_id=row["building_id"],
        building_name=row["building_name"],
        campaign_id=row["campaign_id"],
        inspection_id=row["inspection_id"],
        item_id=row["item_id"],
        item_code=row["item_code"],
        item_zh=row["item_zh"],
        item_en=row["item_en"],
        source=row["source"],
        reported_by=row["reported_by"],
        reporter_name=row["reporter_name"],
        reported_at=datetime.fromisoformat(row["reported_at"]),
        state=State(row["state"]),
        photos_done=bool(row["photos_done"]),
        description=row["description"],
        fixable_now=_flag(row["fixable_now"]),
        deadline=stored_day(row["deadline"]),
        responsible_id=row["responsible_id"],
        responsible_name=row["responsible_name"],
        measures=row["measures"],
        takes_out_of_use=_flag(row["takes_out_of_use"]),
        major=_flag(row["major"]),
        funding=row["funding"],
        contingency_plan=row["contingency_plan"],
        completed_at=stored_moment(row["completed_at"]),
        closed_at=stored_moment(row["closed_at"]),
        demolition_due=stored_day(row["demolition_due"]),
        visit_id=row["visit_id"],
        accident_grade=bool(row["accident_grade"]),
    )


# --- reading -------------------------------------------------------------------


def hazard_query(hazard_id: int) -> Query:
    """The statement ``hazard`` reads, to read with others in one trip (``hazard_from``)."""
    return (f"{_RECORD} WHERE h.id = ?", (hazard_id,))


def hazard_from(rows: list[Row]) -> Hazard | None:
    """The hazard read by ``hazard_query``."""
    return record(rows[0]) if rows else None


async def hazard(db: Reader, hazard_id: int) -> Hazard | None:
    """A hazard with its building's, school's, checklist item's and reporter's names."""
    row = await db.one(*hazard_query(hazard_id))
    return None if row is None else record(row)


def hazards_of_inspection_query(inspection_id: int) -> Query:
    """The statement ``hazards_of_inspection`` reads (``hazards_from``)."""
    return (
        f"{_RECORD} WHERE h.inspection_id = ? AND h.state != 'draft' ORDER BY h.id",
        (inspection_id,),
    )


def hazards_from(rows: list[Row]) -> list[Hazard]:
    return [record(row) for row in rows]


async def hazards_of_inspection(db: Reader, inspection_id: int) -> list[Hazard]:
    """A walk's hazards reported in full (not drafts), in the order found."""
    return hazards_from(await db.all(*hazards_of_inspection_query(inspection_id)))


async def quick_draft(db: Reader, person_id: int) -> Hazard | None:
    """The quick report (随手拍) this person is in the middle of, if any."""
    row = await db.one(
        f"{_RECORD} WHERE h.reported_by = ? AND h.source = 'quick' AND h.state = 'draft'"
        " ORDER BY h.id DESC LIMIT 1",
        (person_id,),
    )
    return None if row is None else record(row)


async def photo_count(db: Reader, hazard_id: int) -> int:
    return int(await db.value(*photo_count_query(hazard_id)))


def photo_count_query(hazard_id: int) -> Query:
    return ("SELECT COUNT(*) FROM photos WHERE hazard_id = ?", (hazard_id,))


def photo_record(row: Row) -> Photo:
    """A row of ``photos`` as the typed photo."""
    return Photo(
        id=row["id"],
        hazard_id=row["hazard_id"],
        kind=row["kind"],
        fix_report_id=row["fix_report_id"],
        sha256=row["sha256"],
        uploaded_by=row["uploaded_by"],
        uploaded_at=datetime.fromisoformat(row["uploaded_at"]),
        taken_at=row["taken_at"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        reused_of=row["reused_of"],
        time_flag=row["time_flag"],
    )


async def photos_of(db: Reader, hazard_id: int) -> list[Photo]:
    """Before-photos first, then after-photos, each in the order they came."""
    rows = await db.all(*photos_of_query(hazard_id))
    return [photo_record(row) for row in rows]


def photos_of_query(hazard_id: int) -> Query:
    return ("SELECT * FROM photos WHERE hazard_id = ? ORDER BY kind = 'after', id", (hazard_id,))


async def pending_in_building(db: Reader, building_id: int) -> int:
    """Hazards of the building that still need work (open or waiting for verification)."""
    return int(
        await db.value(
            "SELECT COUNT(*) FROM hazards WHERE building_id = ? AND state IN ('open', 'submitted')",
            (building_id,),
        )
    )


async def pending_in_school(db: Reader, school_id: int) -> int:
    return int(
        await db.value(
            "SELECT COUNT(*) FROM hazards WHERE school_id = ? AND state IN ('open', 'submitted')",
            (school_id,),
        )
    )


async def settled_in_building(db: Reader, building_id: int) -> tuple[int, int]:
    """How many of the building's hazards are closed, and how many cannot be fixed."""
    row = await db.one(
        "SELECT SUM(state = 'closed') AS closed, SUM(state = 'unfixable') AS unfixable"
        " FROM hazards WHERE building_id = ?",
        (building_id,),
    )
    assert row is not None
    return int(row["closed"] or 0), int(row["unfixable"] or 0)


async def closed_in_school(db: Reader, school_id: int) -> tuple[int, int]:
    """The school's closed hazards and the buildings they were in."""
    row = await db.one(
        "SELECT COUNT(*) AS closed, COUNT(DISTINCT building_id) AS buildings"
        " FROM hazards WHERE school_id = ? AND state = 'closed'",
        (school_id,),
    )
    assert row is not None
    return int(row["closed"]), int(row["buildings"])


# --- reporting -------------------------------------------------------------------


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
    """A new draft hazard, in one trip to the writer's thread (``new_hazard``)."""
    return await tx.at_once(
        lambda w: new_hazard(
            w,
            school_id=school_id,
            building_id=building_id,
            campaign_id=campaign_id,
            inspection_id=inspection_id,
            item_id=item_id,
            source=source,
            person_id=person_id,
        )
    )


def new_hazard(
    w: Writes,
    *,
    school_id: int,
    building_id: int | None,
    campaign_id: int,
    inspection_id: int | None,
    item_id: int | None,
    source: str,
    person_id: int,
) -> int:
    """A new draft hazard and its event, inside a write run at once."""
    hazard_id = w.run(
        "INSERT INTO hazards (school_id, building_id, campaign_id, inspection_id, item_id, source,"
        " reported_by, reported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (school_id, building_id, campaign_id, inspection_id, item_id, source, person_id, w.now()),
    )
    w.event(
        person_id,
        "hazard.reported",
        "hazard",
        hazard_id,
        after={"building_id": building_id, "item_id": item_id, "source": source},
    )
    return hazard_id


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


# --- rectifying: the hazard's own changes (fix reports are storage.rectify's) -----


async def _guarded(tx: Tx, sql: str, params: tuple[object, ...]) -> None:
    """A change that must apply to exactly one row, or the tap was stale."""
    if await tx.run(sql, params) != 1:
        raise Stale()


async def mark_unfixable(
    tx: Tx, hazard: Hazard, person_id: int, demolition_due: date, reason: str
) -> None:
    """Cannot be fixed: the building goes out of use until demolished by ``demolition_due``."""
    await _guarded(
        tx,
        "UPDATE hazards SET state = 'unfixable', demolition_due = ?"
        " WHERE id = ? AND state = 'open'",
        (demolition_due.isoformat(), hazard.id),
    )
    old = hazard.deadline.isoformat() if hazard.deadline else None
    # The demolition deadline is a change of deadline like any other: kept with who and why.
    await tx.run(
        "INSERT INTO deadline_changes (hazard_id, old_deadline, new_deadline, reason, asked_by,"
        " asked_at, state, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, ?, 'approved', ?, ?)",
        (
            hazard.id,
            old,
            demolition_due.isoformat(),
            reason,
            person_id,
            tx.now(),
            person_id,
            tx.now(),
        ),
    )
    await tx.event(
        person_id,
        "hazard.unfixable",
        "hazard",
        hazard.id,
        before={"state": "open"},
        after={
            "state": "unfixable",
            "demolition_due": demolition_due.isoformat(),
            "reason": reason,
        },
    )
    if hazard.building_id is not None:
        await campus.set_out_of_use(tx, hazard.building_id, person_id, hazard.id)


async def reassign(tx: Tx, hazard: Hazard, person_id: int, new_id: int, new_name: str) -> None:
    """Another responsible person for an open hazard."""
    await _guarded(
        tx,
        "UPDATE hazards SET responsible_id = ?, responsible_name = ?"
        " WHERE id = ? AND state = 'open'",
        (new_id, new_name, hazard.id),
    )
    await tx.event(
        person_id,
        "hazard.reassigned",
        "hazard",
        hazard.id,
        before={"responsible_id": hazard.responsible_id, "name": hazard.responsible_name},
        after={"responsible_id": new_id, "name": new_name},
    )
