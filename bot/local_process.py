"""The local chat in a process of its own, beside the bot (``xiaoan run`` without a token).

The bot and the local chat are two event loops that each keep a core busy
under load; in one process they would share one interpreter lock, hence one
core. So ``xiaoan run`` starts the local chat as a child process
(``python -m bot.local_process``) and talks to it over its Bot API, as it
would to Telegram. The parent hands the child its settings and a fresh token
on the child's stdin (never on its command line, which ``ps`` shows) and
keeps that pipe open: its end is the parent's end, however the parent ends
(a SIGKILL included), and the child then stops. The child answers with one
line on stdout: the ports it listens on, or why it cannot. A child that dies
while the bot runs is reported in one line and stops the bot too. The child
runs in a session of its own, so a Ctrl-C in the terminal reaches the bot
alone, which then stops the child and waits for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot import loop as event_loop
from bot.config import Config
from ledger.errors import ConfigError

if TYPE_CHECKING:
    from localchat.server import LocalServer

log = logging.getLogger("bot.local_process")  # also when run as __main__

# How long the child may take to listen, and to stop once asked.
START_SECONDS = 60.0
STOP_SECONDS = 10.0
# A port still held by a local chat that is closing (the one of a bot killed a moment ago)
# is tried again for this long before the child says it cannot listen.
BUSY_PORT_SECONDS = 3.0


def child_spec(config: Config, token: str) -> dict[str, Any]:
    """What the child needs: the local chat's settings, flood limits, time zone, bot database."""
    from bot.local import local_settings

    settings = {
        name: str(value) if isinstance(value, Path) else value
        for name, value in asdict(local_settings(config, token)).items()
    }
    return {
        "settings": settings,
        "flood_limits": config.local_flood_limits,
        "timezone": config.timezone.key,
        "bot_database": str(config.database),
    }


class LocalChatProcess:
    """``start`` the local chat's process, read ``bot_config``, ``stop`` it; ``failure``
    says why it ended when it ended on its own."""

    def __init__(self, config: Config) -> None:
        # Any string the server accepts will do: it exists only in these two processes.
        self.token = f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(24)}"
        self.config = config
        self.people_url = ""
        self.api_url = ""
        self.failure: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watch: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id, once started."""
        return self._process.pid if self._process is not None else None

    def start(self) -> LocalChatProcess:
        """Start the child; returns once it listens (or raises, in one line, why it cannot)."""
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.local_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the bot, which stops the child
        )
        self._process = process
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(child_spec(self.config, self.token)).encode() + b"\n")
            process.stdin.flush()
        except BrokenPipeError:
            pass  # it died at once: its exit is read below
        answer = _first_line(process.stdout, START_SECONDS)
        ready = json.loads(answer) if answer.startswith("{") else {}
        if "people_url" not in ready:
            self.stop()
            why = ready.get("error") or f"its process ended (exit code {process.returncode})"
            raise ConfigError(str(why))
        self.people_url, self.api_url = ready["people_url"], ready["api_url"]
        self._watch = threading.Thread(target=self._watch_child, name="local-chat-watch")
        self._watch.daemon = True
        self._watch.start()
        return self

    def _watch_child(self) -> None:
        """A child that ends while the bot runs is said in one line, and the bot stops."""
        assert self._process is not None
        code = self._process.wait()
        if self._stopping.is_set():
            return
        self.failure = (
            f"local chat: its process ended unexpectedly (exit code {code}); the bot stops too"
        )
        log.error("%s", self.failure)
        # The bot's polling stops on SIGTERM as on Ctrl-C (python-telegram-bot's stop signals).
        os.kill(os.getpid(), signal.SIGTERM)

    def stop(self) -> None:
        """Ask the child to stop, wait for it (killed after STOP_SECONDS); safe to call twice."""
        self._stopping.set()
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()

    @property
    def bot_config(self) -> Config:
        """The bot's settings pointed at the child's Bot API side."""
        return replace(
            self.config,
            token=self.token,
            api_base_url=f"{self.api_url}/bot",
            api_file_url=f"{self.api_url}/file/bot",
            username=self.config.username or _username(),
        )


def _username() -> str:
    from bot.local import LOCAL_USERNAME

    return LOCAL_USERNAME


def _first_line(stream: IO[bytes], within: float) -> str:
    """The child's first line on stdout ('' if it ended or took longer than ``within``)."""
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(within)
    return lines[0].decode(errors="replace").strip() if lines else ""


# --- the child -------------------------------------------------------------------------------


def _redacting_logs(token: str) -> None:
    """The child's log lines go to the terminal, as the bot's do, without the token."""
    from bot.cli import _Redact

    handler = logging.StreamHandler()
    handler.addFilter(_Redact(token))
    logging.basicConfig(
        level=logging.INFO,
        handlers=[handler],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def server_of(spec: dict[str, Any]) -> LocalServer:
    """The local chat the parent's spec describes (on the system clock)."""
    import time

    from bot.local import BotDirectory
    from ledger.clock import SystemClock
    from localchat.limits import FloodLimits
    from localchat.server import LocalServer, LocalSettings

    names = {f.name for f in fields(LocalSettings)}
    values: dict[str, Any] = {
        name: Path(value) if name in ("database", "files") else value
        for name, value in spec["settings"].items()
        if name in names
    }
    return LocalServer(
        LocalSettings(**values),
        SystemClock(ZoneInfo(spec["timezone"])),
        FloodLimits(time.monotonic) if spec["flood_limits"] else None,
        directory=BotDirectory(Path(spec["bot_database"])),
    )


async def _serve(spec: dict[str, Any], said: IO[str]) -> int:
    """Listen, say where, serve until SIGTERM/SIGINT or the parent's end; 0, or 2 if it
    could not listen."""
    from bot.local import start_server

    server = server_of(spec)
    loop = asyncio.get_running_loop()
    give_up = loop.time() + BUSY_PORT_SECONDS
    while True:
        try:
            await start_server(server)
            event_loop.collect_less()  # (for as long as this process lives)
            break
        except ConfigError as error:
            if "in use" not in str(error) or loop.time() >= give_up:
                said.write(json.dumps({"error": str(error)}) + "\n")
                said.flush()
                return 2
            await asyncio.sleep(0.2)  # a local chat that is closing still holds it
    said.write(json.dumps({"people_url": server.people_url, "api_url": server.api_url}) + "\n")
    said.flush()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def parent_watch() -> None:
        """The parent holds our stdin open while it lives: end of file is its end."""
        # The file descriptor itself: a daemon thread blocked in sys.stdin's buffered reader
        # holds its lock, which the interpreter's shutdown then cannot take.
        while os.read(sys.stdin.fileno(), 4096):
            pass
        if not stop.is_set():
            log.warning("local chat: the bot's process has ended; the local chat stops too")
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=parent_watch, name="parent-watch", daemon=True).start()
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0


def main() -> int:
    """The child: read the spec on stdin, serve, exit 0 (or 2 when it could not listen)."""
    spec = json.loads(sys.stdin.buffer.readline() or b"{}")
    if "settings" not in spec:
        print(json.dumps({"error": "local chat: started without its settings"}), flush=True)
        return 2
    _redacting_logs(spec["settings"]["token"])
    said = sys.stdout
    sys.stdout = sys.stderr  # stdout was for the one line to the parent; the rest is logs
    return event_loop.run(_serve(spec, said))


if __name__ == "__main__":
    sys.exit(main())
