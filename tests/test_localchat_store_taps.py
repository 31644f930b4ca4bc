"""The local chat's store: a tap written whole, people remembered only once they exist."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localchat.store import Store


async def test_a_tap_queues_its_update_and_remembers_its_query_together(tmp_path: Path) -> None:
    store = await Store(tmp_path / "chat.sqlite3", tmp_path / "files").open()
    try:
        user_id, _ = await store.add_person("王老师", "zh-CN", "2026-03-02T09:00:00+08:00")
        update_id = await store.add_tap("q1", user_id, 7, {"id": "q1", "data": "x"})
        assert await store.updates(0, 10) == [
            {"callback_query": {"id": "q1", "data": "x"}, "update_id": update_id}
        ]
        assert await store.callback_chat("q1") == user_id
        # A query id used twice (it never is: 16 random hex digits) leaves neither half.
        with pytest.raises(sqlite3.IntegrityError):
            await store.add_tap("q1", user_id, 8, {"id": "q1", "data": "y"})
        assert len(await store.updates(0, 10)) == 1
    finally:
        await store.close()


async def test_a_chat_unknown_then_joined_is_found(tmp_path: Path) -> None:
    """Only people found are remembered: a chat asked for before its person joins is
    found once they have."""
    store = await Store(tmp_path / "chat.sqlite3", tmp_path / "files").open()
    try:
        assert await store.person(700_000_001) is None
        user_id, _ = await store.add_person("王老师", "zh-CN", "2026-03-02T09:00:00+08:00")
        assert user_id == 700_000_001
        found = await store.person(user_id)
        assert found is not None and found["name"] == "王老师"
        assert await store.person(user_id) is found  # read once
    finally:
        await store.close()
