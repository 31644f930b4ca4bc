"""Benchmark: one "no hazard" step of a supervision walk (督查), against the tap floor.

    .venv/bin/python bench/bench_supervision_step.py [--rounds 5] [--steps 40]

The supervisors' walk answers the same way the school's does (issue 12, items 5 and 6):
timed here like ``bench_walk.py`` times the school's, in one process, in turns (``--rounds``
times, ``--steps`` updates each) so that the machine's noise weighs on all alike:

- the tap floor: a bare python-telegram-bot Application answering a tap as a step needs at
  the least (the tap answered, the tapped message edited, a message with a keyboard sent);
- the step: a supervisor's tap on "no hazard" through the real Application (``bot.app``)
  against the tests' in-process fake Bot API, on a SQLite file, building after building of
  one visit (a walk's end, "any other hazard? no", and the next building are not timed).

A step's update is stored in the inbox and parsed before it is timed, as polling does
(the tap floor's is parsed untimed too).
The median step is printed as a ratio to the median tap floor; then what a step costs,
counted (not timed) by ``storage.trace``: SQL reads, writes, commits and thread trips, and
the Bot API calls that Telegram rate-limits (the tap's own answer is not one of them).
Runs on whichever code is beside it (``sys.path``), so the same script measures a branch
and the code before it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_contention import NO_HAZARD, button, newest
from bench.bench_walk import Baselines, handled, parsed, per_step, processed, timed
from bot import loop as event_loop
from ledger.clock import FakeClock
from ledger.roles import Role
from storage import campus, inbox
from storage.trace import Tally, counting
from tests.conftest import cli_invitation, join, make_school
from tests.simulator import Chat, Simulator

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
RATE_LIMITED = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto"}


class Supervisor:
    """One supervisor on a visit, walking its buildings one after another, all "no hazard"."""

    def __init__(self, sim: Simulator, chat: Chat, buildings: list[str]) -> None:
        self.sim = sim
        self.chat = chat
        self.buildings = list(reversed(buildings))

    async def next_building(self) -> None:
        assert self.buildings, "every building walked: give it more (--buildings)"
        visit = newest(self.sim, self.chat)
        start = button(visit, f"🕵️ {self.buildings.pop()}")
        assert start is not None, f"no building button in {visit.text!r}"
        await self.chat.tap_data(start, visit)

    async def next_tap(self) -> dict[str, Any]:
        """The update of the next "no hazard" tap (the next building once a walk ends)."""
        question = newest(self.sim, self.chat)
        data = button(question, NO_HAZARD)
        if data is None:  # "any other hazard?": no, then the visit's next building
            no = button(question, "否")
            assert no is not None, f"neither {NO_HAZARD} nor 否 in {question.text!r}"
            await self.chat.tap_data(no, question)
            await self.next_building()
            question = newest(self.sim, self.chat)
            data = button(question, NO_HAZARD)
            assert data is not None, f"no {NO_HAZARD} button in {question.text!r}"
        return self.chat.tap_update(data, question)


async def setup(sim: Simulator, buildings: int) -> Supervisor:
    """A school with ``buildings`` buildings; a supervisor who starts a visit there by hand."""
    school = await make_school(sim)
    names = [f"楼{n:03d}" for n in range(buildings)]
    async with sim.db.write() as tx:
        for name in names:
            await campus.create_building(
                tx, school_id=school.school_id, name=name, use="teaching",
                floors=3, year_built=2005, actor_id=None,
            )  # fmt: skip
    chat = await join(sim, await cli_invitation(sim, Role.SUPERVISOR), "督导甲")
    await chat.send("/supervise")
    await chat.tap("自选学校")
    await chat.tap("实验小学")
    walker = Supervisor(sim, chat, names)
    await walker.next_building()
    return walker


async def timing(
    sim: Simulator, base: Baselines, walker: Supervisor, rounds: int, steps: int
) -> tuple[list[float], list[float]]:
    """Tap floor and step, ``steps`` of each in turn, ``rounds`` times."""
    floors: list[float] = []
    walks: list[float] = []
    for _ in range(rounds):
        for _ in range(steps):
            await timed(partial(base.app.process_update, base.tap()), floors)
        for _ in range(steps):
            raw = await walker.next_tap()
            await inbox.receive(sim.db, [raw])
            await timed(partial(processed, sim, parsed(sim, raw)), walks)
    return floors, walks


async def counted(sim: Simulator, walker: Supervisor, steps: int) -> tuple[Tally, int]:
    """The database's work for ``steps`` steps, summed, and the rate-limited calls made."""
    total = Tally()
    limited = 0
    async with counting(sim.db) as tally:
        for _ in range(steps):
            raw = await walker.next_tap()
            await inbox.receive(sim.db, [raw])
            before, calls = tally.snapshot(), len(sim.api.calls)
            await handled(sim, raw)
            total = total + (tally.snapshot() - before)
            limited += len([n for n, _ in sim.api.calls[calls:] if n in RATE_LIMITED])
    return total, limited


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = Simulator(Path(tmp), FakeClock(NOW))
        await sim.start()
        sim.auto_send = False
        walker = await setup(sim, args.buildings)
        base = Baselines(sim.api)
        await base.app.initialize()
        print(f"{args.rounds} rounds of {args.steps} tap floors and supervision steps, in turns")
        await timing(sim, base, walker, 1, min(10, args.steps))  # warm-up, not counted
        floors, steps = await timing(sim, base, walker, args.rounds, args.steps)
        tally, limited = await counted(sim, walker, args.steps)
        await base.app.shutdown()
        await sim.stop()
    floor, step = statistics.median(floors), statistics.median(steps)
    print(f"  tap floor (answer, edit, send)   median {floor * 1000:7.3f} ms")
    print(f"  supervision step (no hazard)     median {step * 1000:7.3f} ms")
    print(f"  step / tap floor: {step / floor:6.2f}x")
    per_step("one supervisor alone:", tally, args.steps)
    print(f"  rate-limited Bot API calls a step: {limited / args.steps:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="turns of the two (5)")
    parser.add_argument("--steps", type=int, default=40, help="updates of each in a turn (40)")
    parser.add_argument(
        "--buildings", type=int, default=20, help="buildings the supervisor may walk (20)"
    )
    event_loop.run(main(parser.parse_args()))
