"""The event loop the bot and its local chat run on: uvloop's, where it is installed.

uvloop runs the same asyncio code on libuv, and spends less CPU than asyncio's own
loop on what the bot and the local chat mostly do: sockets, and waking up when the
database thread is done. Under bench_load's 1,000 people walking it cut the bot's CPU
a tap by about a tenth. It is a dependency wherever it builds (not on Windows); there
asyncio's own loop runs the same code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


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
