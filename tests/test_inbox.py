"""Received updates reach the inbox before polling confirms them; the token stays secret."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from telegram import Bot, Update
from telegram.request import HTTPXRequest

from bot.app import InboxRequest
from bot.cli import _Redact
from storage import inbox
from storage.db import Database
from tests.conftest import make_school
from tests.simulator import TOKEN, Simulator


async def test_get_updates_answers_are_stored_before_they_are_handled(
    fresh_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "a"}
    updates = [{"update_id": 41, "message": message}, {"update_id": 42}]
    body = json.dumps({"ok": True, "result": updates}).encode()

    async def telegram(self, url, method, *args, **kwargs):
        return 200, body

    monkeypatch.setattr(HTTPXRequest, "do_request", telegram)
    request = InboxRequest()
    request.db = fresh_db
    request.bot = Bot("1:x")
    code, payload = await request.do_request("https://api/bot:x/getUpdates", "POST")
    # Polling reads the ids alone, and takes each update as parsed on arrival.
    stand_ins = [{"update_id": 41}, {"update_id": 42}]
    assert (code, json.loads(payload)) == (200, {"ok": True, "result": stand_ins})
    taken = request.arrivals.take(Update.de_json(stand_ins[0], None))
    assert taken.message is not None and taken.message.text == "a"
    assert [u["update_id"] for u in await inbox.undone(fresh_db)] == [41, 42]
    # Other methods are passed through untouched.
    await request.do_request("https://api/bot:x/sendMessage", "POST")
    assert len(await inbox.undone(fresh_db)) == 2


def files_containing(folder: Path, secret: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret in p.read_bytes()]


async def test_the_token_never_reaches_logs_or_files(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await make_school(sim)
    assert TOKEN not in caplog.text
    assert not files_containing(tmp_path, TOKEN.encode())
    assert TOKEN not in repr(sim.config)


def test_log_lines_with_the_token_are_redacted() -> None:
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "POST https://api.telegram.org/bot%s/getMe",
        (TOKEN,),
        None,
    )
    assert _Redact(TOKEN).filter(record)
    assert TOKEN not in record.getMessage()
    assert "<token>" in record.getMessage()


async def test_applied_updates_are_pruned_after_a_week(sim: Simulator, clock) -> None:
    from bot.app import prune_inbox

    await sim.chat().send("/help")
    assert await sim.db.value("SELECT COUNT(*) FROM inbox") == 1

    class Context:
        bot_data = sim.app.bot_data

    await prune_inbox(Context())
    assert await sim.db.value("SELECT COUNT(*) FROM inbox") == 1
    clock.advance(days=8)
    await prune_inbox(Context())
    assert await sim.db.value("SELECT COUNT(*) FROM inbox") == 0
