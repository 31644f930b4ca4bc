"""How the bot and its local chat run: uvloop's event loop, the cycle collector's pace.

uvloop runs the same asyncio code on libuv, and spends less CPU than asyncio's own
loop on what the bot and the local chat mostly do: sockets, and waking up when the
database thread is done. Under bench_load's 1,000 people walking it cut the bot's CPU
a tap by about a tenth. It is a dependency wherever it builds (not on Windows); there
asyncio's own loop runs the same code.

The cycle collector: what start-up made (modules, settings, texts) lives as
long as the process, so it is frozen out of the collector's sight, and full
collections, which stop the event loop, scan only what was made since
(bench/bench_contention.py). And the youngest generation is collected after
``YOUNG`` more objects instead of Python's 700: each update's parse makes and
drops hundreds, so under bench_load's 1,000 people the bot ran 85 collections
a second, a tenth of its CPU; after 10,000 it runs a few a minute, and what a
cycle holds is freed as soon.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

YOUNG = 10_000  # new objects (net) between two collections of the youngest generation


def new_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's, else asyncio's."""
    try:
        import uvloop
    except ImportError:  # Windows: uvloop does not build there
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on ``new_loop``."""
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(main)


def name() -> str:
    """The loop ``new_loop`` makes, as the benches print it."""
    loop = new_loop()
    try:
        return f"{type(loop).__module__}.{type(loop).__name__}"
    finally:
        loop.close()


def collect_less() -> Callable[[], None]:
    """Once started: freeze what start-up made, collect young objects less often. Returns
    what undoes it, for a process that goes on (the tests start many bots in one)."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG, 10, 10)

    def undo() -> None:
        gc.unfreeze()
        gc.set_threshold(*before)

    return undo
