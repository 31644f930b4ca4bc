"""The page's "who am I": the bot's own database read for a local person's roles (item 21)."""

from __future__ import annotations

from pathlib import Path

from bot.local import BotDirectory
from ledger.clock import FakeClock
from ledger.roles import Role
from storage.campus import create_school
from storage.db import Database
from storage.people import add_membership, create_person

LOCAL_ID = 700_000_001


async def test_roles_and_schools_in_the_persons_language(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "xiaoan.sqlite3"
    db = await Database(path, clock).open()
    try:
        async with db.write() as tx:
            school = await create_school(
                tx, name="演示小学", kind="primary", ownership="public", district="d", actor_id=None
            )
            person = await create_person(
                tx, tg_user_id=LOCAL_ID, chat_id=LOCAL_ID, name="王", phone="1", language="zh"
            )
            await add_membership(
                tx, person_id=person, school_id=school, role=Role.PRINCIPAL, invitation_id=None
            )
            await add_membership(
                tx, person_id=person, school_id=None, role=Role.TASKFORCE, invitation_id=None
            )
    finally:
        await db.close()
    directory = BotDirectory(path)
    assert await directory(LOCAL_ID, "zh-CN") == ["主要负责人 · 演示小学", "市专班 · 市级"]
    english = await directory(LOCAL_ID, "en")
    assert english[0] == "principal · 演示小学" and english[1].startswith("task force · ")
    assert await directory(LOCAL_ID + 1, "zh") == []  # joined the chat, not (yet) the bot


async def test_no_database_or_not_the_bots_says_nothing(tmp_path: Path) -> None:
    assert await BotDirectory(tmp_path / "missing.sqlite3")(LOCAL_ID, "zh") == []
    other = tmp_path / "other.sqlite3"
    other.write_bytes(b"not a database at all, just bytes" * 10)
    assert await BotDirectory(other)(LOCAL_ID, "zh") == []
