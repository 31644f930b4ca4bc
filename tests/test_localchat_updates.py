"""Updates and messages in the local chat's store (issue 11, item 20), and the bot reading them.

An update is written whole in one statement (getUpdates never reads one
without its ``update_id``); the bot skips a malformed update alone instead
of failing its batch; the highest message version is found by index; a file
made by an older version is upgraded in place.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application
from bot.config import load_config
from bot.updates import Arrivals, sort_batch
from ledger.clock import FakeClock
from localchat.server import LocalServer
from localchat.store import SCHEMA, UPGRADES, Store
from storage import inbox
from tests.localchat_support import TOKEN, Browser, start_server


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LocalServer]:
    running = await start_server(tmp_path, clock)
    yield running
    await running.stop()


async def test_get_updates_never_reads_an_update_without_its_id(server: LocalServer) -> None:
    """Reads interleave with writes on the one connection; each update is read whole."""
    user_id, _ = await server.channel.join("A", "zh", "")
    seen: list[dict[str, Any]] = []

    async def poll() -> None:
        for _ in range(400):
            seen.extend(await server.store.updates(0, 100))

    async def say() -> None:
        for n in range(400):
            await server.channel.say(user_id, f"消息 {n}")

    await asyncio.gather(poll(), say(), poll())
    assert len(seen) > 400
    assert all(isinstance(update.get("update_id"), int) for update in seen)


async def test_update_ids_keep_increasing_after_confirmation_and_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = await Store(tmp_path / "chat.sqlite3", tmp_path / "files").open()
    try:
        ids = [await store.add_update({"message": {"n": n}}) for n in range(3)]
        assert ids == [1, 2, 3]
        assert [u["update_id"] for u in await store.updates(0, 10)] == [1, 2, 3]
        assert await store.updates(4, 10) == []  # confirmed: all of them forgotten
        assert await store.add_update({"message": {"n": 3}}) == 4
    finally:
        await store.close()
    store = await Store(tmp_path / "chat.sqlite3", tmp_path / "files").open()
    try:
        await store.updates(5, 10)
        assert await store.add_update({"message": {"n": 4}}) == 5
        assert (await store.updates(0, 10))[0] == {"message": {"n": 4}, "update_id": 5}
    finally:
        await store.close()


async def test_the_next_message_version_is_found_by_index(server: LocalServer) -> None:
    rows = await server.store._all(
        "EXPLAIN QUERY PLAN SELECT COALESCE(MAX(version), 0) + 1 AS v FROM messages"
    )
    plan = " ".join(str(r["detail"]) for r in rows)
    assert "messages_by_version" in plan, plan
    assert "SCAN messages" not in plan.replace("SCAN messages USING COVERING INDEX", "")


def old_database(path: Path) -> None:
    """A file as the local chat wrote it before the upgrades: the first schema, no version."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    now = "2026-11-28T09:00:00+08:00"
    conn.execute("INSERT INTO people VALUES (700000001, 'A', 'zh', ?)", (now,))
    token_hash = hashlib.sha256(b"old-token").hexdigest()
    conn.execute("INSERT INTO sessions VALUES (?, 700000001, ?)", (token_hash, now))
    bodies = [
        (1, {"kind": "photo", "file_id": "Lbot", "caption": "", "parse_mode": None}),
        (1, {"kind": "text", "text": "Lbot", "parse_mode": None}),
        (0, {"tg": {"photo": [{"file_id": "Lsmall"}, {"file_id": "Lbig"}]}}),
        (0, {"tg": {"document": {"file_id": "Ldoc", "file_name": "a.xlsx"}}}),
        (0, {"tg": {"text": "Lother"}}),
    ]
    for version, (from_bot, body) in enumerate(bodies, start=1):
        conn.execute(
            "INSERT INTO messages (chat_id, from_bot, date, body, version)"
            " VALUES (700000001, ?, 0, ?, ?)",
            (from_bot, json.dumps(body), version),
        )
    conn.commit()
    conn.close()


async def test_an_old_database_file_is_upgraded_in_place(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "localchat.sqlite3"
    old_database(path)
    for _ in range(2):  # opening an upgraded file again changes nothing
        store = await Store(path, tmp_path / "files").open()
        try:
            assert (await store._one("PRAGMA user_version"))[0] == len(UPGRADES)
            files = [
                r["file_id"] for r in await store._all("SELECT file_id FROM messages ORDER BY id")
            ]
            assert files == ["Lbot", None, "Lbig", "Ldoc", None]
            for file_id, shown in (("Lbot", True), ("Lbig", True), ("Ldoc", True)):
                assert await store.shows_file(700000001, file_id) is shown
            assert not await store.shows_file(700000001, "Lother")  # only typed as text
            assert not await store.shows_file(700000001, "Lsmall")  # a smaller size: not listed
            found = await store.person_of_session("old-token", clock.now(), timedelta(days=30))
            assert found is not None and found["name"] == "A"  # the session survives the upgrade
            indexes = {r["name"] for r in await store._all("PRAGMA index_list(messages)")}
            assert {"messages_by_version", "messages_by_file"} <= indexes
        finally:
            await store.close()


async def test_a_failed_upgrade_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "localchat.sqlite3"
    old_database(path)
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE messages ADD COLUMN file_id TEXT")  # makes the upgrade fail
    conn.commit()
    conn.close()
    with pytest.raises(sqlite3.OperationalError, match="duplicate column"):
        await Store(path, tmp_path / "files").open()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    assert [c[1] for c in conn.execute("PRAGMA table_info(sessions)")] == [
        "token_hash",
        "user_id",
        "created_at",
    ]
    conn.close()


# --- the bot's side: a malformed update is skipped alone -------------------------------------


def test_a_batch_is_sorted_update_by_update() -> None:
    good = {
        "update_id": 9,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
    }
    broken = {"update_id": 7, "message": {"message_id": 5}}  # no chat, no date
    half = {"message": good["message"]}  # the half-written one: no update_id yet
    batch = sort_batch([broken, half, good, "junk", {"update_id": True}], None)
    assert batch.passed == [good]
    assert [(raw["update_id"], why) for raw, why in batch.malformed] == [
        (7, "malformed update skipped: KeyError")
    ]
    assert batch.unconfirmable == 3
    assert batch.for_polling == [{"update_id": 7}, {"update_id": 9}]
    assert [update.update_id for update in batch.parsed] == [9]


async def test_the_bot_skips_a_malformed_update_and_answers_the_rest(
    server: LocalServer, tmp_path: Path, clock: FakeClock
) -> None:
    browser = Browser(server.people_url)
    user_id = await browser.join("王老师", "")  # update 1: /start
    message = {"message_id": 99, "text": "x"}  # no date: PTB cannot read it
    await server.store._write(
        "INSERT INTO updates (update_id, body) VALUES (2, ?)",
        (json.dumps({"update_id": 2, "message": message}),),
    )
    await server.store._write(  # as the old two-step insert could be read half-way
        "INSERT INTO updates (update_id, body) VALUES (3, ?)", (json.dumps({"message": message}),)
    )
    await browser.send("/help")  # update 4
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[bot]\napi_base_url = "{server.api_url}/bot"\n'
        f'api_file_url = "{server.api_url}/file/bot"\n'
        f'[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\nphotos = "{tmp_path / "p"}"\n',
        encoding="utf-8",
    )
    config = load_config(config_file, env={"XIAOAN_TELEGRAM_TOKEN": TOKEN})
    app: Any = build_application(config, clock)
    await app.initialize()
    await app.post_init(app)
    await app.updater.start_polling(poll_interval=0.05, timeout=0)
    await app.start()
    try:
        await browser.wait_for(lambda chat: sum(m["from_bot"] for m in chat) >= 2, within=20)
        db = app.bot_data["services"].db
        for _ in range(100):
            if await server.store.updates(0, 10) == []:
                break
            await asyncio.sleep(0.05)
        assert await server.store.updates(0, 10) == []  # all confirmed, the bad ones too
        row = await db.one("SELECT done_at, error FROM inbox WHERE update_id = 2")
        assert row["done_at"] and row["error"] == "malformed update skipped: KeyError"
        assert await inbox.is_done(db, 1) and await inbox.is_done(db, 4)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.post_shutdown(app)
        await app.shutdown()
        await browser.close()
    said = [m["html"] for m in browser.from_bot]
    assert len(said) == 2 and user_id > 0  # the answers to /start and /help, nothing else


def test_an_answer_polling_never_took_is_replaced_by_the_next() -> None:
    """A poll whose call failed after the answer came confirmed nothing: the next answer
    brings those updates again, and only its own are held."""
    arrivals = Arrivals()
    first = {
        "update_id": 5,
        "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}},
    }
    arrivals.hand(sort_batch([first], None).parsed)
    arrivals.hand(sort_batch([{**first, "update_id": 6}], None).parsed)
    assert arrivals.take(Update(5)).message is None  # dropped: stays the bare stand-in
    taken = arrivals.take(Update(6))
    assert taken.message is not None and taken.message.message_id == 1
    assert arrivals.take(Update(6)).message is None  # taken once
