"""The flood scenario (issue 11): a colleague walks while others flood the bot.

Shared by ``tests/test_flood.py`` (which asserts) and ``bench/bench_flood.py``
(which prints). The fake Bot API imposes Telegram's flood limits per chat
(20 at once, then one a second; ``localchat.limits``) on real time, the
Application runs with its real limiter (which paces each chat within those
limits, and waits a ``RetryAfter`` out in that chat) and its real update
processor, and updates arrive as polling hands them over: a batch stored in
the inbox, then one task per update.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import AIORateLimiter, BaseRateLimiter, BaseUpdateProcessor

from bot.limiter import ChatRateLimiter
from ledger.clock import FakeClock
from ledger.throttle import Throttle
from localchat.limits import FloodLimits
from storage import inbox
from tests.conftest import make_school
from tests.simulator import Chat, Simulator

STRANGER_MESSAGES = 100
# A colleague sending /help over and over: more than a chat's burst, so that
# Telegram's flood limit makes the bot wait in that chat.
MEMBER_MESSAGES = 23
STEPS = 6  # answers of the walk measured alone, then as many under the flood


@dataclass
class Figures:
    alone: list[float] = field(default_factory=list)  # seconds per answer
    flooded: list[float] = field(default_factory=list)
    flood_left: int = 0  # flood updates still waiting when the walk under flood ended
    stranger_answers: int = 0
    flooder_answers: int = 0
    retry_afters: int = 0


async def _step(colleague: Chat) -> float:
    started = time.perf_counter()
    said = await colleague.tap("无隐患")
    elapsed = time.perf_counter() - started
    assert "/19 · F" in said[-1].text, said[-1].text
    return elapsed


async def run(
    folder: Path,
    clock: FakeClock,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    update_processor: BaseUpdateProcessor | None = None,
) -> Figures:
    """The colleague's answers alone, then while a stranger and a member flood."""
    sim = Simulator(folder, clock)
    await sim.start()
    try:
        school = await make_school(sim)
        # Started again with the real limiter: its buckets begin with the fake's limits.
        await sim.stop()
        sim.rate_limiter = rate_limiter or ChatRateLimiter(max_retries=3)
        if update_processor is not None:
            sim.update_processor = update_processor
        await sim.start()
        colleague, flooder = school.staff, school.principal
        stranger = sim.chat("路人")
        flooder.new()  # what came before the flood
        await colleague.send("/inspect")
        await colleague.tap("教学楼A")
        sim.guard.throttle = Throttle()
        sim.api.flood = FloodLimits(now=time.monotonic)
        # Calls take a turn of the loop, as over a network: Telegram judges a call when it
        # arrives and the limiter when it leaves, and calls may overtake each other.
        sim.api.yields = True
        sim.live, sim.auto_send = True, False
        figures = Figures()
        for _ in range(STEPS):
            figures.alone.append(await _step(colleague))
        # Polling hands over a batch: stored in the inbox, then one task per update.
        batch = [stranger.text_update(f"你好 {i}") for i in range(STRANGER_MESSAGES)]
        batch += [flooder.text_update("/help") for _ in range(MEMBER_MESSAGES)]
        await inbox.receive(sim.db, batch)
        flood = [asyncio.create_task(sim.handle(raw)) for raw in batch]
        await asyncio.sleep(0)  # the flood's tasks start first
        for _ in range(STEPS):
            figures.flooded.append(await _step(colleague))
        figures.flood_left = sum(not task.done() for task in flood)
        await asyncio.gather(*flood)
        sim.assert_clean()
        figures.stranger_answers = len(stranger.messages)
        figures.flooder_answers = len(flooder.new())
        figures.retry_afters = sum("flood limit" in r for r in sim.api.refusals)
        return figures
    finally:
        await sim.stop()


def old_way() -> tuple[BaseRateLimiter[Any], BaseUpdateProcessor]:
    """What the bot ran before: one update at a time, a RetryAfter halting every chat."""
    from telegram.ext import SimpleUpdateProcessor

    return AIORateLimiter(max_retries=3), SimpleUpdateProcessor(1)
