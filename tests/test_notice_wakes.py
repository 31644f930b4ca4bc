"""A notice queued in a transaction wakes the sender once that transaction commits, by
itself: not before the commit, not when it rolls back, not for a key already queued, and
no handler wakes it by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import outbox, people
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent


async def _person(db: Database) -> int:
    async with db.write() as tx:
        return await people.create_person(
            tx, tg_user_id=7, chat_id=7, name="王老师", phone="13800000000", language="zh"
        )


async def test_a_notice_wakes_the_sender_after_its_commit(fresh_db: Database) -> None:
    person = await _person(fresh_db)
    woken: list[int] = []
    fresh_db.on_outbox = lambda: woken.append(len(woken))
    async with fresh_db.write() as tx:
        await outbox.enqueue(tx, key="n:1", kind="notice", person_id=person, text="你好")
        assert woken == []  # not yet committed: the sender would find nothing
    assert woken == [0]
    async with fresh_db.write() as tx:  # the same key again: nothing new to send
        await outbox.enqueue(tx, key="n:1", kind="notice", person_id=person, text="你好")
    async with fresh_db.write() as tx:  # a transaction without notices
        await tx.run("UPDATE people SET name = name")
    assert woken == [0]


async def test_a_rolled_back_notice_wakes_nobody(fresh_db: Database) -> None:
    person = await _person(fresh_db)
    woken: list[bool] = []
    fresh_db.on_outbox = lambda: woken.append(True)
    with pytest.raises(RuntimeError):
        async with fresh_db.write() as tx:
            await outbox.enqueue(tx, key="n:2", kind="notice", person_id=person, text="你好")
            raise RuntimeError("refused after queuing")
    assert woken == []
    assert await fresh_db.value("SELECT COUNT(*) FROM outbox") == 0


def test_no_handler_wakes_the_sender_by_hand() -> None:
    for path in (ROOT / "handlers").rglob("*.py"):
        assert "wake_sender()" not in path.read_text(encoding="utf-8"), path
