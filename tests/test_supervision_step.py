"""A supervision walk's step (issue 12, items 5 and 6, for the supervisors' walk): a
"no hazard" or "not applicable" tap reads in one trip, writes in one transaction and
costs one rate-limited Bot API call: the tapped question is edited in place into the
next one, the last answers (each with the school's own) shown above it.

The counts are deterministic (statements and trips, not time), so they are asserted.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from storage import inbox, trace
from storage.db import Database
from tests.simulator import Chat, Sent, Simulator, texts
from tests.supervision_helpers import World, start_visit, world

RATE_LIMITED = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto"}


@contextlib.asynccontextmanager
async def read_trips(db: Database) -> AsyncIterator[list[int]]:
    """Count the trips to the read connection's thread alone (``storage.trace`` counts the
    writer's too); inside ``trace.counting``."""
    conn = db._reader
    assert conn is not None
    trips = [0]
    through: Callable[..., Any] = conn._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        trips[0] += 1
        return await through(fn, *args, **kwargs)

    conn._execute = counted  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        conn._execute = through  # type: ignore[method-assign]


@dataclass(frozen=True)
class Cost:
    """What handling one tap cost: the database's figures and the Bot API calls made."""

    tally: trace.Tally
    read_trips: int
    calls: list[str]

    @property
    def rate_limited(self) -> int:
        return len([c for c in self.calls if c in RATE_LIMITED])


async def counted_tap(sim: Simulator, chat: Chat, label: str) -> Cost:
    """Tap as Telegram delivers it (polling stores it in the inbox first, one write per
    batch of updates, not counted), counting what handling it costs."""
    message, data = chat._button(label)
    raw = chat.tap_update(data, message)
    await inbox.receive(sim.db, [raw])
    calls = len(sim.api.calls)
    async with trace.counting(sim.db) as tally, read_trips(sim.db) as trips:
        await sim.handle(raw)
    sim.assert_clean()
    return Cost(tally.snapshot(), trips[0], [name for name, _ in sim.api.calls[calls:]])


async def first_question(sim: Simulator, building: str = "食堂") -> tuple[World, Sent]:
    """督导甲 on his visit at 实验小学, at the first question of ``building``'s walk."""
    w = await world(sim)
    await start_visit(sim, w)
    said = await w.sup1.tap(f"🕵️ {building}")
    assert f"【{building}】1/" in said[-1].text and "F01" in said[-1].text
    return w, said[-1]


async def test_measure(sim):
    w, question = await first_question(sim)
    for label in ["无隐患", "无隐患", "不适用"]:
        cost = await counted_tap(sim, w.sup1, label)
        print(label, cost)
    print(texts(w.sup1.new()))
