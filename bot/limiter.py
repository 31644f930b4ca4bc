"""The pace of requests to Telegram: a flood limit in one chat holds only that chat.

python-telegram-bot's ``AIORateLimiter`` answers a ``RetryAfter`` by halting
every request of the bot until it has passed: one person flooding their own
chat would hold up everyone's answers. This limiter keeps the overall pace
of new messages (Telegram's 30 a second, and 20 a minute in a group; edits
and answers to taps are not messages) with the same maintained limiter
(aiolimiter), but a ``RetryAfter`` holds only the chat it
came for: that chat's requests wait it out, and are retried, while other
chats go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]

# Telegram's published limits (core.telegram.org/bots/faq): 30 messages a
# second overall, 20 a minute in one group.
OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
# A little over what Telegram asks, so the retry is not refused again.
MARGIN = 0.1


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asks to wait, in seconds (PTB 22 warns its type will change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class ChatRateLimiter(BaseRateLimiter[int]):
    """Overall and per-group pace; a ``RetryAfter`` holds its own chat only."""

    def __init__(
        self,
        overall_per_second: float = OVERALL_PER_SECOND,
        group_per_minute: float = GROUP_PER_MINUTE,
        max_retries: int = 3,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._overall = AsyncLimiter(overall_per_second, 1) if overall_per_second else None
        self._group_rate = group_per_minute
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._held_until: dict[int | str, float] = {}
        self.sleep = sleep
        self.monotonic = monotonic

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    def held(self, chat: int | str) -> float:
        """Seconds this chat still waits out a flood limit (0 when free)."""
        until = self._held_until.get(chat)
        if until is None:
            return 0.0
        left = until - self.monotonic()
        if left <= 0:
            del self._held_until[chat]
            return 0.0
        return left

    def _group(self, chat: int | str) -> AsyncLimiter | None:
        if not self._group_rate or (isinstance(chat, int) and chat > 0):
            return None  # private chats: Telegram publishes no pace, only RetryAfter
        if len(self._groups) > 512:  # forget the groups at rest
            for key, limiter in list(self._groups.items()):
                if limiter.has_capacity(limiter.max_rate):
                    del self._groups[key]
        return self._groups.setdefault(chat, AsyncLimiter(self._group_rate, 60))

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSON:
        """Send within the pace; on ``RetryAfter`` hold this chat, wait, retry."""
        chat = _chat_of(data)
        retries = rate_limit_args if rate_limit_args is not None else self._max_retries
        attempt = 0
        while True:
            if chat is not None:
                wait = self.held(chat)
                if wait:
                    await self.sleep(wait)
            try:
                async with AsyncExitStack() as stack:
                    if chat is not None and _is_message(endpoint):
                        group = self._group(chat)
                        if group is not None:
                            await stack.enter_async_context(group)
                        if self._overall is not None:
                            await stack.enter_async_context(self._overall)
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt >= retries:
                    raise
                attempt += 1
                seconds = retry_seconds(error) + MARGIN
                log.info("%s: flood limit, chat %s waits %.1f s", endpoint, chat, seconds)
                if chat is None:
                    await self.sleep(seconds)
                else:
                    now = self.monotonic()
                    if len(self._held_until) > 1024:  # forget the chats free again
                        self._held_until = {c: u for c, u in self._held_until.items() if u > now}
                    self._held_until[chat] = max(self._held_until.get(chat, 0.0), now + seconds)


def _is_message(endpoint: str) -> bool:
    """A new message: what Telegram's limits count (an edit, a tap's answer or
    "typing…" is not one), so only these wait for the overall pace."""
    return endpoint.startswith(("send", "copy", "forward")) and endpoint != "sendChatAction"


def _chat_of(data: dict[str, Any]) -> int | str | None:
    chat = data.get("chat_id")
    if chat is None:
        return None
    try:
        return int(chat)
    except (TypeError, ValueError):
        return str(chat)  # a channel's @username
