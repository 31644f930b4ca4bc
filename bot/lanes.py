"""Per-person fairness: one lane per sender, lanes run side by side.

python-telegram-bot hands every update to an update processor. With one lane
per person, a person's updates are handled strictly in the order they came
(a walk's answers never overtake each other), while another person's update
never waits behind them: a flood, or a reply waiting out a flood limit in one
chat, holds up only its own lane.

PTB's own semaphore (``max_concurrent_updates``) is taken before an update
reaches its lane, so a flooder's waiting updates would fill it and stall
everyone: it is set far above any real load, and this processor caps what
*runs* at once itself, after the lane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates held at once (running or waiting in a lane). Telegram hands out at
# most 100 per getUpdates, and an update takes a few kilobytes.
HELD = 100_000
# Lanes running at once: the database has one writer, and Telegram answers
# in tens of milliseconds; more would only queue elsewhere.
RUNNING = 32


def lane_of(update: object) -> Hashable:
    """Whose lane: the sender's, else the chat's; anything else shares one lane."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("other",)


class PersonLanes(BaseUpdateProcessor):
    """Updates of one person in order; of different people concurrently."""

    def __init__(self, running: int = RUNNING) -> None:
        super().__init__(max_concurrent_updates=HELD)
        self._running = asyncio.Semaphore(running)
        self._lanes: dict[Hashable, asyncio.Lock] = {}
        self._held: dict[Hashable, int] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def held(self, update: object) -> int:
        """Updates of this update's lane running or waiting."""
        return self._held.get(lane_of(update), 0)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = lane_of(update)
        # No await before the lane's lock: updates enter it in the order they came.
        lane = self._lanes.setdefault(key, asyncio.Lock())
        self._held[key] = self._held.get(key, 0) + 1
        try:
            async with lane, self._running:
                await coroutine
        finally:
            self._held[key] -= 1
            if not self._held[key]:  # an idle lane is forgotten: memory stays bounded
                del self._held[key]
                del self._lanes[key]
