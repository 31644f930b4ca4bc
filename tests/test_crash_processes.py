"""Crash tests with real processes and SIGKILL (issue 11: items 7 and 10).

(a) Notices: the bot (``xiaoan run``) sends a batch of notices and is killed
at random moments, then started again, several times; afterwards every
notice has arrived, none twice unless the outbox records it as possibly sent
twice, and on the local chat none twice at all. Once against a stand-in for
Telegram in a process of its own (``tests/fake_telegram.py``), which knows
no idempotency key, and once against ``xiaoan local``.

(b) A typed answer: the bot is killed between the commit of a typed
deadline and its reply (a test-only fault point,
``XIAOAN_TEST_KILL_AFTER_COMMIT``); the person types the deadline again
while it is down; after the restart every field holds what was typed for it.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from ledger.clock import SystemClock
from localchat.store import Store
from storage import outbox, people
from storage.db import Database
from tests.localchat_support import TOKEN, Browser, free_port, until_served

NOTICES_PER_CHAT = 4
CHATS = 6
KILLS = 3  # each start costs seconds (imports, getMe, the first pass)


@dataclass
class Run:
    """A folder with the bot's config; the processes started in it."""

    folder: Path
    config: Path
    env: dict[str, str] = field(repr=False)  # holds the token: kept out of failure output
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def xiaoan(
        self, *args: str, log: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """A ``xiaoan`` process; its output goes to a file (it could hold the token)."""
        with (self.folder / log).open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, this project's command
                [sys.executable, "-m", "bot.cli", "--config", str(self.config), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**self.env, **(env or {})},
                cwd=self.folder,
            )
        self.started.append(process)
        return process

    def python(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with (self.folder / log).open("ab") as out:
            process = subprocess.Popen(  # noqa: S603 - this interpreter, a test module
                [sys.executable, *args], stdout=out, stderr=subprocess.STDOUT, env=self.env
            )
        self.started.append(process)
        return process

    @property
    def database(self) -> Path:
        return self.folder / "xiaoan.sqlite3"

    def outbox_rows(self) -> list[sqlite3.Row]:
        with sqlite3.connect(self.database, timeout=10) as conn:
            conn.row_factory = sqlite3.Row
            return list(conn.execute("SELECT * FROM outbox ORDER BY id"))


def run_in(folder: Path, api_port: int, local: str = "") -> Run:
    config = folder / "config.toml"
    config.write_text(
        f'[bot]\nusername = "xiaoan_local_bot"\n'
        f'api_base_url = "http://127.0.0.1:{api_port}/bot"\n'
        f'api_file_url = "http://127.0.0.1:{api_port}/file/bot"\n'
        f'[storage]\ndatabase = "{folder / "xiaoan.sqlite3"}"\nphotos = "{folder / "photos"}"\n'
        + local,
        encoding="utf-8",
    )
    env = {**os.environ, "XIAOAN_TELEGRAM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    env.pop("XIAOAN_TEST_KILL_AFTER_COMMIT", None)
    return Run(folder, config, env)


@pytest.fixture
def cleanup() -> Iterator[list[Run]]:
    runs: list[Run] = []
    yield runs
    for run in runs:
        for process in reversed(run.started):
            if process.poll() is None:
                process.kill()
                process.wait()


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


async def seed_notices(run: Run, chat_ids: list[int]) -> list[str]:
    """People and their notices, written to the bot's outbox before it starts."""
    texts = []
    async with Database(run.database, SystemClock()) as db, db.write() as tx:
        person_ids = [
            await people.create_person(
                tx, tg_user_id=chat_id, chat_id=chat_id, name=f"老师{n}", phone="1", language="zh"
            )
            for n, chat_id in enumerate(chat_ids)
        ]
        # Round after round, one to each chat: sends follow each other without the
        # one-a-second wait per chat, so that kills find messages in flight.
        for k in range(NOTICES_PER_CHAT):
            for n, person_id in enumerate(person_ids):
                text = f"通知 {n}-{k}"
                await outbox.enqueue(
                    tx, key=f"crash:{n}:{k}", kind="notice.test", person_id=person_id, text=text
                )
                texts.append(text)
    return texts


async def until(check: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)


async def kill_while_sending(
    run: Run,
    delivered: Callable[[], int],
    total: int,
    rng: random.Random,
    first_kill: Callable[[subprocess.Popen[bytes]], Awaitable[None]] | None = None,
) -> int:
    """Start the bot, kill it once sending is under way, KILLS times; then let it finish.

    Each kill comes a random 0-300 ms (often 0-50) after the run's first delivery (so some
    land between Telegram's answer and the outbox's mark, some in a call,
    some between messages); ``first_kill`` may arrange the first one itself.
    Returns the number of kills.
    """
    for n in range(KILLS):
        before = delivered()
        bot = run.xiaoan("run", log="bot.log")
        if n == 0 and first_kill is not None:
            await first_kill(bot)
            await until(lambda: bot.poll() is not None, 60, "the bot was killed")  # noqa: B023
            continue
        await until(lambda: delivered() > before, 60, "the bot sent something")  # noqa: B023
        await asyncio.sleep(rng.choice([0.0, rng.uniform(0, 0.05), rng.uniform(0, 0.3)]))
        kill(bot)
        if delivered() >= total:
            break
    bot = run.xiaoan("run", log="bot.log")
    await until(
        lambda: all(r["state"] != "pending" for r in run.outbox_rows()), 90, "all notices sent"
    )
    bot.send_signal(signal.SIGTERM)
    bot.wait(timeout=30)
    return n + 1


async def test_notices_to_telegram_killed_at_random(tmp_path, cleanup):
    """Telegram (a stand-in process): none lost; any sent twice is recorded as such."""
    port = free_port()
    run = run_in(tmp_path, port)
    cleanup.append(run)
    log = tmp_path / "telegram.jsonl"
    log.touch()
    run.python("-m", "tests.fake_telegram", str(port), str(log), log="fake.log")
    await until_served(f"http://127.0.0.1:{port}/botTOKEN/getMe")
    texts = await seed_notices(run, [1001 + n for n in range(CHATS)])

    def accepted() -> list[str]:
        return [json.loads(line)["text"] for line in log.read_text("utf-8").splitlines()]

    async def right_after_acceptance(bot: subprocess.Popen[bytes]) -> None:
        """The first kill: by "Telegram" itself, as soon as it answered a send."""
        async with aiohttp.ClientSession() as session:
            for _ in range(600):
                try:
                    async with session.post(
                        f"http://127.0.0.1:{port}/control/kill-after-next-send",
                        data={"pid": str(bot.pid)},
                    ) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)

    rng = random.Random(int(os.environ.get("XIAOAN_CRASH_SEED", time.time_ns())))
    kills = await kill_while_sending(
        run, lambda: len(accepted()), len(texts), rng, right_after_acceptance
    )

    copies = Counter(accepted())
    rows = {r["text"]: r for r in run.outbox_rows()}
    assert set(copies) == set(texts)  # none lost
    for text in texts:
        row = rows[text]
        assert row["in_flight_at"] is None
        if copies[text] > 1:
            assert row["possibly_twice"] == 1, (text, copies[text], dict(row))
        assert copies[text] <= 2  # at most one repeat
        if row["state"] == "failed":  # stopped twice while sending it: given up, recorded
            assert (row["last_error"], row["possibly_twice"]) == (outbox.STOPPED_TWICE, 1)
        else:
            assert row["state"] == "sent"
    interrupted = sum(r["interrupted"] > 0 for r in rows.values())
    assert interrupted >= 1  # the first kill, right after an acceptance, at least
    print(  # the figures for the report (pytest -s)
        f"telegram: {kills} kills, {interrupted} notices in flight at a kill,"
        f" {sum(c > 1 for c in copies.values())} sent twice (all recorded),"
        f" {len(texts)} notices"
    )


async def test_notices_on_the_local_chat_killed_at_random_arrive_exactly_once(tmp_path, cleanup):
    """The local chat: every notice exactly once, however the kills fall."""
    port, api_port = free_port(), free_port()
    local_db = tmp_path / "localchat.sqlite3"
    run = run_in(
        tmp_path,
        api_port,
        f'[local]\nport = {port}\napi_port = {api_port}\ndatabase = "{local_db}"\n'
        f'files = "{tmp_path / "localchat-files"}"\n',
    )
    cleanup.append(run)
    store = await Store(local_db, tmp_path / "localchat-files").open()
    chat_ids = [
        (await store.add_person(f"老师{n}", "zh-CN", "2026-11-28"))[0] for n in range(CHATS)
    ]
    await store.close()
    texts = await seed_notices(run, chat_ids)
    run.xiaoan("local", log="local.log")
    await until_served(f"http://127.0.0.1:{port}/")

    def delivered() -> list[str]:
        with sqlite3.connect(local_db, timeout=10) as conn:
            bodies = conn.execute("SELECT body FROM messages WHERE from_bot = 1").fetchall()
        return [json.loads(body)["text"] for (body,) in bodies]

    rng = random.Random(int(os.environ.get("XIAOAN_CRASH_SEED", time.time_ns())))
    kills = await kill_while_sending(run, lambda: len(delivered()), len(texts), rng)

    copies = Counter(delivered())
    assert copies == Counter(texts)  # each exactly once
    rows = run.outbox_rows()
    assert all((r["state"], r["possibly_twice"]) == ("sent", 0) for r in rows)
    interrupted = sum(r["interrupted"] > 0 for r in rows)
    print(f"local chat: {kills} kills, {interrupted} notices in flight at a kill, none twice")


async def test_a_typed_answer_killed_before_its_reply_then_typed_again(tmp_path, cleanup):
    """(b) Killed between the commit of a typed deadline and its reply; the deadline
    typed again while the bot is down; afterwards each field holds what was typed."""
    port, api_port = free_port(), free_port()
    run = run_in(tmp_path, api_port, f"[local]\nport = {port}\napi_port = {api_port}\n")
    cleanup.append(run)
    page = f"http://127.0.0.1:{port}"
    run.xiaoan("local", log="local.log")
    await until_served(page + "/")
    bot = run.xiaoan(
        "run", "--demo", log="bot.log", env={"XIAOAN_TEST_KILL_AFTER_COMMIT": "2027-05-20"}
    )
    code = await demo_code(run, page, "staff")
    browser = Browser(page)
    try:
        await browser.join("演示王老师", code)
        await browser.wait_text("请发送您的姓名")
        await browser.send("演示王老师")
        await browser.wait_text("共享手机号")
        assert (await browser.post("/api/contact", {"phone": "13800138000"}))[0] == 200
        await browser.wait_text("您已以")
        await browser.send("/inspect")
        await browser.wait_text("教学楼A · 未开始")
        for label, expect in (
            ("教学楼A", "1/19 · F01"),
            ("有隐患", "请拍照发送隐患照片"),
            ("无照片", "请简要描述隐患"),
        ):
            await browser.tap(label)
            await browser.wait_text(expect)
        await browser.send("配电箱线路老化")
        await browser.wait_text("能否立即整改")
        await browser.tap("否")
        await browser.wait_text("计划完成")

        await browser.send("2027-05-20")  # committed, then the bot is killed: no reply
        await until(lambda: bot.poll() is not None, 30, "the fault point killed the bot")
        assert bot.returncode == -signal.SIGKILL
        await browser.send("2027-05-20")  # no answer came: the person types it again
        run.xiaoan("run", log="bot.log")
        await browser.wait_for(
            lambda chat: (
                any("这条消息没有记作" in (m.get("html") or "") for m in chat)
                and "具体责任人" in (chat[-1].get("html") or "")
            ),
            within=60,  # a restart on a loaded machine: start-up, the page's streams again
        )

        await browser.send("后勤处刘主任")
        await browser.wait_text("整改措施")
        await browser.send("更换全部线路")
        await browser.wait_text("停用")
        await browser.tap("否")
        await browser.wait_text("重大隐患")
        await browser.tap("是")
        await browser.wait_text("整改资金")
        await browser.send("学校专项经费 5 万元")
        await browser.wait_text("应急预案")
        await browser.send("停用并设置警戒线")
        await browser.wait_text("已登记")
    finally:
        await browser.close()
    with sqlite3.connect(run.database) as conn:
        conn.row_factory = sqlite3.Row
        hazard = conn.execute("SELECT * FROM hazards").fetchone()
    assert (
        hazard["description"],
        hazard["deadline"],
        hazard["responsible_name"],
        hazard["measures"],
        hazard["funding"],
        hazard["contingency_plan"],
        hazard["state"],
    ) == (
        "配电箱线路老化",
        "2027-05-20",
        "后勤处刘主任",
        "更换全部线路",
        "学校专项经费 5 万元",
        "停用并设置警戒线",
        "open",
    )
    logs = (tmp_path / "bot.log").read_text("utf-8", "replace")
    assert TOKEN.split(":")[1] not in logs


async def demo_code(run: Run, page: str, role: str) -> str:
    import re

    for _ in range(600):
        log = (run.folder / "bot.log").read_text("utf-8", "replace")
        found = re.search(rf"{role} +{re.escape(page)}/\?start=(\w+)", log)
        if found:
            return found.group(1)
        await asyncio.sleep(0.05)
    raise AssertionError("no demo link")
