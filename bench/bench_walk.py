"""Benchmark: the cost of one "no hazard" step of a walk (issue 12, "Benchmarks that must exist").

    .venv/bin/python bench/bench_walk.py [--rounds 5] [--steps 40] [--walkers 50]
                                         [--concurrent-steps 4]

Three things are timed in one process, in turns (``--rounds`` times, ``--steps``
updates each), so that the machine's noise weighs on all of them alike:

- the echo: a bare python-telegram-bot Application answering a text with a
  text (``reply_text``);
- the tap floor: a bare Application answering a tap as a walk's step needs at
  the least: the tap answered, the tapped message edited, a message with a
  keyboard sent (``bench_limits.step``);
- the step: a walker's tap on "no hazard" through the real Application
  (``bot.app``, per-person lanes, the project's rate limiter unpaced), against
  the tests' in-process fake Bot API (``tests.simulator``), on a SQLite file.

All three talk to the same fake Bot API, whose every call lets other updates
run while it is under way, as a network call does. A step's update is stored
in the inbox before it is timed, as polling does for a whole batch of updates. The
median step is printed as a ratio to the median tap floor (target: at most
2.5x) and to the median echo.

Then what a step costs the database, counted by ``storage.trace`` (separately
from the timing): SQL reads, writes, commits and trips to the database's
thread per step, one walker alone (targets: at most 5 reads, at most 1
commit), and the commits per step with ``--walkers`` people tapping at the
same moment, ``--concurrent-steps`` times each (target: under 0.5, group
commit). Of the commits, those synced to disk are printed apart: a step's
commit is not synced when it commits alone, its update having been synced
into the inbox on arrival (``Database.write_at_once``'s ``replayable``), so
the fsyncs a step costs are the arrival's and the synced commits'. A walker
alone is written on the event loop's own connection (no thread trip); with
others' updates under way, in the writer's thread, where they join its commit.
With the defaults it finishes in well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bench.bench_contention import NO_HAZARD, building_starts, button, newest
from bench.bench_limits import step as tap_floor_step
from bot import loop as event_loop
from ledger.clock import FakeClock
from ledger.roles import Role
from storage import campus, inbox
from storage.trace import Tally, counting
from tests.conftest import cli_invitation, join, make_school
from tests.simulator import TOKEN, Chat, FakeBotAPI, Sent, Simulator

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BOT = {"id": 123456, "is_bot": True, "first_name": "xiaoan"}


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bare echo: a text answered with itself."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def bare_application(api: FakeBotAPI) -> Application[Any, Any, Any, Any, Any, Any]:
    """A python-telegram-bot Application with nothing of the project's."""
    app = ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(tap_floor_step))
    return app


class Baselines:
    """The echo and the tap floor, on the fake Bot API of the walk."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.app = bare_application(api)
        self.ids = itertools.count(10**9)
        self.chat = 777_000_001  # nobody of the walk's school

    def text(self) -> Update:
        raw = {
            "update_id": next(self.ids),
            "message": {
                "message_id": next(self.ids),
                "date": 0,
                "chat": {"id": self.chat, "type": "private"},
                "from": {"id": self.chat, "is_bot": False, "first_name": "回声"},
                "text": "你好",
            },
        }
        return Update.de_json(raw, self.app.bot)

    def tap(self) -> Update:
        """A tap on a fresh question (Telegram holds it, so that it can be edited)."""
        question = Sent(self.chat, next(self.api._ids), "第1项：灭火器在有效期内？", "", [], None)
        self.api.messages[(self.chat, question.message_id)] = question
        query = f"floor{next(self.ids)}"
        self.api.tapped(query)
        raw = {
            "update_id": next(self.ids),
            "callback_query": {
                "id": query,
                "from": {"id": self.chat, "is_bot": False, "first_name": "回声"},
                "chat_instance": "ci",
                "data": "a:ok",
                "message": {
                    "message_id": question.message_id,
                    "date": 0,
                    "chat": {"id": self.chat, "type": "private"},
                    "from": BOT,
                    "text": question.text,
                },
            },
        }
        return Update.de_json(raw, self.app.bot)


class Walker:
    """One person walking building after building, answering "no hazard"."""

    def __init__(self, sim: Simulator, chat: Chat, buildings: list[str]) -> None:
        self.sim = sim
        self.chat = chat
        self.buildings = buildings
        self.starts: list[tuple[Sent, str]] = []

    async def list_buildings(self) -> None:
        """``/inspect`` once: its list's buttons (all its pages) start each of the walker's
        buildings."""
        found = await building_starts(self.sim, self.chat, self.buildings)
        self.starts = [found[b] for b in reversed(self.buildings)]

    async def start_walk(self) -> None:
        assert self.starts, "the walker walked all its buildings: give it more (--buildings)"
        listing, start = self.starts.pop()
        await self.chat.tap_data(start, listing)

    async def next_tap(self) -> dict[str, Any]:
        """The update of the next "no hazard" tap (a new walk begun when one ends)."""
        question = newest(self.sim, self.chat)
        data = button(question, NO_HAZARD)
        if data is None:  # the building's last question was answered
            await self.start_walk()
            question = newest(self.sim, self.chat)
            data = button(question, NO_HAZARD)
            assert data is not None, f"no {NO_HAZARD} button in {question.text!r}"
        return self.chat.tap_update(data, question)


async def handled(sim: Simulator, raw: dict[str, Any]) -> None:
    """What the bot does with a stored update (the sender is woken only by notices)."""
    await sim.handle(raw)
    sim.assert_clean()


def parsed(sim: Simulator, raw: dict[str, Any]) -> Update:
    """The update as polling hands it over: parsed by python-telegram-bot before any
    handler runs, as the echo's and the tap floor's are (their parsing is not timed)."""
    return Update.de_json(raw, sim.app.bot)


async def processed(sim: Simulator, update: Update) -> None:
    """What the Application does with a parsed update (``Simulator.handle`` after its
    parse): through its update processor, each person's lane, as when polling."""
    app = sim.app
    await app.update_processor.process_update(update, app.process_update(update))
    sim.assert_clean()


async def timed(work: Callable[[], Awaitable[None]], times: list[float]) -> None:
    started = time.perf_counter()
    await work()
    times.append(time.perf_counter() - started)


async def timing(
    sim: Simulator, base: Baselines, walker: Walker, rounds: int, steps: int
) -> tuple[list[float], list[float], list[float]]:
    """Echo, tap floor and step, ``steps`` of each in turn, ``rounds`` times."""
    echoes: list[float] = []
    floors: list[float] = []
    walks: list[float] = []
    for _ in range(rounds):
        for _ in range(steps):
            await timed(partial(base.app.process_update, base.text()), echoes)
        for _ in range(steps):
            await timed(partial(base.app.process_update, base.tap()), floors)
        for _ in range(steps):
            raw = await walker.next_tap()
            await inbox.receive(sim.db, [raw])
            await timed(partial(processed, sim, parsed(sim, raw)), walks)
    return echoes, floors, walks


async def counted_alone(sim: Simulator, walker: Walker, steps: int) -> Tally:
    """The database's work for ``steps`` steps of one walker, summed."""
    total = Tally()
    async with counting(sim.db) as tally:
        for _ in range(steps):
            raw = await walker.next_tap()
            await inbox.receive(sim.db, [raw])
            before = tally.snapshot()
            await handled(sim, raw)
            total = total + (tally.snapshot() - before)
    return total


async def counted_together(
    sim: Simulator, walkers: list[Walker], times: int
) -> tuple[Tally, int, float]:
    """Every walker taps at the same moment, ``times`` times: the summed cost, the steps,
    and the seconds spent handling them (counting on)."""
    total = Tally()
    steps = 0
    seconds = 0.0
    async with counting(sim.db) as tally:
        for _ in range(times):
            raws = [await w.next_tap() for w in walkers]
            await inbox.receive(sim.db, raws)  # one getUpdates batch, as polling stores it
            before = tally.snapshot()
            started = time.perf_counter()
            await asyncio.gather(*(sim.handle(raw) for raw in raws))
            seconds += time.perf_counter() - started
            sim.assert_clean()
            total = total + (tally.snapshot() - before)
            steps += len(raws)
    return total, steps, seconds


def per_step(name: str, tally: Tally, steps: int) -> None:
    print(
        f"  {name:26} reads {tally.reads / steps:5.2f}  writes {tally.writes / steps:5.2f}"
        f"  commits {tally.commits / steps:5.2f} (synced {tally.syncs / steps:4.2f})"
        f"  thread trips {tally.trips / steps:6.2f}"
        f"  ({steps} steps)"
    )


async def setup(sim: Simulator, walkers: int, buildings: int) -> list[Walker]:
    """A school whose ``walkers`` staff joined through the chat; the first walker (timed
    alone) gets ``buildings`` buildings, each other one building."""
    school = await make_school(sim)
    code = await cli_invitation(sim, Role.STAFF, school.school_id, uses=walkers + 1)
    names = [f"楼{n:03d}" for n in range(buildings + walkers - 1)]
    async with sim.db.write() as tx:
        for name in names:
            await campus.create_building(
                tx, school_id=school.school_id, name=name, use="teaching",
                floors=3, year_built=2005, actor_id=None,
            )  # fmt: skip
    people = [await join(sim, code, f"老师{n}") for n in range(walkers)]
    found = [Walker(sim, people[0], names[:buildings])]
    found += [Walker(sim, chat, [names[buildings + n]]) for n, chat in enumerate(people[1:])]
    for walker in found:
        await walker.list_buildings()
        await walker.start_walk()
    return found


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(Path(tmp), FakeClock(NOW))
        await sim.start()
        sim.auto_send = False
        sim.api.yields = True  # each Bot API call lets other updates run, as a network does
        began = time.perf_counter()
        walkers = await setup(sim, max(1, args.walkers), args.buildings)
        print(f"set up in {time.perf_counter() - began:.1f} s; event loop {event_loop.name()}")
        base = Baselines(sim.api)
        await base.app.initialize()
        print(
            f"{args.rounds} rounds of {args.steps} echoes, tap floors and steps, in turns;"
            f" then {args.walkers} walkers x {args.concurrent_steps} steps at once"
        )
        await timing(sim, base, walkers[0], 1, min(10, args.steps))  # warm-up, not counted
        echoes, floors, steps = await timing(sim, base, walkers[0], args.rounds, args.steps)
        alone = await counted_alone(sim, walkers[0], args.steps)
        together, together_steps, seconds = await counted_together(
            sim, walkers, args.concurrent_steps
        )
        await base.app.shutdown()
        await sim.stop()
    echo, floor, step = (statistics.median(t) for t in (echoes, floors, steps))
    print(f"  echo (bare PTB)               median {echo * 1000:7.3f} ms")
    print(f"  tap floor (answer, edit, send) median {floor * 1000:7.3f} ms")
    print(f"  walk step (no hazard)         median {step * 1000:7.3f} ms")
    print(f"  step / tap floor: {step / floor:6.2f}x  (target <= 2.5x)")
    print(f"  step / echo:      {step / echo:6.2f}x  (echo / step: {echo / step:.3f})")
    per_step("one walker alone:", alone, args.steps)
    per_step(f"{args.walkers} walkers at once:", together, together_steps)
    print(
        f"  {args.walkers} walkers at once: {together_steps / seconds:.0f} steps/s"
        f" ({seconds / together_steps * 1000:.2f} ms of the bot's time a step, counting on)"
    )
    print("  targets: <= 5 reads and <= 1 commit a step alone; < 0.5 commit a step at 50")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="turns of the three (5)")
    parser.add_argument("--steps", type=int, default=40, help="updates of each in a turn (40)")
    parser.add_argument("--walkers", type=int, default=50, help="walkers tapping at once (50)")
    parser.add_argument(
        "--concurrent-steps", type=int, default=4, help="taps of each walker at once (4)"
    )
    parser.add_argument(
        "--buildings", type=int, default=15, help="buildings the walker timed alone may walk (15)"
    )
    event_loop.run(main(parser.parse_args()))
