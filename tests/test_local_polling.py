"""Polling the local chat goes through the bot's aiohttp client, the inbox first.

``xiaoan run`` without a token gives ``build_application`` a ``LocalChatRequest``;
getUpdates then uses aiohttp's client too (httpx costs several times more a
call), and still stores every update before polling confirms it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.request import HTTPXRequest

from bot.app import Inbox, InboxRequest, inbox_request
from bot.local_request import LocalChatRequest
from storage import inbox
from storage.db import Database


def test_polling_uses_the_client_of_the_other_calls() -> None:
    towards_local = inbox_request(LocalChatRequest())
    assert isinstance(towards_local, Inbox) and isinstance(towards_local, LocalChatRequest)
    assert towards_local.read_timeout == 40  # longer than any long poll's wait
    towards_telegram = inbox_request(None)
    assert isinstance(towards_telegram, InboxRequest)
    assert isinstance(towards_telegram, HTTPXRequest)


async def test_updates_polled_from_the_local_chat_are_stored_before_they_are_handled(
    fresh_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "a"}
    updates = [{"update_id": 41, "message": message}, {"update_id": 42}]
    body = json.dumps({"ok": True, "result": updates}).encode()
    calls: list[str] = []

    async def local_chat(self: Any, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(url)
        return 200, body

    monkeypatch.setattr(LocalChatRequest, "do_request", local_chat)
    request = inbox_request(LocalChatRequest())
    assert isinstance(request, Inbox)
    request.db = fresh_db
    request.bot = Bot("1:x")
    code, payload = await request.do_request("http://127.0.0.1:1/bot1:x/getUpdates", "POST")
    # Polling reads the ids alone, and takes each update as parsed on arrival.
    stand_ins = [{"update_id": 41}, {"update_id": 42}]
    assert (code, json.loads(payload)) == (200, {"ok": True, "result": stand_ins})
    taken = request.arrivals.take(Update.de_json(stand_ins[0], None))
    assert taken.message is not None and taken.message.text == "a"
    assert calls == ["http://127.0.0.1:1/bot1:x/getUpdates"]  # through aiohttp's client
    assert [u["update_id"] for u in await inbox.undone(fresh_db)] == [41, 42]
    await request.do_request("http://127.0.0.1:1/bot1:x/sendMessage", "POST")
    assert len(await inbox.undone(fresh_db)) == 2  # other methods pass through untouched
