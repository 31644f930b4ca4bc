"""Running with the built-in local chat: ``xiaoan local`` and ``xiaoan run`` without a token.

The bot is unchanged: it is pointed at the local server's Bot API side with
``base_url``/``base_file_url``, and a token that the server accepts.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import aiosqlite

from bot.config import TOKEN_ENV, Config
from ledger.clock import SystemClock
from ledger.errors import ConfigError
from ledger.invitations import deep_link
from ledger.roles import Role
from localchat.limits import FloodLimits
from localchat.server import LocalServer, LocalSettings, printable_host
from storage.db import Reader
from storage.people import person_by_tg
from texts import catalogue

# The name the local server gives the bot when bot.username is not set.
LOCAL_USERNAME = "xiaoan_local_bot"


def local_settings(config: Config, token: str) -> LocalSettings:
    """The local server's settings from the ``local.*`` ones."""
    return LocalSettings(
        token=token,
        username=config.username or LOCAL_USERNAME,
        host=config.local_host,
        port=config.local_port,
        api_host=config.local_api_host,
        api_port=config.local_api_port,
        public_url=config.local_public_url,
        database=config.local_database,
        files=config.local_files,
        max_upload_bytes=config.local_max_upload_bytes,
        session_days=config.local_session_days,
        max_streams=config.local_max_streams,
        max_streams_per_session=config.local_max_streams_per_session,
        session_requests_per_second=config.local_session_requests_per_second,
        session_requests_burst=config.local_session_requests_burst,
        address_requests_per_second=config.local_address_requests_per_second,
        address_requests_burst=config.local_address_requests_burst,
        joins_per_hour=config.local_joins_per_hour,
        joins_burst=config.local_joins_burst,
        client_ip_header=config.local_client_ip_header,
    )


class _ReadOnly(Reader):
    """Queries on a read-only connection to the bot's database."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn


class BotDirectory:
    """Who a local person is in the bot's own database (read only), for the page's header.

    A local person's user id is the Telegram user id the bot knows them by.
    An unknown person, or a database not there yet, gives no lines.
    """

    def __init__(self, database: Path) -> None:
        self.database = database

    async def __call__(self, user_id: int, language: str) -> list[str]:
        """One line per membership: "role · school" in the person's language."""
        if not self.database.exists():
            return []
        texts = catalogue("en" if language.startswith("en") else "zh")
        uri = f"{self.database.resolve().as_uri()}?mode=ro"
        try:
            async with aiosqlite.connect(uri, uri=True) as conn:
                conn.row_factory = sqlite3.Row
                person = await person_by_tg(_ReadOnly(conn), user_id)
        except sqlite3.Error:
            return []  # not the bot's database (yet): nothing to say
        if person is None:
            return []
        return [
            f"{texts[f'role.{m.role.value}']} · {m.school_name or texts['join.city']}"
            for m in person.memberships
        ]


def new_server(config: Config, token: str) -> LocalServer:
    """A local server for these settings, on the system clock, knowing the bot's people."""
    return LocalServer(
        local_settings(config, token),
        SystemClock(config.timezone),
        FloodLimits(time.monotonic) if config.local_flood_limits else None,
        directory=BotDirectory(config.database),
    )


async def start_server(server: LocalServer) -> None:
    """Start, or say in one line which port could not be had."""
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        raise ConfigError(
            f"local: cannot listen on {server.settings.host}:{server.settings.port} or"
            f" {server.settings.api_host}:{server.settings.api_port}: {exc.strerror or exc}"
        ) from None


def addresses(server: LocalServer) -> str:
    """What ``xiaoan local`` prints: the page, and the Bot API side (never the token)."""
    return (
        f"local chat: {server.people_url}\n"
        f"Bot API for the bot only: {server.api_url}/bot<token> (set bot.api_base_url to it)"
    )


def cmd_local(config: Config) -> None:
    """Serve the local chat alone, until interrupted; the bot runs elsewhere with the token."""
    if not config.token:
        raise ConfigError(
            f"local: set {TOKEN_ENV} to a secret of your choice and give the bot the same one"
        )

    async def serve() -> None:
        """Run until SIGINT or SIGTERM."""
        server = new_server(config, config.token)
        await start_server(server)
        print(addresses(server), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await server.stop()

    asyncio.run(serve())


def page_url(config: Config) -> str:
    """Where people open the local chat with these settings."""
    public = config.local_public_url.rstrip("/")
    return public or f"http://{printable_host(config.local_host)}:{config.local_port}"


def local_page_of(config: Config) -> str | None:
    """The local chat page, when this bot is pointed at the local chat of these settings."""
    settings = local_settings(config, config.token)
    api = f"http://{printable_host(settings.api_host)}:{settings.api_port}/bot"
    if config.api_base_url.rstrip("/") != api:
        return None
    return settings.public_url or f"http://{printable_host(settings.host)}:{settings.port}"


def demo_links(codes: list[tuple[Role, str]], page_url: str | None, username: str) -> str:
    """One line per role: the local page with ?start=, or the bot's t.me deep link."""
    lines = ["demo school 演示小学: open one link per person (valid 30 days, 50 people each)"]
    for role, code in codes:
        link = f"{page_url}/?start={code}" if page_url else deep_link(username or None, code)
        lines.append(f"  {role.value:<11} {link}")
    return "\n".join(lines)
