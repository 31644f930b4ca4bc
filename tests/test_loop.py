"""The bot and the local chat run on uvloop's event loop where it is installed."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot import loop


async def running_loop() -> asyncio.AbstractEventLoop:
    await asyncio.sleep(0)
    return asyncio.get_running_loop()


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not build on Windows")
def test_the_loop_is_uvloops_where_it_is_installed() -> None:
    import uvloop

    assert isinstance(loop.run(running_loop()), uvloop.Loop)
    assert loop.name() == "uvloop.Loop"


def test_without_uvloop_asyncios_own_loop_runs_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # as if it were not installed
    ran = loop.run(running_loop())
    assert isinstance(ran, asyncio.BaseEventLoop) and ran.is_closed()
    assert loop.name().startswith("asyncio.")
