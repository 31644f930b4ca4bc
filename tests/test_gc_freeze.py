"""The bot's start-up objects are kept out of the cycle collector's full collections, and
young objects are collected less often (``bot.loop.collect_less``).

A full collection stops the event loop for as long as it scans every object of
the process; most of them are made at start-up (modules, settings, texts) and
live as long as the bot. Frozen once the bot has started, they are no longer
scanned (bench/bench_contention.py: full collections 10–40 ms instead of 70–95
ms alone, 75–125 ms instead of 140–280 ms under load), and unfrozen when it stops.
"""

from __future__ import annotations

import gc
from pathlib import Path

from bot.loop import YOUNG
from ledger.clock import FakeClock
from tests.conftest import make_school
from tests.simulator import Simulator


async def test_start_up_objects_are_frozen_while_the_bot_runs(
    tmp_path: Path, clock: FakeClock
) -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    sim = await Simulator(tmp_path, clock).start()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, the settings, the texts
        assert gc.get_threshold()[0] == YOUNG
        school = await make_school(sim)  # the bot works as before
        said = await school.principal.send("/help")
        assert said and said[-1].text
    finally:
        await sim.stop()
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before
