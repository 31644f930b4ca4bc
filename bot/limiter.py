"""The pace of requests to Telegram, as Telegram limits them.

python-telegram-bot's ``AIORateLimiter`` puts every request, replies and
edits included, under one 30-a-second bucket, and answers a ``RetryAfter`` by
halting every request of the bot until it has passed. Telegram's limits are
not like that (core.telegram.org/bots/faq): 30 messages a second is a limit on
bulk notifications (what the sender broadcasts from the outbox), one chat
should not get more than about one message a second after a short burst, a
group 20 a minute, and answering a tap (``answerCallbackQuery``) has no limit.

So this limiter keeps, with the maintained aiolimiter:

- buckets per chat for what lands in it: one for new messages, one for edits
  (each ``CHAT_BURST`` at once less ``SLACK``, then ``CHAT_PER_SECOND``), so
  that a flood in one chat is slowed in that chat before Telegram answers 429,
  and nobody else waits. The slack is there because the limiter counts a
  request when it leaves and Telegram when it arrives: two requests that left
  a second apart may arrive closer together (the network's jitter), and
  Telegram's bucket, one token fuller than ours, takes that in. Telegram
  publishes no figure for edits; they are paced like messages but apart from
  them, so that a walk's step (an edit and a new question) goes at a person's
  fastest pace, one step a second, for ever;
- 20 a minute for a group's new messages;
- the overall 30 a second only for broadcasts: requests whose
  ``rate_limit_args`` is ``BROADCAST`` (``scheduler.sender``);
- a ``RetryAfter`` holds only the chat it came for: that chat's requests wait it
  out, and are retried, while other chats go on.

Everything else (answers to taps, "typing…", getFile, menus) is never held back.
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

from telegram_rules.limits import (
    BROADCAST,
    CHAT_BURST,
    CHAT_PER_SECOND,
    GROUP_PER_MINUTE,
    OVERALL_PER_SECOND,
    Pace,
)

__all__ = ["BROADCAST", "ChatRateLimiter", "Pace", "retry_seconds"]

log = logging.getLogger(__name__)

JSON = bool | dict[str, Any] | list[dict[str, Any]]

# A little over what Telegram asks, so the retry is not refused again.
MARGIN = 0.1
# Tokens of a chat's burst left unused: what absorbs the network's jitter (see above).
SLACK = 1
# Buckets of chats kept before those at rest (full again) are forgotten.
KEEP_CHATS = 4096


def retry_seconds(error: RetryAfter) -> float:
    """How long Telegram asks to wait, in seconds (PTB 22 warns its type will change)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        wait = error.retry_after
    return wait.total_seconds() if isinstance(wait, timedelta) else float(wait)


class ChatRateLimiter(BaseRateLimiter[Pace]):
    """A bucket per chat; the overall pace for broadcasts; a ``RetryAfter`` holds its chat.

    A rate of 0 turns that limit off (the tests' fake answers at once).
    """

    def __init__(
        self,
        overall_per_second: float = OVERALL_PER_SECOND,
        group_per_minute: float = GROUP_PER_MINUTE,
        max_retries: int = 3,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        chat_per_second: float = CHAT_PER_SECOND,
        chat_burst: int = CHAT_BURST,
        chat_slack: int = SLACK,
    ) -> None:
        self._overall = AsyncLimiter(overall_per_second, 1) if overall_per_second else None
        self._group_rate = group_per_minute
        self._chat_rate = chat_per_second
        self._groups = Buckets(group_per_minute, 60)
        # The same pace as Telegram's bucket, one token emptier: ours never runs ahead.
        burst = max(1, chat_burst - chat_slack)
        period = burst / chat_per_second if chat_per_second else 0.0
        self._chats = Buckets(burst, period)
        self._edits = Buckets(burst, period)
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
            return None  # private chats: the chat's own bucket
        return self._groups.of(chat)

    def _chat(self, chat: int | str, endpoint: str) -> AsyncLimiter | None:
        """The chat's bucket for this request: new messages, edits, or none."""
        if not self._chat_rate:
            return None
        if _is_message(endpoint):
            buckets = self._chats
        elif endpoint.startswith("editMessage"):
            buckets = self._edits
        else:
            return None
        return buckets.of(chat)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pace | None,
    ) -> JSON:
        """Send within the chat's pace (and the overall one for a broadcast); on
        ``RetryAfter`` hold this chat, wait, retry."""
        pace = rate_limit_args or Pace()
        chat = _chat_of(data)
        retries = self._max_retries if pace.retries is None else pace.retries
        attempt = 0
        while True:
            if chat is not None:
                wait = self.held(chat)
                if wait:
                    await self.sleep(wait)
            try:
                async with AsyncExitStack() as stack:
                    if chat is not None:
                        for limiter in (self._chat(chat, endpoint), self._group_of(chat, endpoint)):
                            if limiter is not None:
                                await stack.enter_async_context(limiter)
                        if pace.broadcast and self._overall is not None:
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

    def _group_of(self, chat: int | str, endpoint: str) -> AsyncLimiter | None:
        """A group's 20 a minute counts new messages only."""
        return self._group(chat) if _is_message(endpoint) else None


class Buckets:
    """A bucket per chat. Past ``KEEP_CHATS`` (and then each time their number has
    doubled) those at rest, full again, are forgotten: a new one would be the same.
    So memory stays bounded however many people write, at a cost spread thin."""

    def __init__(self, burst: float, period: float) -> None:
        self.burst, self.period = burst, period
        self._chats: dict[int | str, AsyncLimiter] = {}
        self._prune_at = KEEP_CHATS

    def of(self, chat: int | str) -> AsyncLimiter:
        found = self._chats.get(chat)
        if found is None:
            if len(self._chats) >= self._prune_at:
                self._chats = {
                    key: limiter
                    for key, limiter in self._chats.items()
                    if not limiter.has_capacity(limiter.max_rate)
                }
                self._prune_at = max(KEEP_CHATS, 2 * len(self._chats))
            found = self._chats[chat] = AsyncLimiter(self.burst, self.period)
        return found

    def __len__(self) -> int:
        return len(self._chats)


def _is_message(endpoint: str) -> bool:
    """A new message: what Telegram's message limits count (an edit, a tap's answer or
    "typing…" is not one)."""
    return endpoint.startswith(("send", "copy", "forward")) and endpoint != "sendChatAction"


def _chat_of(data: dict[str, Any]) -> int | str | None:
    chat = data.get("chat_id")
    if chat is None:
        return None
    try:
        return int(chat)
    except (TypeError, ValueError):
        return str(chat)  # a channel's @username
