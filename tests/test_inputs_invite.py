"""Who invites whom: a leader invites staff only; the principal invites leaders (issue 11.4)."""

from __future__ import annotations

import sqlite3

from ledger.roles import Role
from storage import people
from storage.db import Database, migrations
from tests.conftest import join, link_code, make_school
from tests.simulator import Chat, Simulator, texts


async def _leader(sim: Simulator, principal_chat: Chat) -> Chat:
    """A leader, invited by the principal in chat."""
    await principal_chat.send("/invite")
    await principal_chat.tap("分管领导")
    await principal_chat.tap("7 天")
    made = await principal_chat.tap("1 人")
    return await join(sim, link_code(made[-1].text), "李主任")


async def test_a_leader_is_offered_staff_only(sim: Simulator) -> None:
    school = await make_school(sim)
    leader = await _leader(sim, school.principal)
    said = await leader.send("/invite")
    labels = [label for row in said[-1].buttons for label, _ in row]
    assert labels == ["教职工"]
    await leader.tap("教职工")
    await leader.tap("7 天")
    made = await leader.tap("1 人")
    assert "教职工" in made[-1].text
    assert await sim.db.value(
        "SELECT role FROM invitations WHERE code = ?", (link_code(made[-1].text),)
    ) == ("staff")


async def test_a_leaders_forged_leader_choice_is_refused(sim: Simulator) -> None:
    school = await make_school(sim)
    leader = await _leader(sim, school.principal)
    await leader.send("/invite")
    before = await sim.db.value("SELECT COUNT(*) FROM invitations")
    said = await leader.tap_data("f:invite:role:leader")
    assert leader.alerts[-1] == "您没有权限进行此操作。"
    assert await sim.db.value("SELECT COUNT(*) FROM invitations") == before
    # The form still waits for a role, and nothing of it was filled in.
    assert await people.pending(sim.db, leader.user_id) == ("form:invite", {"school": 1})
    assert "分管领导" not in texts(said)


async def test_the_principal_invites_leaders_and_staff(sim: Simulator) -> None:
    school = await make_school(sim)
    said = await school.principal.send("/invite")
    labels = [label for row in said[-1].buttons for label, _ in row]
    assert labels == ["分管领导", "教职工"]
    leader = await _leader(sim, school.principal)
    roles = await sim.db.all(
        "SELECT m.role FROM memberships m JOIN people p ON p.id = m.person_id"
        " WHERE p.tg_user_id = ?",
        (leader.user_id,),
    )
    assert [r["role"] for r in roles] == ["leader"]


async def test_a_leader_neither_lists_nor_revokes_a_leader_invitation(sim: Simulator) -> None:
    school = await make_school(sim)
    leader = await _leader(sim, school.principal)
    await school.principal.send("/invite")
    await school.principal.tap("分管领导")
    await school.principal.tap("30 天")
    made = await school.principal.tap("10 人")
    code = link_code(made[-1].text)
    invitation_id = await sim.db.value("SELECT id FROM invitations WHERE code = ?", (code,))
    said = await leader.send("/invitations")
    assert code not in texts(said)
    await leader.tap_data(f"rv:{invitation_id}")
    assert leader.alerts[-1] == "您没有权限进行此操作。"
    assert (
        await sim.db.value("SELECT revoked_at FROM invitations WHERE id = ?", (invitation_id,))
        is None
    )
    # The principal sees it and may revoke it.
    said = await school.principal.send("/invitations")
    assert code in texts(said)
    await school.principal.tap(f"撤销 {code}")
    assert (
        await sim.db.value("SELECT revoked_by FROM invitations WHERE id = ?", (invitation_id,))
        is not None
    )


async def test_migration_0007_revokes_leader_invitations_made_by_leaders(tmp_path, clock) -> None:
    """Codes a leader made for leaders before the rule stop working; the principal's do not."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for number, name, sql in [m for m in migrations() if m[0] < 7]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'x')", (number, name))
    conn.executescript(
        "INSERT INTO people (id, tg_user_id, chat_id, name, phone, joined_at) VALUES"
        " (1, 5, 5, '校长', '1', 'x'), (2, 6, 6, '主任', '1', 'x');"
        "INSERT INTO schools VALUES (1, '小学', 'primary', 'public', '', 'x', 1);"
        "INSERT INTO memberships (person_id, school_id, role, created_at) VALUES"
        " (1, 1, 'principal', 'x'), (2, 1, 'leader', 'x');"
        "INSERT INTO invitations (id, code, role, school_id, created_by, created_at, expires_at,"
        " max_uses) VALUES"
        " (1, 'byleader', 'leader', 1, 2, 'x', '2099-01-01T00:00:00+00:00', 5),"
        " (2, 'staffbyleader', 'staff', 1, 2, 'x', '2099-01-01T00:00:00+00:00', 5),"
        " (3, 'byprincipal', 'leader', 1, 1, 'x', '2099-01-01T00:00:00+00:00', 5),"
        " (4, 'bycli', 'leader', 1, NULL, 'x', '2099-01-01T00:00:00+00:00', 5);"
    )
    conn.commit()
    conn.close()
    async with Database(path, clock) as db:
        rows = await db.all("SELECT code, revoked_at FROM invitations ORDER BY id")
        revoked = {r["code"]: r["revoked_at"] is not None for r in rows}
        assert revoked == {
            "byleader": True,
            "staffbyleader": False,
            "byprincipal": False,
            "bycli": False,
        }
        event = await db.one("SELECT * FROM events WHERE action = 'invitation.revoked'")
        assert (event["subject_id"], event["actor_id"]) == (1, None)


async def test_a_leader_invitation_made_by_a_leader_no_longer_joins(sim: Simulator) -> None:
    """Written as the old bot left it: the code is refused once the migration ran."""
    school = await make_school(sim)
    leader = await _leader(sim, school.principal)
    leader_id = await sim.db.value("SELECT id FROM people WHERE tg_user_id = ?", (leader.user_id,))
    async with sim.db.write() as tx:
        code = await people.create_invitation(
            tx,
            role=Role.LEADER,
            school_id=school.school_id,
            created_by=leader_id,
            days=7,
            max_uses=1,
        )
    await sim.stop()
    conn = sqlite3.connect(sim.folder / "xiaoan.sqlite3")
    conn.execute("DELETE FROM schema_migrations WHERE version = 7")
    conn.commit()
    conn.close()
    await sim.start()
    second = sim.chat("李主任小号")
    said = await second.send(f"/start {code}")
    assert "邀请码已被撤销" in said[-1].text
