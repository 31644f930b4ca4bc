"""End to end over loopback: ``xiaoan local`` and ``xiaoan run`` as separate processes.

A staff member joins from the demo's invitation link and walks a building
through the people side's HTTP API, a photo included; the bot is killed
(SIGKILL) in the middle of the walk and started again, and the walk goes on.
"""

from __future__ import annotations

import asyncio
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

from tests import scenes
from tests.localchat_support import TOKEN, Browser, free_port, until_served

ITEMS = 19  # 教学楼A, built 2005: every item but those for other uses or older buildings


@dataclass
class Setup:
    folder: Path
    config: Path
    page: str
    env: dict[str, str] = field(repr=False)  # holds the token: kept out of failure output


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    port, api_port = free_port(), free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\nusername = "xiaoan_local_bot"\n'
        f'api_base_url = "http://127.0.0.1:{api_port}/bot"\n'
        f'api_file_url = "http://127.0.0.1:{api_port}/file/bot"\n'
        f'[storage]\ndatabase = "{tmp_path / "xiaoan.sqlite3"}"\nphotos = "{tmp_path / "photos"}"\n'
        f"[local]\nport = {port}\napi_port = {api_port}\n",
        encoding="utf-8",
    )
    env = {**os.environ, "XIAOAN_TELEGRAM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    return Setup(tmp_path, config, f"http://127.0.0.1:{port}", env)


def xiaoan(setup: Setup, *args: str, log: str) -> subprocess.Popen[bytes]:
    """A ``xiaoan`` process; its output goes to a file, read by the test (never the token)."""
    with (setup.folder / log).open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - this interpreter, this project's own command
            [sys.executable, "-m", "bot.cli", "--config", str(setup.config), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=setup.env,
            cwd=setup.folder,
        )


async def demo_code(setup: Setup, role: str) -> str:
    """The demo's invitation for a role, from the bot's output."""
    for _ in range(600):
        found = re.search(rf"{role} +{re.escape(setup.page)}/\?start=(\w+)", read(setup, "bot.log"))
        if found:
            return found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no demo link; the bot said: {read(setup, 'bot.log')[-2000:]}")


def read(setup: Setup, log: str) -> str:
    path = setup.folder / log
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def stop(process: subprocess.Popen[bytes], how: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in reversed(started):
        stop(process)


@pytest.fixture
async def browser(setup: Setup) -> AsyncIterator[Browser]:
    opened = Browser(setup.page)
    yield opened
    await opened.close()


async def answer(browser: Browser, label: str, expect: str) -> None:
    await browser.tap(label)
    await browser.wait_text(expect)


async def test_a_walk_over_http_survives_killing_the_bot(
    setup: Setup, processes: list[subprocess.Popen[bytes]], browser: Browser
) -> None:
    processes.append(xiaoan(setup, "local", log="local.log"))
    await until_served(setup.page + "/")
    processes.append(xiaoan(setup, "run", "--demo", log="bot.log"))
    code = await demo_code(setup, "staff")

    # Joining from the link: the page sends /start <code>; name, then the phone button.
    await browser.join("演示王老师", code)
    await browser.wait_text("请发送您的姓名")
    await browser.send("演示王老师")
    asked = await browser.wait_text("共享手机号")
    assert asked["keyboard"]["rows"][0][0]["request_contact"] is True
    assert (await browser.post("/api/contact", {"phone": "13800138000"}))[0] == 200
    await browser.wait_text("您已以")

    await browser.send("/inspect")
    await browser.wait_text("教学楼A · 未开始")
    await answer(browser, "教学楼A", f"1/{ITEMS} · F01")

    # F01: a hazard with a photo taken on the phone (its capture time in its EXIF).
    await answer(browser, "有隐患", "请拍照发送隐患照片")
    taken = scenes.with_capture_time(scenes.stairwell(3, 800, 600), "2026:03:02 10:15:00")
    status, _ = await browser.upload(taken, "IMG_0001.JPG", "image/jpeg")
    assert status == 200
    await browser.wait_text("已收到 1 张照片")
    await answer(browser, "照片已发完", "请简要描述隐患")
    await browser.send("二楼楼梯口堆放杂物")
    await browser.wait_text("能否立即整改")
    await answer(browser, "是", f"2/{ITEMS} · F02")
    assert any("隐患 #1 已登记" in (m.get("html") or "") for m in browser.from_bot)

    for n in range(2, 6):
        await answer(browser, "无隐患", f"{n + 1}/{ITEMS} · ")

    # The bot dies the hard way right after a tap; started again, the walk goes on.
    bot = processes.pop()
    await browser.tap("无隐患")  # answers F06
    bot.kill()
    bot.wait()
    processes.append(xiaoan(setup, "run", log="bot.log"))
    await browser.send("/inspect")
    await browser.wait_text("继续排查：教学楼A", within=30)
    await answer(browser, "继续排查", f"7/{ITEMS} · F07")

    for n in range(7, ITEMS):
        await answer(browser, "无隐患", f"{n + 1}/{ITEMS} · ")
    await answer(browser, "无隐患", "还有其他隐患吗")
    await answer(browser, "否", "排查小结")
    summary = browser.from_bot[-1]["html"]
    assert f"共 {ITEMS} 项：无隐患 {ITEMS - 1} 项，不适用 0 项，发现隐患 1 处" in summary
    await answer(browser, "销号", "全校已销号 1/3 栋")

    # The photo went through getFile and the file path into the bot's photo store;
    # the local chat keeps an upload's bytes, so its capture time was read.
    stored = [p for p in (setup.folder / "photos").rglob("*.jpg") if "thumbs" not in p.parts]
    assert len(stored) == 1
    conn = sqlite3.connect(setup.folder / "xiaoan.sqlite3")
    assert conn.execute("SELECT taken_at FROM photos").fetchall() == [("2026-03-02T10:15:00",)]
    conn.close()
    stop(processes.pop())
    stop(processes.pop())
    logs = read(setup, "bot.log") + read(setup, "local.log")
    assert TOKEN not in logs and TOKEN.split(":")[1] not in logs
