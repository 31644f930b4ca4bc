"""A stand-in for Telegram's Bot API, as a process of its own, for the crash tests.

``python -m tests.fake_telegram PORT LOG`` answers what ``xiaoan run`` calls
(getMe, deleteWebhook, setMyCommands, long polling with no updates) and
accepts every send, appending it to LOG (one JSON line: chat, text, kind)
before answering, so that the log is what "Telegram" accepted. Like Telegram
it knows nothing of idempotency keys: a send repeated is a second message.

``POST /control/kill-after-next-send`` with ``pid``: the next send is
accepted and answered, then that process is killed (SIGKILL) at once: the
bot dies right after Telegram accepted a notice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

BOT = {"id": 4242, "is_bot": True, "first_name": "xiaoan", "username": "xiaoan_bot"}
SENDS = {"sendMessage": "text", "sendPhoto": "photo", "sendMediaGroup": "album"}


class FakeTelegram:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.ids = itertools.count(1)
        self.kill_pid: int | None = None

    async def api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(await request.post()) if request.can_read_body else {}
        params.update(request.query)
        if method == "getMe":
            return ok(BOT)
        if method == "getUpdates":
            await asyncio.sleep(min(float(params.get("timeout") or 0), 1.0))
            return ok([])
        if method in ("deleteWebhook", "setMyCommands", "deleteMyCommands", "close"):
            return ok(True)
        if method in SENDS:
            return await self.accept(method, params)
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def accept(self, method: str, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        text = str(params.get("text") or "")
        with self.log.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"chat": chat_id, "text": text, "kind": SENDS[method]}) + "\n")
        content: dict[str, Any] = {"text": text} if text else {"photo": []}
        message = {
            "message_id": next(self.ids),
            "date": 0,
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT,
            **content,
        }
        result: Any = [message] if method == "sendMediaGroup" else message
        if self.kill_pid is not None:
            pid, self.kill_pid = self.kill_pid, None
            # Answered first, killed as soon as the answer is on its way.
            asyncio.get_running_loop().call_soon(os.kill, pid, signal.SIGKILL)
        return ok(result)

    async def kill_after_next_send(self, request: web.Request) -> web.Response:
        self.kill_pid = int((await request.post())["pid"])
        return web.json_response({"ok": True})


def ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def main() -> None:
    port, log = int(sys.argv[1]), Path(sys.argv[2])
    fake = FakeTelegram(log)
    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", fake.api)
    app.router.add_post("/control/kill-after-next-send", fake.kill_after_next_send)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
