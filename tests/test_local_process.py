"""``xiaoan run`` without a token: the bot and the local chat as two processes.

The bot's process starts the local chat as a child (``bot.local_process``):
the page and its walk are served as before; Ctrl-C or SIGTERM to the bot
stops both; a bot killed outright takes the child with it; a child that dies
is said in one line and stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.localchat_support import Browser, free_port, until_served

TOKEN_ENV = "XIAOAN_TELEGRAM_TOKEN"


@dataclass
class Setup:
    folder: Path
    config: Path
    page: str
    env: dict[str, str] = field(repr=False)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str) -> subprocess.Popen[bytes]:
        """``xiaoan run`` (no token) with its output in bot.log."""
        with (self.folder / "bot.log").open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, this project's command
                [sys.executable, "-m", "bot.cli", "--config", str(self.config), "run", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        self.started.append(process)
        return process

    def log(self) -> str:
        return (self.folder / "bot.log").read_text("utf-8", "replace")


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    port, api_port = free_port(), free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{tmp_path / "xiaoan.sqlite3"}"\nphotos = "{tmp_path / "photos"}"\n'
        f"[local]\nport = {port}\napi_port = {api_port}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    made = Setup(tmp_path, config, f"http://127.0.0.1:{port}", {**env, "PYTHONUNBUFFERED": "1"})
    yield made
    for process in made.started:
        for pid in [*children(process.pid), process.pid]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
async def browser(setup: Setup) -> AsyncIterator[Browser]:
    opened = Browser(setup.page)
    yield opened
    await opened.close()


def children(pid: int) -> list[int]:
    """The processes this one started (from /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the process ended meanwhile
            found.extend(int(child) for child in task.read_text().split())
    return found


def alive(pid: int) -> bool:
    """Running (a zombie, ended but not yet reaped by its parent, is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def command_line(pid: int) -> list[str]:
    return [w.decode() for w in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if w]


async def until(check: object, within: float, what: str) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def started(setup: Setup, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """``xiaoan run`` serving its page; returns it and its local chat's process id."""
    bot = setup.run(*args)
    await until_served(setup.page + "/")
    (child,) = children(bot.pid)
    assert command_line(child)[-2:] == ["-m", "bot.local_process"]
    return bot, child


async def demo_code(setup: Setup, role: str) -> str:
    pattern = rf"{role} +{re.escape(setup.page)}/\?start=(\w+)"
    await until(lambda: re.search(pattern, setup.log()), 60, "the demo's links printed")
    found = re.search(pattern, setup.log())
    assert found is not None
    return found.group(1)


def answers(setup: Setup) -> list[str]:
    """The walk's answers as the bot's database holds them (item code, answer)."""
    with sqlite3.connect(setup.folder / "xiaoan.sqlite3", timeout=10) as conn:
        rows = conn.execute(
            "SELECT c.code FROM answers a JOIN checklist_items c ON c.id = a.item_id ORDER BY a.id"
        ).fetchall()
    return [code for (code,) in rows]


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
async def test_a_walk_on_the_page_of_two_processes_then_stopping_the_bot_stops_both(
    setup: Setup, browser: Browser, how: signal.Signals
) -> None:
    """The page and a tap answered as ever; Ctrl-C (SIGINT) or SIGTERM to the bot ends both."""
    bot, child = await started(setup, "--demo")
    code = await demo_code(setup, "staff")
    await browser.join("演示王老师", code)
    await browser.wait_text("请发送您的姓名", within=30)
    await browser.send("演示王老师")
    await browser.wait_text("共享手机号", within=30)
    assert (await browser.post("/api/contact", {"phone": "13800138000"}))[0] == 200
    await browser.wait_text("您已以", within=30)
    await browser.send("/inspect")
    await browser.wait_text("教学楼A · 未开始", within=30)
    await browser.tap("教学楼A")
    await browser.wait_text("1/19 · F01", within=30)
    await browser.tap("无隐患")
    await browser.wait_text("2/19 · F02", within=30)
    assert answers(setup) == ["F01"]
    # The token lives in the two processes only: not on the child's command line, not logged.
    tokens = re.compile(r"\d{10}:[\w-]{32}")
    assert not tokens.search(" ".join(command_line(child)) + setup.log())

    bot.send_signal(how)
    assert bot.wait(timeout=30) == 0
    await until(lambda: not alive(child), 10, "the local chat stopped with the bot")
    log = setup.log()
    assert "unexpectedly" not in log and "Fatal" not in log and "Traceback" not in log


async def test_the_bot_killed_outright_takes_its_local_chat_with_it(setup: Setup) -> None:
    """SIGKILL leaves the bot no time to stop anything: the child sees its end and stops,
    and the ports are free for the next ``xiaoan run``."""
    bot, child = await started(setup)
    bot.kill()
    bot.wait()
    await until(lambda: not alive(child), 10, "the local chat stopped after the bot's end")
    assert "the bot's process has ended; the local chat stops too" in setup.log()
    again, _ = await started(setup)  # the same ports, at once
    await until(lambda: "Application started" in setup.log(), 30, "the bot polling again")
    again.terminate()
    assert again.wait(timeout=30) == 0


@pytest.mark.parametrize("when", ["starting", "polling"])
async def test_the_local_chat_dying_is_said_in_one_line_and_stops_the_bot(
    setup: Setup, when: str
) -> None:
    """Killed while the bot starts (the demo school being made) or once it polls."""
    bot, child = await started(setup, "--demo")
    if when == "polling":
        await until(lambda: "Application started" in setup.log(), 30, "the bot polling")
    os.kill(child, signal.SIGKILL)
    assert bot.wait(timeout=30) == 2
    log = setup.log()
    said = "local chat: its process ended unexpectedly (exit code -9); the bot stops too"
    # Said as it happens and again as the last line (the bot's own complaints about its
    # Bot API gone, as they would be with Telegram unreachable, may come between: one line
    # each, no traceback, no token).
    assert f"ERROR bot.local_process: {said}" in log
    assert log.splitlines()[-1] == f"xiaoan: {said}"
    assert "Traceback" not in log, log
    assert not re.search(r"\d{10}:[\w-]{32}", log), log


def test_the_child_is_given_every_local_setting(tmp_path: Path) -> None:
    """What crosses the pipe (JSON) makes the same server ``xiaoan local`` would make."""
    import json

    from bot.config import load_config
    from bot.local import local_settings
    from bot.local_process import child_spec, server_of

    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[bot]\nusername = "our_school_bot"\n[campaign]\ntimezone = "Asia/Urumqi"\n'
        f'[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\n'
        '[local]\nhost = "0.0.0.0"\nport = 9090\napi_port = 9091\n'
        'public_url = "https://chat.school.example"\n'
        f'database = "{tmp_path / "chat.sqlite3"}"\nfiles = "{tmp_path / "chat-files"}"\n'
        "max_upload_bytes = 1000000\nsession_days = 7\nmax_streams = 50\n"
        "max_streams_per_session = 2\nsession_requests_per_second = 5\n"
        "session_requests_burst = 50\naddress_requests_per_second = 20\n"
        "address_requests_burst = 200\njoins_per_hour = 12\njoins_burst = 4\n"
        'flood_limits = true\nclient_ip_header = "X-Real-IP"\n',
        encoding="utf-8",
    )
    config = load_config(config_file, env={})
    spec = json.loads(json.dumps(child_spec(config, "1234567890:made-up")))
    server = server_of(spec)
    assert server.settings == local_settings(config, "1234567890:made-up")
    assert server.channel.limits is not None  # local.flood_limits
    assert server.channel.clock.now().tzinfo == config.timezone
    assert server.directory is not None
    assert server.directory.database == config.database  # type: ignore[attr-defined]
