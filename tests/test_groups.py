"""Group chats (issue 11, item 2): the bot works in private chats only.

In a group, supergroup or channel it says so once (per group) and does
nothing else: no form or task list posted there, no group stored as anyone's
chat, nothing of a group's commands applied.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger.clock import FakeClock
from ledger.roles import Role
from storage.db import Database, migrations
from tests.conftest import cli_invitation, make_school
from tests.simulator import BOT_USERNAME, Group, Simulator

PRIVATE_ONLY = "小安只在私聊中工作"


async def test_export_in_a_group_posts_no_form(sim: Simulator) -> None:
    school = await make_school(sim)
    group = Group(sim, -1001234567890)
    said_before = len(school.principal.messages)
    await school.principal.send(f"/export@{BOT_USERNAME}", group=group)
    assert [m.text for m in group.messages] == [
        f"小安只在私聊中工作，不在群组或频道里回答，也不会在这里保存或发送任何内容。"
        f"请直接私聊 @{BOT_USERNAME}。"
    ]
    assert all(m.kind == "text" for m in group.messages)  # no summary form in the group
    assert len(school.principal.messages) == said_before  # nor in the private chat
    assert not [c for c in sim.api.calls if c[0] == "sendDocument"]


async def test_tasks_in_a_group_after_the_notice_gets_silence(sim: Simulator) -> None:
    school = await make_school(sim)
    group = Group(sim, -1001234567891)
    await school.staff.send(f"/tasks@{BOT_USERNAME}", group=group)
    await school.principal.send(f"/tasks@{BOT_USERNAME}", group=group)
    await school.staff.send("/tasks", group=group)
    assert len(group.messages) == 1  # told once, then nothing: no task list in the group
    assert PRIVATE_ONLY in group.messages[0].text
    undone = await sim.db.value("SELECT COUNT(*) FROM inbox WHERE done_at IS NULL")
    assert undone == 0


async def test_start_with_a_code_in_a_group_stores_nothing(sim: Simulator) -> None:
    code = await cli_invitation(sim, Role.TASKFORCE)
    newcomer = sim.chat("李主任")
    group = Group(sim, -4001, kind="group")
    await newcomer.send(f"/start@{BOT_USERNAME} {code}", group=group)
    await newcomer.send("李主任", group=group)
    assert len(group.messages) == 1 and PRIVATE_ONLY in group.messages[0].text
    assert await sim.db.value("SELECT COUNT(*) FROM people") == 0
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0
    assert await sim.db.value("SELECT uses FROM invitations WHERE code = ?", (code,)) == 0
    # The same code still works where it should: in the private chat, stored as such.
    await newcomer.send(f"/start {code}")
    await newcomer.send("李主任")
    await newcomer.contact("13800138000")
    assert await sim.db.value(
        "SELECT chat_id FROM people WHERE tg_user_id = ?", (newcomer.user_id,)
    ) == (newcomer.user_id)


async def test_being_added_to_a_group_says_so_once(sim: Simulator) -> None:
    school = await make_school(sim)
    group = Group(sim, -1009)
    said = await group.added_by(school.principal)
    assert len(said) == 1 and PRIVATE_ONLY in said[0].text
    await school.principal.send(f"/export@{BOT_USERNAME}", group=group)
    assert len(group.messages) == 1
    assert await sim.db.value("SELECT kind FROM group_chats WHERE chat_id = -1009") == "supergroup"


async def test_a_channel_is_told_in_english_to_an_english_admin(sim: Simulator) -> None:
    admin = sim.chat("Ann", "en")
    channel = Group(sim, -1007, kind="channel")
    said = await channel.added_by(admin, status="administrator")
    assert said[0].text.startswith("Xiaoan works in private chats only")


async def test_removing_the_bot_from_a_group_does_not_mark_a_person_blocked(
    sim: Simulator,
) -> None:
    school = await make_school(sim)
    group = Group(sim, -1010)
    said = await group.added_by(school.principal, status="kicked")
    assert said == []  # removed: nothing to say, and nobody to say it to
    blocked = await sim.db.value(
        "SELECT blocked_at FROM people WHERE tg_user_id = ?", (school.principal.user_id,)
    )
    assert blocked is None


async def test_a_tap_on_a_group_message_gets_a_notice_only(sim: Simulator) -> None:
    school = await make_school(sim)
    group = Group(sim, -1011)
    await school.principal.send(f"/help@{BOT_USERNAME}", group=group)
    notice = group.messages[0]
    await school.principal.tap_data("tk:1", notice)
    assert school.principal.alerts[-1] == "小安只在私聊中工作，请直接私聊机器人。"
    assert len(group.messages) == 1


async def test_a_group_stored_as_a_chat_is_put_right_and_refused_from_now_on(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for number, name, sql in [m for m in migrations() if m[0] < 6]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'x')", (number, name))
    # What `/start@bot <code>` in a group left before: the group as the person's chat.
    conn.execute(
        "INSERT INTO people (id, tg_user_id, chat_id, name, phone, joined_at)"
        " VALUES (1, 5001, -1001234, '王', '13800138000', 'x')"
    )
    conn.commit()
    conn.close()
    async with Database(path, clock) as db:
        assert await db.value("SELECT chat_id FROM people WHERE id = 1") == 5001
        with pytest.raises(sqlite3.IntegrityError, match="private chat"):
            async with db.write() as tx:
                await tx.run("UPDATE people SET chat_id = -1001234 WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="private chat"):
            async with db.write() as tx:
                await tx.run(
                    "INSERT INTO people (tg_user_id, chat_id, name, phone, joined_at)"
                    " VALUES (7, -7, 'x', '1', 'x')"
                )
