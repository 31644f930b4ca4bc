"""Helpers for the local chat's tests: a server on free loopback ports, a person's browser."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
from telegram import Bot
from telegram.request import BaseRequest

from bot import local
from bot.config import Config
from ledger.clock import FakeClock
from ledger.errors import ConfigError
from localchat.limits import FloodLimits
from localchat.server import LocalServer, LocalSettings

TOKEN = "424242:LOCAL-TEST-TOKEN-not-real"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(folder: Path, **changes: Any) -> LocalSettings:
    values: dict[str, Any] = {
        "token": TOKEN,
        "username": "xiaoan_local_bot",
        "host": "127.0.0.1",
        "port": 0,
        "api_host": "127.0.0.1",
        "api_port": 0,
        "public_url": "",
        "database": folder / "localchat.sqlite3",
        "files": folder / "localchat-files",
        "max_upload_bytes": 1024 * 1024,
        **changes,
    }
    return LocalSettings(**values)


async def start_server(
    folder: Path, clock: FakeClock, limits: FloodLimits | None = None, **changes: Any
) -> LocalServer:
    return await LocalServer(settings(folder, **changes), clock, limits).start()


def shown(message: dict[str, Any]) -> str:
    """A message's HTML and its button labels, for ``in`` checks."""
    labels = [b["text"] for row in message.get("buttons", []) for b in row]
    return "\n".join([message.get("html") or "", *labels])


def bot_for(server: LocalServer, token: str = TOKEN, request: BaseRequest | None = None) -> Bot:
    """A real python-telegram-bot ``Bot`` pointed at the server's Bot API side (with
    python-telegram-bot's own client, or the one given: ``xiaoan run`` gives aiohttp's)."""
    return Bot(
        token,
        base_url=f"{server.api_url}/bot",
        base_file_url=f"{server.api_url}/file/bot",
        request=request,
    )


class Browser:
    """One person's browser on the chat page: its own cookie jar, the page's JSON API."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.version = 0
        self.messages: dict[int, dict[str, Any]] = {}

    async def close(self) -> None:
        await self.session.close()

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        async with self.session.post(self.base + path, json=body) as response:
            return response.status, await response.json(content_type=None)

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.json(content_type=None)

    async def join(self, name: str, code: str, language: str = "zh-CN") -> int:
        status, body = await self.post(
            "/api/join", {"name": name, "code": code, "language": language}
        )
        assert status == 200, body
        self.carry_csrf(body["csrf"])
        return int(body["user_id"])

    def carry_csrf(self, token: str) -> None:
        """Send the session's CSRF token with every request, as the page does."""
        self.session.headers["X-CSRF-Token"] = token

    async def refresh(self) -> list[dict[str, Any]]:
        """Fetch what changed, as the page does after each event."""
        status, body = await self.get(f"/api/messages?since={self.version}")
        assert status == 200, body
        for message in body["messages"]:
            self.messages[message["id"]] = message
            self.version = max(self.version, message["version"])
        return body["messages"]

    @property
    def chat(self) -> list[dict[str, Any]]:
        return [m for _, m in sorted(self.messages.items()) if not m["deleted"]]

    @property
    def from_bot(self) -> list[dict[str, Any]]:
        return [m for m in self.chat if m["from_bot"]]

    async def wait_for(
        self, check: Callable[[list[dict[str, Any]]], bool], within: float = 20.0
    ) -> list[dict[str, Any]]:
        """Poll until the chat satisfies ``check`` (the bot answers asynchronously)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            await self.refresh()
            if check(self.chat):
                return self.chat
            if loop.time() > deadline:
                shown = json.dumps([m.get("html") for m in self.chat[-3:]], ensure_ascii=False)
                raise AssertionError(f"the chat never got there; last: {shown}")
            await asyncio.sleep(0.15)  # within the page side's per-session rate

    async def wait_text(self, text: str, within: float = 20.0) -> dict[str, Any]:
        """Wait for a bot message (new or edited) whose HTML or buttons contain ``text``."""
        seen = self.version
        await self.wait_for(
            lambda chat: any(
                m["from_bot"] and m["version"] > seen and text in shown(m) for m in chat
            ),
            within,
        )
        return [m for m in self.from_bot if text in shown(m)][-1]

    def button(self, label: str) -> tuple[int, str]:
        """The newest button whose label contains ``label``: its message and data."""
        for message in reversed(self.from_bot):
            for row in message.get("buttons", []):
                for button in row:
                    if label in button["text"] and button.get("data"):
                        return message["id"], button["data"]
        raise AssertionError(f"no button {label!r}")

    async def tap(self, label: str) -> None:
        message_id, data = self.button(label)
        status, body = await self.post("/api/tap", {"message_id": message_id, "data": data})
        assert status == 200, body

    async def send(self, text: str) -> None:
        status, body = await self.post("/api/send", {"text": text})
        assert status == 200, body

    async def upload(self, data: bytes, name: str, mime: str) -> tuple[int, Any]:
        form = aiohttp.FormData(quote_fields=False)  # as browsers send names: raw UTF-8
        form.add_field("file", data, filename=name, content_type=mime)
        async with self.session.post(self.base + "/api/upload", data=form) as response:
            return response.status, await response.json(content_type=None)


async def until_served(url: str) -> None:
    """Wait (30 s at most) until the page at ``url`` answers 200: a process started."""
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


class LocalChatThread:
    """The local server on its own event loop in a thread of the test's process, for tests
    that need a Bot API to point a bot at (``xiaoan run`` starts the local chat as a process
    of its own: ``bot.local_process``)."""

    def __init__(self, config: Config) -> None:
        # Any string the server accepts will do: it exists only in this process.
        self.token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(24)}"
        self.server = local.new_server(config, self.token)
        self.config = config
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="local-chat", daemon=True)

    def start(self) -> LocalChatThread:
        """Start the server's thread; returns once it listens (or raises why it cannot)."""
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def _run(self) -> None:
        """The thread: its own event loop."""
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        """Start, say so, wait to be stopped, stop."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await local.start_server(self.server)
        except ConfigError as failure:
            self._failure = failure
            self._ready.set()
            return
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self.server.stop()

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    @property
    def bot_config(self) -> Config:
        """The bot's settings pointed at this server."""
        api = self.server.api_url
        return replace(
            self.config,
            token=self.token,
            api_base_url=f"{api}/bot",
            api_file_url=f"{api}/file/bot",
            username=self.server.settings.username,
        )
