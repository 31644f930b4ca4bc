"""The bot's Bot API calls to its own local chat, made with aiohttp's client.

python-telegram-bot's default client (httpx) costs the bot about 3 ms of CPU
per call on loopback, most of it in its connection pool's bookkeeping, and
a walk's tap makes two calls; under a few hundred people walking that was
the largest part of the bot's own work (bench_load's profile). aiohttp's
client does the same for a fraction. It is used only towards the local chat
(our own server on this machine): towards Telegram the bot keeps
python-telegram-bot's own client, proxies and all.

The calls are as python-telegram-bot would make them: parameters as JSON (the
Bot API takes a JSON body as it takes a form), files as multipart, Telegram's
JSON answer returned whatever the status (the caller reads Telegram's errors
from it); timeouts and network failures become ``TimedOut`` and
``NetworkError``, never naming the URL (it holds the token). Polling the local
chat goes through it too (``bot.app.inbox_request``).
"""

from __future__ import annotations

from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# Parallel connections to the local chat: enough for every person's lane to call at once
# without queueing behind a small pool.
CONNECTIONS = 100
JSON = "application/json"


class LocalChatRequest(BaseRequest):
    """A ``BaseRequest`` over one aiohttp session, opened by ``initialize``."""

    def __init__(
        self,
        connections: int = CONNECTIONS,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self.connections = connections
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (python-telegram-bot reads it for getUpdates' wait)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (once)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.connections),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One call: the status and body as the local chat answered them."""
        if self._session is None or self._session.closed:
            raise RuntimeError("LocalChatRequest used before initialize()")
        read = _given(read_timeout, self._read_timeout)
        connect = _given(connect_timeout, self._connect_timeout)
        pool = _given(pool_timeout, self._pool_timeout)
        # aiohttp's connect timeout includes the wait for a free connection of the pool.
        waits = [t for t in (connect, pool) if t is not None]
        timeout = aiohttp.ClientTimeout(
            total=None, connect=sum(waits) if waits else None, sock_read=read
        )
        try:
            async with self._session.request(
                method, url, data=_body(request_data), timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            # The class name only: some aiohttp errors print the URL, and the URL holds the token.
            raise NetworkError(f"aiohttp.{type(error).__name__}") from None


def _given(value: Any, default: float | None) -> float | None:
    """A timeout passed to the call, or this object's default for it."""
    if isinstance(value, DefaultValue):
        return default
    return None if value is None else float(value)


def _body(request_data: RequestData | None) -> aiohttp.FormData | aiohttp.BytesPayload | None:
    """The parameters as JSON, or multipart when files go with them.

    JSON rather than a form: the Bot API takes both alike (each value is the same
    string either way), and a JSON body costs less to make here and to read there
    than a urlencoded form (bench_load's profiles of both processes).
    """
    if request_data is None:
        return None
    if not request_data.contains_files:
        return aiohttp.BytesPayload(request_data.json_payload, content_type=JSON)
    files = request_data.multipart_data
    # quote_fields off: names and file names go as raw UTF-8, as python-telegram-bot sends them.
    form = aiohttp.FormData(request_data.json_parameters, quote_fields=False)
    for name, (filename, content, mime) in files.items():  # a file makes it multipart
        data = content if isinstance(content, bytes) else content.read()
        form.add_field(name, data, filename=filename, content_type=mime)
    return form
