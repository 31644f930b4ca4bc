"""The load bench (issue 12, item 6): N people walking on the local chat over HTTP.

``xiaoan run`` without a token (the bot, and the local chat as its child
process, as a school runs it) is started on 127.0.0.1 with a fresh database
holding one school with buildings enough for each person and a staff
invitation for all of them. This process then plays N browsers through the
page's own routes (``/api/join``, ``/api/send``, ``/api/contact``,
``/api/tap``, and the ``/api/events`` stream, whose events bring the
messages that changed, as they do for the page): each joins
(name, phone), opens its building's walk from the building's code
(``/start w_<id>``, as the QR code on the wall does), and then taps 无隐患
every 2 s. The time measured is from the tap's POST to the page holding the
next question (a bot message, new or edited, with a 无隐患 button for another
item, or the walk's last question); after a walk's last question the person
answers 否, waits for the summary and opens their next building (untimed).
Any answer that is not 200, or a next question that does not come within
30 s, is an error. Each phase also prints taps/s and the CPU each process
used per tap (the bot, the local chat, this bench's browsers; from /proc).

Two phases of the same length in one run: the N people alone (the anchor),
then the same with one more person sending 100 messages in a second. Prints
p50/p99/max and errors of each, and the difference of the p99s (targets on
the 2-core machine: 300 people p99 < 500 ms, 1,000 people p99 < 2 s, 0
errors; the flood raises the p99 by < 200 ms). Bounded: ``--seconds`` per
phase, joins at most ``--joining`` at once, everything on 127.0.0.1.

    .venv/bin/python bench/bench_load.py [--people 300] [--seconds 20] [--no-flood]
        [--timeline]

``--timeline`` prints each phase second by second (taps, p50, max): a queue that
forms, with or without the flood, shows as a step that stays.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bot import loop as event_loop
from ledger.clock import SystemClock
from ledger.roles import Role
from storage import campus, people
from storage.db import Database

HOST = "127.0.0.1"
TAP_EVERY = 2.0
NEXT_WITHIN = 30.0  # a next question later than this is an error
FLOOD = 100
STEP = "无隐患"
LAST_QUESTION = "还有其他隐患吗"  # after a walk's last item
LAST = "否"
SUMMARY = "排查小结"
ITEMS = 19  # a teaching building of 2005: the items of a walk


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Setup:
    folder: Path
    config: Path
    page: str
    # Each person's buildings: a walk has 19 items, a run may need more taps than that.
    buildings: list[list[int]] = field(default_factory=list)
    code: str = ""


def write_config(folder: Path, people_count: int) -> Setup:
    """Settings for one machine's bot and local chat, its limits opened for one address
    (every browser here comes from 127.0.0.1)."""
    port = free_port()
    api_port = free_port()
    config = folder / "config.toml"
    many = people_count * 1000
    config.write_text(
        f'[storage]\ndatabase = "{folder / "xiaoan.sqlite3"}"\nphotos = "{folder / "photos"}"\n'
        f'[local]\nhost = "{HOST}"\nport = {port}\napi_host = "{HOST}"\napi_port = {api_port}\n'
        f"max_streams = {people_count + 50}\n"
        f"address_requests_per_second = {many}\naddress_requests_burst = {many}\n"
        f"joins_per_hour = {many}\njoins_burst = {many}\n",
        encoding="utf-8",
    )
    return Setup(folder, config, f"http://{HOST}:{port}")


async def seed(setup: Setup, people_count: int, per_person: int) -> None:
    """One school, ``per_person`` buildings for each person, one staff invitation for all."""
    from bot.config import load_config

    config = load_config(setup.config, env={})
    db = await Database(config.database, SystemClock(config.timezone)).open()
    try:
        async with db.write() as tx:
            school = await campus.create_school(
                tx, name="负载小学", kind="primary", ownership="public", district="测试区",
                actor_id=None,
            )  # fmt: skip
            for n in range(people_count + 1):
                mine = []
                for k in range(per_person):
                    mine.append(await campus.create_building(
                        tx, school_id=school, name=f"教学楼{n}-{k}", use="teaching", floors=4,
                        year_built=2005, actor_id=None,
                    ))  # fmt: skip
                setup.buildings.append(mine)
            setup.code = await people.create_invitation(
                tx, role=Role.STAFF, school_id=school, created_by=None, days=1,
                max_uses=people_count + 1,
            )  # fmt: skip
    finally:
        await db.close()


class Browser:
    """One person's page: a cookie jar, the event stream, the messages it holds."""

    def __init__(self, page: str, connector: aiohttp.BaseConnector) -> None:
        self.page = page
        self.session = aiohttp.ClientSession(
            connector=connector, connector_owner=False, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )
        self.version = 0
        self.messages: dict[int, dict[str, Any]] = {}
        self.changed = asyncio.Event()
        self.fresh: list[dict[str, Any]] = []  # brought by events, not yet looked at
        self.errors: list[str] = []
        self.buildings: list[int] = []  # those not walked yet
        self._stream: asyncio.Task[None] | None = None

    async def next_building(self) -> None:
        """Open the walk of one's next building from its code (as the QR code on its wall
        does), until its first question."""
        await self.post("/api/send", {"text": f"/start w_{self.buildings.pop(0)}"})
        await self.wait(lambda m: STEP in labels(m))

    async def finish_walk(self) -> None:
        """The last item answered: no other hazard, the summary, then the next building."""
        tapped = self.button_of(LAST)
        if tapped is None:
            raise RuntimeError("the last question has no 否 button")
        await self.post("/api/tap", {"message_id": tapped[0], "data": tapped[1]})
        await self.wait_text(SUMMARY)
        await self.next_building()

    async def post(self, path: str, body: dict[str, Any], read: bool = False) -> Any:
        """A change, as the page posts it; its answer read when asked for or refused.
        What events brought before it is no answer to it (``wait`` looks at what follows)."""
        self.fresh.clear()
        async with self.session.post(self.page + path, json=body) as response:
            if response.status != 200:
                raise RuntimeError(f"{path}: {response.status} {await response.text()}")
            return await response.json(content_type=None) if read else None

    async def join(self, name: str, code: str) -> None:
        answer = await self.post(
            "/api/join", {"name": name, "code": code, "language": "zh-CN"}, read=True
        )
        self.session.headers["X-CSRF-Token"] = answer["csrf"]
        self._stream = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        """The page's event stream: each 'changed' event brings the messages changed since
        the version held (alerts and 'typing…' the page just shows)."""
        url = f"{self.page}/api/events?since={self.version}"
        async with self.session.get(url, timeout=None) as response:
            if response.status != 200:
                self.errors.append(f"events: {response.status}")
                return
            async for line in response.content:
                if line.startswith(b"data:") and b'"changed"' in line:
                    self.show(json.loads(line[5:])["messages"])

    def show(self, changed: list[dict[str, Any]]) -> None:
        """Messages an event brought: kept, and handed to whoever waits."""
        for message in changed:
            self.messages[message["id"]] = message
            self.version = max(self.version, message["version"])
        self.fresh.extend(changed)
        self.changed.set()

    async def wait(self, found: Any, within: float = NEXT_WITHIN) -> dict[str, Any]:
        """Wait (on the event stream) until a bot message newer than now satisfies ``found``.

        Newer than now: brought by an event since the last change posted (``post``), so
        only those are looked at.
        """
        deadline = time.perf_counter() + within
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no answer in time")
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)
            self.changed.clear()
            fresh, self.fresh = self.fresh, []
            for message in sorted(fresh, key=lambda m: m["id"]):
                if message["from_bot"] and found(message):
                    return message

    async def wait_text(self, text: str) -> dict[str, Any]:
        return await self.wait(lambda m: text in (m.get("html") or "") or text in labels(m))

    def step_button(self) -> tuple[int, str] | None:
        return self.button_of(STEP)

    def button_of(self, label: str) -> tuple[int, str] | None:
        """The newest button with this label: its message and data."""
        for message in sorted(self.messages.values(), key=lambda m: -m["id"]):
            for row in message.get("buttons") or []:
                for button in row:
                    if label in button["text"] and button.get("data"):
                        return message["id"], button["data"]
        return None

    async def close(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._stream
        await self.session.close()


def labels(message: dict[str, Any]) -> str:
    return " ".join(b["text"] for row in message.get("buttons") or [] for b in row)


async def onboard(browser: Browser, n: int, setup: Setup) -> None:
    """Join from the invitation, name and phone, then the building's code."""
    await browser.join(f"测试{n}号", setup.code)
    await browser.wait_text("姓名")
    await browser.post("/api/send", {"text": f"测试{n}号"})
    await browser.wait_text("手机号")
    await browser.post("/api/contact", {"phone": f"139{n:08d}"})
    await browser.wait_text("您已以")
    browser.buildings = list(setup.buildings[n])
    await browser.next_building()


# A timed tap: when it was made (time.perf_counter) and how long its next question took.
Timed = tuple[float, float]


async def walk(browser: Browser, until: float, times: list[Timed], start: float) -> None:
    """Tap 无隐患 every TAP_EVERY seconds; time each tap to the next question."""
    await asyncio.sleep(start)
    while time.perf_counter() < until:
        began = time.perf_counter()
        tapped = browser.step_button()
        if tapped is None:
            browser.errors.append("no question to answer")
            return
        message_id, data = tapped
        try:
            await browser.post("/api/tap", {"message_id": message_id, "data": data})
            shown = await browser.wait(
                lambda m, old=data: (
                    LAST_QUESTION in (m.get("html") or "")
                    or any(
                        STEP in b["text"] and b.get("data") and b["data"] != old
                        for row in m.get("buttons") or []
                        for b in row
                    )
                )
            )
            times.append((began, time.perf_counter() - began))  # to the next question
            if LAST_QUESTION in (shown.get("html") or ""):
                if not browser.buildings:
                    raise RuntimeError("walked every building: seed more (per_person)")
                began = time.perf_counter()  # not timed: the summary and the next walk's start
                await browser.finish_walk()
        except (RuntimeError, TimeoutError, aiohttp.ClientError) as error:
            browser.errors.append(f"{type(error).__name__}: {error}")
            return
        await asyncio.sleep(max(0.0, TAP_EVERY - (time.perf_counter() - began)))


async def flood(browser: Browser) -> None:
    """One person sends 100 messages within a second."""
    for i in range(FLOOD):
        try:
            await browser.post("/api/send", {"text": f"你好 {i}"})
        except (RuntimeError, aiohttp.ClientError) as error:
            browser.errors.append(f"flood: {error}")
        await asyncio.sleep(1.0 / FLOOD)


async def phase(
    walkers: list[Browser], seconds: float, flooder: Browser | None, server: int
) -> tuple[list[Timed], int, Usage, Usage, float, float]:
    """The walkers tapping for ``seconds`` (and the flooder, if any); CPU read around it.

    First (untimed) each walker opens their next building, so that every phase starts at
    a walk's first item: phases are alike, and the walks' ends (the summary, the next
    building), which come for everyone at about the same tap, fall in neither.
    """
    gate = asyncio.Semaphore(50)

    async def fresh(browser: Browser) -> None:
        async with gate:
            try:
                await browser.next_building()
            except (RuntimeError, TimeoutError, aiohttp.ClientError) as error:
                browser.errors.append(f"next building: {error}")

    await asyncio.gather(*(fresh(b) for b in walkers if not b.errors))
    times: list[Timed] = []
    cpu_before, began = cpu_now(server), time.perf_counter()
    errors_before = sum(len(b.errors) for b in walkers)
    until = time.perf_counter() + seconds
    tasks = [
        walk(browser, until, times, TAP_EVERY * n / len(walkers))
        for n, browser in enumerate(walkers)
    ]
    if flooder is not None:
        tasks.append(flood(flooder))
    await asyncio.gather(*tasks)
    errors = sum(len(b.errors) for b in walkers) - errors_before
    return times, errors, cpu_before, cpu_now(server), began, time.perf_counter() - began


def descendants(pid: int) -> list[int]:
    """A process and every process it started (from /proc), parents first."""
    found = [pid]
    for one in found:
        for task in Path(f"/proc/{one}/task").glob("*/children"):
            with suppress(OSError):
                found.extend(int(child) for child in task.read_text().split())
    return found


def cpu_of(pid: int) -> tuple[str, float, float]:
    """A process's name (its command's last words), the CPU seconds it used so far, and the
    seconds its threads spent ready to run but waiting for a core (the machine's other load)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "", 0.0, 0.0
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    name = " ".join(w.decode(errors="replace") for w in words[-3:] if w and b"/" not in w)
    return name or str(pid), ticks / os.sysconf("SC_CLK_TCK"), waited(pid)


def waited(pid: int) -> float:
    """Seconds the process's threads waited on a run queue (/proc/<pid>/task/*/schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with suppress(OSError, ValueError, IndexError):
            total += int(task.read_text().split()[1])
    return total / 1e9


Usage = dict[str, tuple[float, float]]  # process -> (CPU seconds, seconds waiting for a core)


def cpu_now(server: int) -> Usage:
    """CPU and run-queue seconds so far of each server process and of this bench."""
    used = {
        f"{name} [{pid}]": (seconds, waiting)
        for pid in descendants(server)
        for name, seconds, waiting in [cpu_of(pid)]
    }
    mine = os.times()
    used["bench client (browsers)"] = (mine.user + mine.system, waited(os.getpid()))
    return used


def show_cpu(before: Usage, after: Usage, taps: int, seconds: float) -> None:
    """CPU ms per tap of each process, taps per second, and how long each waited for a core
    (high on a machine busy with other work: its p99s then say more of the machine)."""
    print(f"    {taps / seconds:6.1f} taps/s; CPU ms per tap:", flush=True)
    for name, (used, waiting) in after.items():
        spent = used - before.get(name, (0.0, 0.0))[0]
        stalled = waiting - before.get(name, (0.0, 0.0))[1]
        print(
            f"      {name:40} {spent * 1000 / max(taps, 1):6.2f}  ({spent / seconds * 100:3.0f} %"
            f" of a core; waited for a core {stalled / seconds * 100:3.0f} % of the time)"
        )


def show(
    name: str,
    timeline: bool,
    times: list[Timed],
    errors: int,
    cpu_before: Usage,
    cpu_after: Usage,
    began: float,
    seconds: float,
) -> float:
    """p50/p99/max and errors of a phase, then its CPU per tap (and, asked, second by second)."""
    ordered = sorted(took for _, took in times) or [float("nan")]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"  {name:32} taps {len(times):6}  p50 {statistics.median(ordered) * 1000:7.0f} ms"
        f"  p99 {p99 * 1000:7.0f} ms  max {ordered[-1] * 1000:7.0f} ms  errors {errors}",
        flush=True,
    )
    show_cpu(cpu_before, cpu_after, len(times), seconds)
    if timeline:
        show_timeline(times, began)
    return p99


def show_timeline(times: list[Timed], began: float) -> None:
    """Each second of the phase: the taps made in it, their p50 and max. A queue that forms
    shows as a step up that stays (each person taps again as soon as they are answered
    late), a passing load as a bump."""
    seconds: dict[int, list[float]] = {}
    for at, took in times:
        seconds.setdefault(int(at - began), []).append(took)
    for second, tooks in sorted(seconds.items()):
        p50, most = statistics.median(tooks) * 1000, max(tooks) * 1000
        print(f"    second {second:3}  taps {len(tooks):5}  p50 {p50:6.0f} ms  max {most:6.0f} ms")


async def run(
    people_count: int, seconds: float, joining: int, flooded: bool, timeline: bool = False
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        setup = write_config(Path(folder), people_count)
        env = {k: v for k, v in os.environ.items() if k != "XIAOAN_TELEGRAM_TOKEN"}
        init = [sys.executable, "-m", "bot.cli", "--config", str(setup.config)]
        await asyncio.to_thread(
            subprocess.run, [*init, "init"], check=True, env=env, capture_output=True
        )
        # Taps a person may make in both phases, and a building's walk to spare.
        # Each phase starts on a fresh building (so both phases walk the same items, and
        # nobody's walk ends together with everyone else's in one of them only), plus the
        # walks a long phase runs through, plus one to spare.
        per_person = 2 * (1 + int(seconds / TAP_EVERY) // ITEMS) + 1
        await seed(setup, people_count, per_person)
        log = (Path(folder) / "bot.log").open("wb")
        bot = subprocess.Popen(  # noqa: S603, ASYNC220 - this interpreter, our own command; once
            [*init, "run"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        connector = aiohttp.TCPConnector(limit=0)
        browsers = [Browser(setup.page, connector) for _ in range(people_count + 1)]
        try:
            await served(setup.page)
            started = time.perf_counter()
            gate = asyncio.Semaphore(joining)

            async def one(n: int) -> None:
                async with gate:
                    try:
                        await onboard(browsers[n], n, setup)
                    except (RuntimeError, TimeoutError, aiohttp.ClientError) as error:
                        browsers[n].errors.append(f"joining: {error}")

            await asyncio.gather(*(one(n) for n in range(people_count + 1)))
            ready = [b for b in browsers if not b.errors]
            print(
                f"{len(ready)} of {people_count + 1} people joined and at their building's first"
                f" question in {time.perf_counter() - started:.0f} s",
                flush=True,
            )
            walkers, flooder = ready[:-1], ready[-1]
            print(
                f"{len(walkers)} people tapping every {TAP_EVERY:g} s, {seconds:g} s a phase"
                f" (the bot, the local chat and these browsers on {event_loop.name()})"
            )
            alone = show("alone (anchor)", timeline, *await phase(walkers, seconds, None, bot.pid))
            if flooded:
                under = show(
                    f"{FLOOD} msgs flooded in second 0",
                    timeline,
                    *await phase(walkers, seconds, flooder, bot.pid),
                )
                print(
                    f"  p99 under the flood - p99 alone: {(under - alone) * 1000:+.0f} ms"
                    f" (ratio {under / alone:.2f}; target < +200 ms)"
                )
            errors = [e for b in browsers for e in b.errors]
            if errors:
                print(f"  first errors: {json.dumps(errors[:3], ensure_ascii=False)}")
                lines = (Path(folder) / "bot.log").read_text("utf-8", "replace").splitlines()
                print("  the server's last log lines:", *lines[-15:], sep="\n    ")
        finally:
            for browser in browsers:
                await browser.close()
            await connector.close()
            bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(timeout=20)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
            log.close()


async def served(page: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            with suppress(aiohttp.ClientError):
                async with session.get(page + "/") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{page} never answered")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300, help="people walking (300)")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of a phase (20)")
    parser.add_argument("--joining", type=int, default=50, help="joins at once (50)")
    parser.add_argument("--no-flood", action="store_true", help="skip the flood phase")
    parser.add_argument(
        "--timeline", action="store_true", help="each phase second by second: taps, p50, max"
    )
    options = parser.parse_args()
    event_loop.run(
        run(
            options.people,
            options.seconds,
            options.joining,
            not options.no_flood,
            options.timeline,
        )
    )
