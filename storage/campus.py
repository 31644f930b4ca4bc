"""Campaigns, schools, buildings and the stored checklist versions."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import date

from ledger.campus import Building, School
from ledger.checklist import Checklist, ChecklistItem
from ledger.errors import Duplicate
from ledger.walk import BuildingState
from storage.db import Query, Reader, Row, Tx


async def ensure_campaign(
    tx: Tx,
    name: str,
    self_inspection: date | None,
    rectification: date | None,
    supervision: date | None,
) -> int:
    """The campaign named in the config, created or its phase dates updated."""
    dates = tuple(
        d.isoformat() if d else None for d in (self_inspection, rectification, supervision)
    )
    row = await tx.one("SELECT * FROM campaigns WHERE name = ?", (name,))
    if row is None:
        campaign_id = await tx.run(
            "INSERT INTO campaigns (name, self_inspection_due, rectification_due,"
            " supervision_due, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, *dates, tx.now()),
        )
        await tx.event(None, "campaign.created", "campaign", campaign_id, after={"name": name})
        return campaign_id
    old = (row["self_inspection_due"], row["rectification_due"], row["supervision_due"])
    if old != dates:
        await tx.run(
            "UPDATE campaigns SET self_inspection_due = ?, rectification_due = ?,"
            " supervision_due = ? WHERE id = ?",
            (*dates, row["id"]),
        )
        await tx.event(
            None,
            "campaign.dates",
            "campaign",
            row["id"],
            before={"dates": old},
            after={"dates": dates},
        )
    return int(row["id"])


async def ensure_checklist(tx: Tx, checklist: Checklist) -> int:
    """Store the checklist as a version unless the same content is stored already."""
    version_id = await tx.value(
        "SELECT id FROM checklist_versions WHERE digest = ?", (checklist.digest,)
    )
    if version_id is not None:
        return int(version_id)
    version_id = await tx.run(
        "INSERT INTO checklist_versions (digest, name, loaded_at) VALUES (?, ?, ?)",
        (checklist.digest, checklist.name, tx.now()),
    )
    for position, item in enumerate(checklist.items):
        await tx.run(
            "INSERT INTO checklist_items (version_id, position, code, category, uses,"
            " built_before, text_zh, text_en) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                version_id,
                position,
                item.code,
                item.category,
                ",".join(item.uses),
                item.built_before,
                item.zh,
                item.en,
            ),
        )
    await tx.event(
        None,
        "checklist.loaded",
        "checklist_version",
        version_id,
        after={"digest": checklist.digest, "items": len(checklist.items)},
    )
    return int(version_id)


def item_of(row: Row) -> ChecklistItem:
    uses = tuple(u for u in row["uses"].split(",") if u)
    return ChecklistItem(
        row["code"], row["category"], row["text_zh"], row["text_en"], uses, row["built_before"]
    )


# The items of each checklist version read so far, per connection (hence per database
# file: item ids belong to their file). A version is content-addressed (its digest) and
# its items are written once with it and never changed: an edited checklist is a new
# version, so a version's items can be kept for the life of the connection.
_ITEMS: weakref.WeakKeyDictionary[object, dict[int, tuple[Row, ...]]] = weakref.WeakKeyDictionary()


async def version_items(db: Reader, version_id: int) -> tuple[Row, ...]:
    """All items of a checklist version, in order: read once per connection."""
    items = _ITEMS.setdefault(db.conn, {}).get(version_id)
    if items is None:
        items = tuple(await db.all(*version_items_query(version_id)))
        keep_items(db, version_id, items)
    return items


def version_items_query(version_id: int) -> Query:
    """The statement ``version_items`` reads: to read with others in one trip, when
    ``items_known`` says it is not read yet (then ``keep_items``)."""
    return ("SELECT * FROM checklist_items WHERE version_id = ? ORDER BY position", (version_id,))


def items_known(db: Reader, version_id: int) -> bool:
    """Whether the version's items are read already on this connection."""
    return version_id in _ITEMS.get(db.conn, {})


def keep_items(db: Reader, version_id: int, items: Sequence[Row]) -> None:
    """Keep a version's items read on this connection, for the life of the connection."""
    # Not a version not written yet (asked again, not remembered empty), nor one
    # read inside a transaction that may still roll back.
    if items and not db.conn.in_transaction:
        _ITEMS.setdefault(db.conn, {})[version_id] = tuple(items)


def items_applying(items: tuple[Row, ...], use: str, year_built: int | None) -> list[Row]:
    """The items that apply to a building of this use and age (read fresh each time:
    an edited building is seen at once)."""
    return [r for r in items if item_of(r).applies_to(use, year_built)]


async def items_for_building(db: Reader, version_id: int, building: Row) -> list[Row]:
    """The checklist items of a version that apply to this building, in order."""
    items = await version_items(db, version_id)
    return items_applying(items, building["use"], building["year_built"])


# --- schools and buildings ---------------------------------------------------


async def school_named(db: Reader, name: str) -> int | None:
    """The id of the school of this name, if one is stored."""
    found = await db.value("SELECT id FROM schools WHERE name = ?", (name,))
    return None if found is None else int(found)


async def building_named(db: Reader, school_id: int, name: str) -> int | None:
    """The id of the school's building of this name, if one is stored."""
    found = await db.value(
        "SELECT id FROM buildings WHERE school_id = ? AND name = ?", (school_id, name)
    )
    return None if found is None else int(found)


async def create_school(
    tx: Tx, *, name: str, kind: str, ownership: str, district: str, actor_id: int | None
) -> int:
    if await tx.value("SELECT 1 FROM schools WHERE name = ?", (name,)):
        raise Duplicate(name=name)
    school_id = await tx.run(
        "INSERT INTO schools (name, kind, ownership, district, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (name, kind, ownership, district, tx.now(), actor_id),
    )
    await tx.event(
        actor_id,
        "school.created",
        "school",
        school_id,
        after={"name": name, "kind": kind, "ownership": ownership, "district": district},
    )
    return school_id


async def school(db: Reader, school_id: int) -> Row | None:
    return await db.one("SELECT * FROM schools WHERE id = ?", (school_id,))


_SCHOOL = "SELECT id, name, kind, ownership, district FROM schools"


def _school(row: Row) -> School:
    return School(row["id"], row["name"], row["kind"], row["ownership"], row["district"])


def school_query(school_id: int) -> Query:
    """The statement ``school_by_id`` reads (to read ahead)."""
    return (_SCHOOL + " WHERE id = ?", (school_id,))


async def school_by_id(db: Reader, school_id: int) -> School | None:
    """The school, typed (``school`` is its row, for the callers still reading rows)."""
    row = await db.one(*school_query(school_id))
    return None if row is None else _school(row)


async def schools_by_name(db: Reader) -> list[School]:
    """Every school, by name."""
    return [_school(row) for row in await db.all(*schools_by_name_query())]


def schools_by_name_query() -> Query:
    return (_SCHOOL + " ORDER BY name", ())


async def create_building(
    tx: Tx,
    *,
    school_id: int,
    name: str,
    use: str,
    floors: int,
    year_built: int | None,
    actor_id: int | None,
) -> int:
    if await tx.value(
        "SELECT 1 FROM buildings WHERE school_id = ? AND name = ?", (school_id, name)
    ):
        raise Duplicate(name=name)
    building_id = await tx.run(
        "INSERT INTO buildings (school_id, name, use, floors, year_built, created_at, created_by)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (school_id, name, use, floors, year_built, tx.now(), actor_id),
    )
    await tx.event(
        actor_id,
        "building.created",
        "building",
        building_id,
        after={
            "school_id": school_id,
            "name": name,
            "use": use,
            "floors": floors,
            "year_built": year_built,
        },
    )
    return building_id


async def building(db: Reader, building_id: int) -> Row | None:
    return await db.one("SELECT * FROM buildings WHERE id = ?", (building_id,))


def members_buildings_list_query(tg_user_id: int) -> Query:
    """``buildings_of`` the schools the person (by Telegram id) is a member of, in the
    order they joined them, in one statement (``buildings_list_from``)."""
    return (
        "SELECT b.id, b.school_id, b.name, b.use, b.floors, b.year_built, b.out_of_use,"
        " b.missed_visit_id FROM buildings b JOIN memberships m ON m.school_id = b.school_id"
        " JOIN people p ON p.id = m.person_id WHERE p.tg_user_id = ?"
        " GROUP BY b.id ORDER BY MIN(m.id), b.name",
        (tg_user_id,),
    )


def buildings_list_from(rows: list[Row]) -> list[Building]:
    return [_building(row) for row in rows]


async def buildings_of(db: Reader, school_ids: Sequence[int]) -> list[Building]:
    """The buildings of these schools, school by school, by name."""
    found: list[Building] = []
    for school_id in school_ids:
        rows = await db.all(_BUILDING + " WHERE school_id = ? ORDER BY name", (school_id,))
        found += map(_building, rows)
    return found


async def building_by_id(db: Reader, building_id: int) -> Building | None:
    """The building, typed (``building`` is its row, for the callers still reading rows)."""
    row = await db.one(*building_query(building_id))
    return None if row is None else _building(row)


def districts_query() -> Query:
    """The districts the schools name (``districts_from``)."""
    return ("SELECT DISTINCT district FROM schools WHERE district != '' ORDER BY district", ())


def districts_from(rows: list[Row]) -> list[str]:
    """The districts read by ``districts_query``, in order."""
    return sorted(str(r["district"]) for r in rows)


async def districts(db: Reader) -> list[str]:
    """The districts the schools name, in order (each once)."""
    return districts_from(await db.all(*districts_query()))


def building_query(building_id: int) -> Query:
    """The statement ``building_by_id`` reads, to read with others (``building_from``)."""
    return (_BUILDING + " WHERE id = ?", (building_id,))


def building_from(rows: list[Row]) -> Building | None:
    return _building(rows[0]) if rows else None


_BUILDING = (
    "SELECT id, school_id, name, use, floors, year_built, out_of_use, missed_visit_id"
    " FROM buildings"
)


def _building(row: Row) -> Building:
    return Building(
        id=row["id"],
        school_id=row["school_id"],
        name=row["name"],
        use=row["use"],
        floors=row["floors"],
        year_built=row["year_built"],
        out_of_use=bool(row["out_of_use"]),
        missed_visit_id=row["missed_visit_id"],
    )


# A school's buildings with their walk in a campaign's current round, and its state.
_WITH_STATE = (
    "SELECT b.*, i.id AS inspection_id, i.closed_at, i.walker_id, i.checklist_version_id,"
    " CASE WHEN i.id IS NULL THEN 'not_started' WHEN i.closed_at IS NULL"
    " THEN 'in_progress' ELSE 'closed' END AS state,"
    " (SELECT COUNT(*) FROM answers a WHERE a.inspection_id = i.id) AS answered"
    " FROM buildings b LEFT JOIN inspections i"
    " ON i.building_id = b.id AND i.campaign_id = ?"
    " AND i.round_id IS (SELECT MAX(r.id) FROM inspection_rounds r"
    " WHERE r.school_id = b.school_id AND r.campaign_id = i.campaign_id)"
    " WHERE {schools} ORDER BY b.name"
)


def buildings_with_state_query(school_id: int, campaign_id: int) -> Query:
    """The school's buildings with their walk in this campaign's current round, and its
    state: the statement, to read with others in one trip."""
    return (_WITH_STATE.format(schools="b.school_id = ?"), (campaign_id, school_id))


def members_buildings_query(tg_user_id: int, campaign_id: int) -> Query:
    """``buildings_with_state_query`` of every school the person is a member of, named by
    their Telegram id (read with the person, before their schools are known)."""
    return (
        _WITH_STATE.format(
            schools="b.school_id IN (SELECT m.school_id FROM memberships m"
            " JOIN people p ON p.id = m.person_id WHERE p.tg_user_id = ?)"
        ),
        (campaign_id, tg_user_id),
    )


async def buildings_with_state(db: Reader, school_id: int, campaign_id: int) -> list[Row]:
    """The school's buildings with their walk in this campaign's current round, and its state."""
    return await db.all(*buildings_with_state_query(school_id, campaign_id))


def state_of(row: Row) -> BuildingState:
    return BuildingState(row["state"])


async def set_out_of_use(tx: Tx, building_id: int, actor_id: int, hazard_id: int) -> None:
    changed = await tx.run(
        "UPDATE buildings SET out_of_use = 1 WHERE id = ? AND out_of_use = 0", (building_id,)
    )
    if changed:
        await tx.event(
            actor_id,
            "building.out_of_use",
            "building",
            building_id,
            before={"out_of_use": False},
            after={"out_of_use": True, "hazard_id": hazard_id},
        )
