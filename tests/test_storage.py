"""storage: the database, the inbox, invitations, pending input, schools and buildings."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest

from ledger.checklist import load_checklist
from ledger.errors import Duplicate, InvitationInvalid
from ledger.roles import Role
from storage import campus, inbox, people
from storage.db import BUSY_TIMEOUT_MS, Database, migrations

MIGRATION = Path(__file__).resolve().parents[1] / "storage" / "migrations" / "0001_init.sql"


class Boom(Exception):
    """Raised inside a transaction to make it fail."""


async def pragma(conn, name: str):
    async with conn.execute(f"PRAGMA {name}") as cur:
        return (await cur.fetchone())[0]


async def add_person(db: Database, tg_user_id: int = 1001, name: str = "王老师") -> int:
    async with db.write() as tx:
        return await people.create_person(
            tx,
            tg_user_id=tg_user_id,
            chat_id=tg_user_id,
            name=name,
            phone="13800138000",
            language="zh",
        )


async def add_school(db: Database, name: str = "实验小学") -> int:
    async with db.write() as tx:
        return await campus.create_school(
            tx, name=name, kind="primary", ownership="public", district="城关镇", actor_id=None
        )


async def count(db: Database, table: str) -> int:
    return int(await db.value(f"SELECT COUNT(*) FROM {table}"))  # noqa: S608


# --- the database -----------------------------------------------------------------


@pytest.mark.parametrize("which", ["_writer", "conn"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("journal_mode", "wal"),
        ("foreign_keys", 1),
        ("synchronous", 2),  # FULL
        ("busy_timeout", BUSY_TIMEOUT_MS),
    ],
)
async def test_pragmas_on_both_connections(fresh_db, which, name, expected):
    """WAL, foreign keys, synchronous=FULL and a busy timeout on writer and reader alike."""
    conn = getattr(fresh_db, which)
    assert await pragma(conn, name) == expected


async def test_reader_and_writer_are_different_connections(fresh_db):
    assert fresh_db.conn is not fresh_db._writer


async def test_migrations_applied_once(fresh_db):
    """Opening applies every migration; migrating again applies nothing."""
    rows = await fresh_db.all("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(r["version"], r["name"]) for r in rows] == [(n, name) for n, name, _ in migrations()]
    assert rows[0]["name"] == "0001_init.sql"
    assert await fresh_db.migrate() == []
    assert await count(fresh_db, "schema_migrations") == len(rows)


async def test_reopening_an_existing_database_applies_nothing(tmp_path, clock):
    """A second start on the same file keeps the data and applies no migration again."""
    path = tmp_path / "again.sqlite3"
    async with Database(path, clock) as db:
        await add_school(db)
    async with Database(path, clock) as db:
        assert await db.migrate() == []
        assert await count(db, "schools") == 1


async def test_migrations_stamp_the_clock(fresh_db, clock):
    """The applied_at time comes from the injected clock, not the system clock."""
    stamp = await fresh_db.value("SELECT applied_at FROM schema_migrations WHERE version = 1")
    assert stamp == clock.now().isoformat(timespec="seconds")


def tables_in_migration() -> list[str]:
    return re.findall(r"CREATE TABLE (\w+)", MIGRATION.read_text(encoding="utf-8"))


def test_migration_file_names_tables():
    """Guard for the test below: the regular expression finds the schema's tables."""
    assert {"events", "inbox", "hazards", "people"} <= set(tables_in_migration())


@pytest.mark.parametrize("table", tables_in_migration())
async def test_every_table_exists(fresh_db, table):
    found = await fresh_db.value(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    assert found == table


async def test_events_are_append_only(fresh_db):
    """An event row can be added but never changed or removed."""
    async with fresh_db.write() as tx:
        await tx.event(None, "test.happened", "test", 1, before={"a": 1}, after={"a": 2})
    row = await fresh_db.one("SELECT * FROM events WHERE action = 'test.happened'")
    assert json.loads(row["before"]) == {"a": 1}
    assert json.loads(row["after"]) == {"a": 2}
    for sql in ("UPDATE events SET action = 'changed'", "DELETE FROM events"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            async with fresh_db.write() as tx:
                await tx.run(sql)
    assert await fresh_db.value("SELECT COUNT(*) FROM events WHERE action = 'changed'") == 0
    assert (
        await fresh_db.value("SELECT action FROM events WHERE id = ?", (row["id"],))
        == "test.happened"
    )


async def test_failing_transaction_rolls_back_everything(fresh_db):
    """An exception inside write() undoes every change made in it, events included."""
    events_before = await count(fresh_db, "events")
    with pytest.raises(Boom):
        async with fresh_db.write() as tx:
            await campus.create_school(
                tx, name="一中", kind="middle", ownership="public", district="", actor_id=None
            )
            await tx.event(None, "test.happened", "test", 1)
            raise Boom
    assert await count(fresh_db, "schools") == 0
    assert await count(fresh_db, "events") == events_before
    # The writer is usable again afterwards.
    await add_school(fresh_db, "二中")
    assert await count(fresh_db, "schools") == 1


async def test_failing_sql_rolls_back_earlier_statements(fresh_db):
    """A constraint failure half-way also undoes the statements before it."""
    with pytest.raises(sqlite3.IntegrityError):
        async with fresh_db.write() as tx:
            await tx.run(
                "INSERT INTO schools (name, kind, ownership, created_at) VALUES (?, ?, ?, ?)",
                ("一中", "middle", "public", tx.now()),
            )
            await tx.run(
                "INSERT INTO schools (name, kind, ownership, created_at) VALUES (?, ?, ?, ?)",
                ("二中", "middle", "state-owned", tx.now()),  # violates the CHECK
            )
    assert await count(fresh_db, "schools") == 0


async def test_foreign_keys_are_enforced(fresh_db):
    """A building of a school that does not exist is refused."""
    with pytest.raises(sqlite3.IntegrityError):
        async with fresh_db.write() as tx:
            await tx.run(
                "INSERT INTO buildings (school_id, name, use, floors, created_at)"
                " VALUES (999, 'A', 'teaching', 3, ?)",
                (tx.now(),),
            )


async def test_run_returns_row_id_or_count(fresh_db):
    first = await add_school(fresh_db, "一中")
    second = await add_school(fresh_db, "二中")
    assert second == first + 1
    async with fresh_db.write() as tx:
        changed = await tx.run("UPDATE schools SET district = 'x'")
    assert changed == 2


async def test_insert_turned_into_nothing_returns_zero(fresh_db):
    """An INSERT a conflict skipped returns 0, not the id of the previous insert."""
    async with fresh_db.write() as tx:
        first = await tx.run(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (tx.now(),),
        )
        await tx.event(None, "test.happened", "test", 1)  # moves sqlite's last row id
        again = await tx.run(
            "INSERT INTO inbox (update_id, payload, received_at) VALUES (1, '{}', ?)"
            " ON CONFLICT (update_id) DO NOTHING",
            (tx.now(),),
        )
    assert first == 1
    assert again == 0


async def test_write_with_update_id_marks_inbox_done(fresh_db, clock):
    """The update's effects and its being done commit in the same transaction."""
    await inbox.receive(fresh_db, [{"update_id": 5, "message": {"text": "hi"}}])
    assert not await inbox.is_done(fresh_db, 5)
    async with fresh_db.write(update_id=5) as tx:
        await campus.create_school(
            tx, name="一中", kind="middle", ownership="public", district="", actor_id=None
        )
    assert await inbox.is_done(fresh_db, 5)
    done_at = await fresh_db.value("SELECT done_at FROM inbox WHERE update_id = 5")
    assert done_at == clock.now().isoformat(timespec="seconds")
    assert await inbox.undone(fresh_db) == []


async def test_rolled_back_update_stays_undone(fresh_db):
    """When applying an update fails, it is neither applied nor marked done."""
    await inbox.receive(fresh_db, [{"update_id": 6}])
    with pytest.raises(Boom):
        async with fresh_db.write(update_id=6) as tx:
            await campus.create_school(
                tx, name="一中", kind="middle", ownership="public", district="", actor_id=None
            )
            raise Boom
    assert not await inbox.is_done(fresh_db, 6)
    assert await inbox.undone(fresh_db) == [{"update_id": 6}]
    assert await count(fresh_db, "schools") == 0


async def test_done_update_is_not_marked_again(fresh_db, clock):
    """A second transaction for the same update keeps the first done_at."""
    await inbox.receive(fresh_db, [{"update_id": 7}])
    async with fresh_db.write(update_id=7):
        pass
    first = await fresh_db.value("SELECT done_at FROM inbox WHERE update_id = 7")
    clock.advance(minutes=5)
    async with fresh_db.write(update_id=7):
        pass
    assert await fresh_db.value("SELECT done_at FROM inbox WHERE update_id = 7") == first


# --- the inbox -------------------------------------------------------------------


async def test_receive_twice_stores_once(fresh_db):
    """An update delivered twice is stored once, with its first payload."""
    await inbox.receive(fresh_db, [{"update_id": 1, "message": {"text": "一"}}])
    await inbox.receive(
        fresh_db, [{"update_id": 1, "message": {"text": "changed"}}, {"update_id": 2}]
    )
    assert await count(fresh_db, "inbox") == 2
    assert await inbox.undone(fresh_db) == [
        {"update_id": 1, "message": {"text": "一"}},
        {"update_id": 2},
    ]


async def test_receive_nothing_writes_nothing(fresh_db):
    await inbox.receive(fresh_db, [])
    assert await count(fresh_db, "inbox") == 0


async def test_undone_in_update_order_and_mark_done(fresh_db):
    """Undone updates come back oldest first; marked ones drop out."""
    await inbox.receive(fresh_db, [{"update_id": n} for n in (30, 10, 20)])
    assert [u["update_id"] for u in await inbox.undone(fresh_db)] == [10, 20, 30]
    await inbox.mark_done(fresh_db, 20, error="ValueError()")
    assert [u["update_id"] for u in await inbox.undone(fresh_db)] == [10, 30]
    assert await inbox.is_done(fresh_db, 20)
    assert await fresh_db.value("SELECT error FROM inbox WHERE update_id = 20") == "ValueError()"


async def test_mark_done_keeps_the_first_outcome(fresh_db):
    await inbox.receive(fresh_db, [{"update_id": 1}])
    await inbox.mark_done(fresh_db, 1)
    await inbox.mark_done(fresh_db, 1, error="late error")
    assert await fresh_db.value("SELECT error FROM inbox WHERE update_id = 1") is None


async def test_is_done_for_unknown_update(fresh_db):
    assert not await inbox.is_done(fresh_db, 12345)


async def test_prune_forgets_only_old_done_updates(fresh_db, clock):
    """Prune removes applied updates received before the time; undone ones stay."""
    await inbox.receive(fresh_db, [{"update_id": 1}, {"update_id": 2}])
    clock.advance(days=2)
    await inbox.receive(fresh_db, [{"update_id": 3}])
    for n in (1, 3):
        await inbox.mark_done(fresh_db, n)
    cutoff = (clock.now() - timedelta(days=1)).isoformat(timespec="seconds")
    assert await inbox.prune(fresh_db, cutoff) == 1
    remaining = [r[0] for r in await fresh_db.all("SELECT update_id FROM inbox ORDER BY 1")]
    assert remaining == [2, 3]  # 2 is old but not done; 3 is done but recent


# --- invitations ------------------------------------------------------------------


async def invite(db: Database, role=Role.STAFF, school_id=None, days=7, uses=1) -> str:
    async with db.write() as tx:
        return await people.create_invitation(
            tx, role=role, school_id=school_id, created_by=None, days=days, max_uses=uses
        )


async def test_new_invitation_is_usable(fresh_db, clock):
    school_id = await add_school(fresh_db)
    code = await invite(fresh_db, Role.PRINCIPAL, school_id)
    row = await people.usable_invitation(fresh_db, code, clock.now())
    assert row.role == "principal"
    assert row.school_name == "实验小学"
    assert row.uses == 0
    # Surrounding spaces from a pasted code do not matter.
    assert (await people.usable_invitation(fresh_db, f"  {code}\n", clock.now())).id == row.id


async def test_invitation_creation_is_logged(fresh_db):
    await invite(fresh_db, Role.TASKFORCE)
    action = await fresh_db.value("SELECT action FROM events WHERE subject = 'invitation'")
    assert action == "invitation.created"


async def expect_reason(db: Database, code: str, now, reason: str) -> None:
    with pytest.raises(InvitationInvalid) as caught:
        await people.usable_invitation(db, code, now)
    assert caught.value.params == {"reason": reason}


async def test_unknown_code(fresh_db, clock):
    await expect_reason(fresh_db, "NoSuchCode1", clock.now(), "unknown")


async def test_expired_code(fresh_db, clock):
    """A 7-day code is refused as expired 8 days later."""
    code = await invite(fresh_db, Role.TASKFORCE, days=7)
    clock.advance(days=6, hours=23)
    await people.usable_invitation(fresh_db, code, clock.now())
    clock.advance(days=2)
    await expect_reason(fresh_db, code, clock.now(), "expired")


async def test_used_up_code(fresh_db, clock):
    """A code for two people works twice, then is used up."""
    code = await invite(fresh_db, Role.TASKFORCE, uses=2)
    for tg in (1, 2):
        person_id = await add_person(fresh_db, tg_user_id=tg)
        async with fresh_db.write() as tx:
            row = await people.use_invitation(tx, code, person_id)
        assert row.uses == tg - 1
    await expect_reason(fresh_db, code, clock.now(), "used_up")
    assert await fresh_db.value("SELECT uses FROM invitations WHERE code = ?", (code,)) == 2


async def test_use_invitation_rechecks_inside_the_transaction(fresh_db):
    """Using a used-up code raises inside the transaction, which then changes nothing."""
    code = await invite(fresh_db, Role.TASKFORCE, uses=1)
    first = await add_person(fresh_db, tg_user_id=1)
    second = await add_person(fresh_db, tg_user_id=2)
    async with fresh_db.write() as tx:
        await people.use_invitation(tx, code, first)
    with pytest.raises(InvitationInvalid):
        async with fresh_db.write() as tx:
            await people.use_invitation(tx, code, second)
    assert await fresh_db.value("SELECT uses FROM invitations WHERE code = ?", (code,)) == 1


async def test_revoked_code_and_revoking_twice(fresh_db, clock):
    """Revoking works once; the second time reports nothing changed."""
    actor = await add_person(fresh_db)
    code = await invite(fresh_db, Role.TASKFORCE, uses=5)
    invitation_id = await fresh_db.value("SELECT id FROM invitations WHERE code = ?", (code,))
    async with fresh_db.write() as tx:
        assert await people.revoke_invitation(tx, invitation_id, actor) is True
    async with fresh_db.write() as tx:
        assert await people.revoke_invitation(tx, invitation_id, actor) is False
    await expect_reason(fresh_db, code, clock.now(), "revoked")
    revokes = await fresh_db.value(
        "SELECT COUNT(*) FROM events WHERE action = 'invitation.revoked'"
    )
    assert revokes == 1


async def test_revoked_beats_expired(fresh_db, clock):
    actor = await add_person(fresh_db)
    code = await invite(fresh_db, Role.TASKFORCE)
    invitation_id = await fresh_db.value("SELECT id FROM invitations WHERE code = ?", (code,))
    async with fresh_db.write() as tx:
        await people.revoke_invitation(tx, invitation_id, actor)
    clock.advance(days=8)
    await expect_reason(fresh_db, code, clock.now(), "revoked")


async def test_invitations_for_lists_only_usable(fresh_db, clock):
    """The list of open invitations leaves out revoked, used up and expired ones."""
    actor = await add_person(fresh_db)
    school_id = await add_school(fresh_db)
    keep = await invite(fresh_db, Role.STAFF, school_id, days=30)
    short = await invite(fresh_db, Role.STAFF, school_id, days=1)
    revoked = await invite(fresh_db, Role.STAFF, school_id)
    await invite(fresh_db, Role.TASKFORCE)  # a city invitation, not the school's
    revoked_id = await fresh_db.value("SELECT id FROM invitations WHERE code = ?", (revoked,))
    async with fresh_db.write() as tx:
        await people.revoke_invitation(tx, revoked_id, actor)
    rows = await people.invitations_for(fresh_db, school_id, clock.now())
    assert {r.code for r in rows} == {keep, short}
    clock.advance(days=2)
    rows = await people.invitations_for(fresh_db, school_id, clock.now())
    assert [r.code for r in rows] == [keep]
    city = await people.invitations_for(fresh_db, None, clock.now())
    assert [r.role for r in city] == ["taskforce"]


# --- people and memberships ---------------------------------------------------------


async def test_person_with_memberships(fresh_db):
    school_id = await add_school(fresh_db)
    person_id = await add_person(fresh_db, tg_user_id=42)
    async with fresh_db.write() as tx:
        assert await people.add_membership(
            tx, person_id=person_id, school_id=school_id, role=Role.STAFF, invitation_id=None
        )
        assert not await people.add_membership(
            tx, person_id=person_id, school_id=school_id, role=Role.STAFF, invitation_id=None
        )
        assert await people.add_membership(
            tx, person_id=person_id, school_id=None, role=Role.SUPERVISOR, invitation_id=None
        )
        assert not await people.add_membership(
            tx, person_id=person_id, school_id=None, role=Role.SUPERVISOR, invitation_id=None
        )
    found = await people.person_by_tg(fresh_db, 42)
    assert found is not None
    assert [(m.role, m.school_id, m.school_name) for m in found.memberships] == [
        (Role.STAFF, school_id, "实验小学"),
        (Role.SUPERVISOR, None, None),
    ]
    assert await people.person_by_id(fresh_db, person_id) == found
    assert await people.person_by_tg(fresh_db, 43) is None
    assert await people.chat_of(fresh_db, person_id) == 42


# --- pending input ----------------------------------------------------------------


async def test_pending_set_get_clear(fresh_db):
    """What the bot waits for is stored per user, replaced by the next, and cleared."""
    assert await people.pending(fresh_db, 7) is None
    async with fresh_db.write() as tx:
        await people.set_pending(tx, 7, "building.name", {"school_id": 1, "名": "楼"})
    assert await people.pending(fresh_db, 7) == ("building.name", {"school_id": 1, "名": "楼"})
    async with fresh_db.write() as tx:
        await people.set_pending(tx, 7, "building.floors", {"name": "A"})
        await people.set_pending(tx, 8, "join.name", {})
    assert await people.pending(fresh_db, 7) == ("building.floors", {"name": "A"})
    async with fresh_db.write() as tx:
        await people.clear_pending(tx, 7)
        await people.clear_pending(tx, 7)  # clearing nothing is fine
    assert await people.pending(fresh_db, 7) is None
    assert await people.pending(fresh_db, 8) == ("join.name", {})


# --- schools, buildings, checklist, campaign ------------------------------------------


async def test_create_school_duplicate_name(fresh_db):
    await add_school(fresh_db, "实验小学")
    with pytest.raises(Duplicate) as caught:
        await add_school(fresh_db, "实验小学")
    assert caught.value.params == {"name": "实验小学"}
    assert await count(fresh_db, "schools") == 1


async def test_create_school_is_logged(fresh_db):
    school_id = await add_school(fresh_db)
    row = await fresh_db.one("SELECT * FROM events WHERE action = 'school.created'")
    assert row["subject_id"] == school_id
    assert json.loads(row["after"])["name"] == "实验小学"
    assert (await campus.school(fresh_db, school_id))["district"] == "城关镇"
    assert await campus.school(fresh_db, school_id + 100) is None


async def make_building(db: Database, school_id: int, name: str, actor: int, **kw) -> int:
    async with db.write() as tx:
        return await campus.create_building(
            tx,
            school_id=school_id,
            name=name,
            use=kw.get("use", "teaching"),
            floors=kw.get("floors", 4),
            year_built=kw.get("year_built", 2005),
            actor_id=actor,
        )


async def test_create_building_duplicates(fresh_db):
    """A name is unique within a school, not across schools."""
    actor = await add_person(fresh_db)
    one = await add_school(fresh_db, "一中")
    two = await add_school(fresh_db, "二中")
    first = await make_building(fresh_db, one, "教学楼A", actor)
    with pytest.raises(Duplicate) as caught:
        await make_building(fresh_db, one, "教学楼A", actor)
    assert caught.value.params == {"name": "教学楼A"}
    other = await make_building(fresh_db, two, "教学楼A", actor)
    assert other != first
    assert (await campus.building(fresh_db, other))["school_id"] == two
    assert await count(fresh_db, "buildings") == 2


async def test_ensure_checklist_is_idempotent(fresh_db):
    """The same checklist content is stored once; its version id is reused."""
    checklist = load_checklist()
    async with fresh_db.write() as tx:
        first = await campus.ensure_checklist(tx, checklist)
    async with fresh_db.write() as tx:
        second = await campus.ensure_checklist(tx, checklist)
    assert first == second
    assert await count(fresh_db, "checklist_versions") == 1
    assert await count(fresh_db, "checklist_items") == 23
    loaded = await fresh_db.value("SELECT COUNT(*) FROM events WHERE action = 'checklist.loaded'")
    assert loaded == 1


async def test_stored_checklist_round_trips(fresh_db):
    """Items read back from the database equal the file's, in order."""
    checklist = load_checklist()
    async with fresh_db.write() as tx:
        version_id = await campus.ensure_checklist(tx, checklist)
    rows = await fresh_db.all(
        "SELECT * FROM checklist_items WHERE version_id = ? ORDER BY position", (version_id,)
    )
    assert tuple(campus.item_of(r) for r in rows) == checklist.items


async def test_edited_checklist_is_a_new_version(fresh_db, tmp_path):
    checklist = load_checklist()
    path = tmp_path / "edited.toml"
    from ledger.checklist import DEFAULT_PATH

    path.write_text(
        DEFAULT_PATH.read_text(encoding="utf-8").replace("消防车通道畅通", "消防车道畅通"),
        encoding="utf-8",
    )
    async with fresh_db.write() as tx:
        first = await campus.ensure_checklist(tx, checklist)
        second = await campus.ensure_checklist(tx, load_checklist(path))
    assert first != second
    assert await count(fresh_db, "checklist_items") == 46


@pytest.mark.parametrize(
    ("use", "year_built", "expected"),
    [("teaching", 2005, 19), ("canteen", 1990, 21), ("laboratory", None, 20)],
)
async def test_items_for_building(fresh_db, use, year_built, expected):
    """The stored version filters by the building's use and age like the file does."""
    actor = await add_person(fresh_db)
    school_id = await add_school(fresh_db)
    building_id = await make_building(
        fresh_db, school_id, "楼", actor, use=use, year_built=year_built
    )
    async with fresh_db.write() as tx:
        version_id = await campus.ensure_checklist(tx, load_checklist())
    building = await campus.building(fresh_db, building_id)
    items = await campus.items_for_building(fresh_db, version_id, building)
    assert len(items) == expected
    assert [r["position"] for r in items] == sorted(r["position"] for r in items)


async def test_ensure_campaign_creates_then_updates_dates(fresh_db):
    """The campaign is created once; changed phase dates are updated and logged."""
    dates = (date(2027, 3, 30), date(2027, 5, 31), date(2027, 6, 15))
    async with fresh_db.write() as tx:
        first = await campus.ensure_campaign(tx, "回头看", *dates)
    async with fresh_db.write() as tx:
        again = await campus.ensure_campaign(tx, "回头看", *dates)
    assert again == first
    assert await fresh_db.value("SELECT COUNT(*) FROM events WHERE action = 'campaign.dates'") == 0

    async with fresh_db.write() as tx:
        moved = await campus.ensure_campaign(tx, "回头看", dates[0], date(2027, 6, 30), None)
    assert moved == first
    row = await fresh_db.one("SELECT * FROM campaigns WHERE id = ?", (first,))
    assert (row["self_inspection_due"], row["rectification_due"], row["supervision_due"]) == (
        "2027-03-30",
        "2027-06-30",
        None,
    )
    event = await fresh_db.one("SELECT * FROM events WHERE action = 'campaign.dates'")
    assert event["subject_id"] == first
    assert json.loads(event["before"]) == {"dates": ["2027-03-30", "2027-05-31", "2027-06-15"]}
    assert json.loads(event["after"]) == {"dates": ["2027-03-30", "2027-06-30", None]}
    assert await count(fresh_db, "campaigns") == 1


async def test_another_campaign_is_a_new_row(fresh_db):
    async with fresh_db.write() as tx:
        first = await campus.ensure_campaign(tx, "2027 春", None, None, None)
        second = await campus.ensure_campaign(tx, "2027 秋", None, None, None)
    assert first != second


async def test_buildings_with_state_not_started(fresh_db):
    actor = await add_person(fresh_db)
    school_id = await add_school(fresh_db)
    await make_building(fresh_db, school_id, "B楼", actor)
    await make_building(fresh_db, school_id, "A楼", actor)
    async with fresh_db.write() as tx:
        campaign_id = await campus.ensure_campaign(tx, "回头看", None, None, None)
    rows = await campus.buildings_with_state(fresh_db, school_id, campaign_id)
    assert [r["name"] for r in rows] == ["A楼", "B楼"]
    assert {campus.state_of(r).value for r in rows} == {"not_started"}


async def test_set_out_of_use_logs_once(fresh_db):
    """Taking a building out of use twice records one event."""
    actor = await add_person(fresh_db)
    school_id = await add_school(fresh_db)
    building_id = await make_building(fresh_db, school_id, "危楼", actor)
    # A hazard id for the event; the events table does not reference hazards.
    for _ in range(2):
        async with fresh_db.write() as tx:
            await campus.set_out_of_use(tx, building_id, actor, hazard_id=1)
    assert (await campus.building(fresh_db, building_id))["out_of_use"] == 1
    logged = await fresh_db.value(
        "SELECT COUNT(*) FROM events WHERE action = 'building.out_of_use'"
    )
    assert logged == 1


async def test_rectification_migration_keeps_hazards_and_photos(tmp_path, clock):
    """A database made before rectification existed keeps every hazard and photo."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(MIGRATION.read_text(encoding="utf-8"))
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 'x')")
        conn.executescript(
            "INSERT INTO campaigns (id, name, created_at) VALUES (1, 'c', 't');"
            "INSERT INTO schools (id, name, kind, ownership, created_at)"
            " VALUES (1, 's', 'primary', 'public', 't');"
            "INSERT INTO buildings (id, school_id, name, use, floors, created_at)"
            " VALUES (1, 1, 'b', 'teaching', 3, 't');"
            "INSERT INTO people (id, tg_user_id, chat_id, name, phone, joined_at)"
            " VALUES (1, 9, 9, 'p', '13800138000', 't');"
            "INSERT INTO hazards (id, school_id, building_id, campaign_id, source, reported_by,"
            " reported_at, description, state) VALUES (7, 1, 1, 1, 'walk', 1, 't', 'd', 'open');"
            "INSERT INTO photos (hazard_id, sha256, width, height, bytes, uploaded_by,"
            " uploaded_at) VALUES (7, 'abc', 1, 1, 1, 1, 't');"
        )
    async with Database(path, clock) as db:
        assert await db.value("SELECT description FROM hazards WHERE id = 7") == "d"
        assert await db.value("SELECT hazard_id FROM photos") == 7
        assert await pragma(db.conn, "foreign_keys") == 1
        async with db.write() as tx:
            await tx.run("UPDATE hazards SET state = 'submitted' WHERE id = 7")
        with pytest.raises(sqlite3.IntegrityError):
            async with db.write() as tx:
                await tx.run("UPDATE hazards SET state = 'lost' WHERE id = 7")
        with pytest.raises(sqlite3.IntegrityError):
            async with db.write() as tx:
                await tx.run("DELETE FROM hazards WHERE id = 7")
