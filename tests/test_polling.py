"""The real polling path, over HTTP on loopback: getUpdates → inbox → handler → sendMessage.

A tiny Bot API server plays Telegram; the Application runs as ``xiaoan run``
runs it (Updater, InboxRequest, post_init), pointed there by
``bot.api_base_url``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import pytest

from bot.app import build_application
from bot.config import load_config
from ledger.clock import FakeClock
from storage import inbox
from tests.simulator import TOKEN


class FakeTelegram(BaseHTTPRequestHandler):
    """Answers the few methods polling needs; hands out one /start update."""

    sent: ClassVar[list[dict[str, Any]]] = []
    updates: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        method = self.path.rsplit("/", 1)[-1]
        length = int(self.headers.get("Content-Length", 0))
        # PTB posts form fields; complex values are JSON inside them.
        body = dict(parse_qsl(self.rfile.read(length).decode()))
        result: Any = True
        if method == "getMe":
            result = {"id": 1, "is_bot": True, "first_name": "xiaoan", "username": "x_bot"}
        elif method == "getUpdates":
            offset = int(body.get("offset") or 0)
            result = [u for u in self.updates if u["update_id"] >= offset]
        elif method == "sendMessage":
            self.sent.append(body)
            result = {
                "message_id": len(self.sent),
                "date": 0,
                "chat": {"id": int(body["chat_id"]), "type": "private"},
                "text": body["text"],
            }
        payload = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def telegram() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTelegram)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_a_polled_update_is_stored_then_answered(
    telegram: str, tmp_path: Path, clock: FakeClock
) -> None:
    FakeTelegram.sent = []
    FakeTelegram.updates = [
        {
            "update_id": 7,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 99, "type": "private"},
                "from": {"id": 99, "is_bot": False, "first_name": "A", "language_code": "zh"},
                "text": "/start",
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
    ]
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        f'[bot]\napi_base_url = "{telegram}/bot"\napi_file_url = "{telegram}/file/bot"\n'
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
        db = app.bot_data["services"].db
        # The answer is sent before the update is marked done: wait for both.
        for _ in range(100):
            if FakeTelegram.sent and await inbox.is_done(db, 7):
                break
            await asyncio.sleep(0.05)
        assert await inbox.is_done(db, 7)
    finally:
        await app.updater.stop()
        await app.stop()
        await app.post_shutdown(app)
        await app.shutdown()
    assert [m["chat_id"] for m in FakeTelegram.sent] == ["99"]
    assert "需要邀请码" in FakeTelegram.sent[0]["text"]
