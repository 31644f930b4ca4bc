"""Group commit across a SIGKILL (issue 12, item 5): no answer seen confirmed is lost.

The real bot (``xiaoan run --demo``) against the local chat (``xiaoan local``),
both as processes; six people walk six buildings at once through the chat
page, each tapping "no hazard" as soon as the next question shows, so that
their answers share commits. The bot is killed (SIGKILL) at random moments
while they tap. Right after each kill, before anything restarts, the database
file holds every answer whose next question a walker had seen: the next
question is shown only once the answer's (shared) commit is done. After the
restart the inbox and the local chat's redelivery apply the taps left over
(a walker who got no answer taps again, as a person would), and in the end
each walker's answers are stored exactly once each.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ledger.clock import SystemClock
from storage import campus
from storage.db import Database
from tests.localchat_support import Browser, free_port, shown, until_served
from tests.test_crash_processes import Run, demo_code, kill, run_in, until

STEPS = 8  # answers each walker gives (every building has more questions)
KILLS = 2
EXTRA_BUILDINGS = ("实验楼一", "实验楼二", "实验楼三")
BUILDINGS = ("教学楼A", "学生宿舍", "食堂", *EXTRA_BUILDINGS)
NO_HAZARD = "无隐患"


@dataclass
class Walker:
    browser: Browser
    building: str
    taps: int = 0  # taps made (or on their way), a tap repeated when nothing came included
    seen: int = 0  # the highest question number seen (the next question after the taps)

    def progress(self) -> int:
        """The highest question number of this building the chat shows."""
        found = [
            int(n)
            for m in self.browser.from_bot
            for n in re.findall(rf"【{self.building}】(\d+)/\d+", shown(m))
        ]
        return max(found, default=0)

    @property
    def confirmed(self) -> int:
        """Answers whose next question the walker saw."""
        return self.seen - 1

    def current_question(self) -> tuple[int, str]:
        """The newest message showing the question the walker is at, and its "no hazard"
        button's data (after a restart the chat may hold older questions below it)."""
        pattern = f"【{self.building}】{self.seen}/"
        for message in reversed(self.browser.from_bot):
            if pattern in shown(message):
                for row in message.get("buttons", []):
                    for button in row:
                        if NO_HAZARD in button["text"] and button.get("data"):
                            return int(message["id"]), str(button["data"])
        raise AssertionError(f"no question {pattern} with a {NO_HAZARD} button")


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        for process in reversed(run.started):
            if process.poll() is None:
                process.kill()
                process.wait()


def stored_answers(run: Run) -> dict[str, list[tuple[str, int]]]:
    """Each building's answers as the file holds them: (item code, times answered)."""
    with sqlite3.connect(run.database, timeout=10) as conn:
        rows = conn.execute(
            "SELECT b.name, c.code, COUNT(*) FROM answers a"
            " JOIN inspections i ON i.id = a.inspection_id"
            " JOIN buildings b ON b.id = i.building_id"
            " JOIN checklist_items c ON c.id = a.item_id GROUP BY a.id ORDER BY a.id"
        ).fetchall()
    found: dict[str, list[tuple[str, int]]] = {b: [] for b in BUILDINGS}
    for building, code, n in rows:
        found[building].append((code, n))
    return found


def given_events(run: Run) -> int:
    with sqlite3.connect(run.database, timeout=10) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM events WHERE action = 'answer.given'").fetchone()[0]
        )


async def walk(walker: Walker) -> None:
    """Tap "no hazard" on each question as soon as it shows, until STEPS are answered."""
    browser = walker.browser
    await browser.send("/inspect")
    await browser.wait_text(f"{walker.building} · 未开始", within=60)
    await browser.tap(walker.building)
    await browser.wait_for(lambda _: walker.progress() >= 1, within=60)
    walker.seen = walker.progress()
    while walker.seen <= STEPS:
        message_id, data = walker.current_question()
        walker.taps += 1  # counted before it leaves: the bot may store it before we hear back
        status, body = await browser.post("/api/tap", {"message_id": message_id, "data": data})
        assert status == 200, body
        try:
            await browser.wait_for(lambda _: walker.progress() > walker.seen, within=15)
        except AssertionError:
            continue  # nothing came (the bot down, restarting): tap again, as a person would
        walker.seen = walker.progress()


async def test_killed_between_grouped_commits_no_confirmed_answer_is_lost(tmp_path, runs):
    port, api_port = free_port(), free_port()
    run = run_in(tmp_path, api_port, f"[local]\nport = {port}\napi_port = {api_port}\n")
    runs.append(run)
    page = f"http://127.0.0.1:{port}"
    run.xiaoan("local", log="local.log")
    await until_served(page + "/")
    bot = run.xiaoan("run", "--demo", log="bot.log")
    code = await demo_code(run, page, "staff")
    async with Database(run.database, SystemClock()) as db, db.write() as tx:
        school_id = await tx.value("SELECT id FROM schools WHERE name = '演示小学'")
        for name in EXTRA_BUILDINGS:
            await campus.create_building(
                tx, school_id=school_id, name=name, use="teaching", floors=3,
                year_built=2010, actor_id=None,
            )  # fmt: skip

    walkers = [Walker(Browser(page), building) for building in BUILDINGS]
    rng = random.Random(int(os.environ.get("XIAOAN_CRASH_SEED", time.time_ns())))
    try:
        for n, walker in enumerate(walkers):
            await walker.browser.join(f"老师{n}", code)
            await walker.browser.wait_text("请发送您的姓名", within=60)
            await walker.browser.send(f"老师{n}")
            await walker.browser.wait_text("共享手机号", within=60)
            status, _ = await walker.browser.post("/api/contact", {"phone": "13800138000"})
            assert status == 200
            await walker.browser.wait_text("您已以", within=60)
        walking = asyncio.gather(*(walk(w) for w in walkers))
        checked: list[str] = []
        for k in range(KILLS):
            # Let them get going, then kill at a random moment while they tap.
            threshold = (k + 1) * len(walkers) * STEPS // (KILLS + 2)
            await until(
                lambda: sum(w.taps for w in walkers) >= threshold,  # noqa: B023
                120,
                "the walkers tapped",
            )
            await asyncio.sleep(rng.uniform(0, 0.3))
            kill(bot)
            # Nothing runs now but the local chat: what the file holds is what survived.
            await asyncio.sleep(0.5)  # the walkers' last looks at the page, before the kill
            stored = stored_answers(run)
            for walker in walkers:
                confirmed = walker.confirmed
                kept = stored[walker.building]
                assert len(kept) >= confirmed, (walker.building, confirmed, kept)
                assert len(kept) <= walker.seen  # none past the question tapped last
                assert all(times == 1 for _, times in kept)
                checked.append(f"{walker.building}: {confirmed} seen, {len(kept)} kept")
            bot = run.xiaoan("run", log="bot.log")
        await asyncio.wait_for(walking, 240)
    finally:
        for walker in walkers:
            await walker.browser.close()

    stored = stored_answers(run)
    for walker in walkers:
        assert walker.seen == STEPS + 1
        kept = stored[walker.building]
        assert len(kept) == STEPS, (walker.building, kept)  # every tap stored, once
        assert len({code for code, _ in kept}) == STEPS
    assert given_events(run) == len(walkers) * STEPS
    await until(lambda: not undone(run), 30, "the inbox has nothing left to apply")
    bot.terminate()
    bot.wait(timeout=30)
    print("; ".join(checked))  # the figures for the report (pytest -s)


def undone(run: Run) -> list[int]:
    with sqlite3.connect(run.database, timeout=10) as conn:
        return [r[0] for r in conn.execute("SELECT update_id FROM inbox WHERE done_at IS NULL")]
