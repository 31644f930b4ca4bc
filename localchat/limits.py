"""Telegram's flood limits, as token buckets, with the time passed in.

Telegram's FAQ for bots: in one chat, avoid more than one message per
second (short bursts are allowed, then 429 errors come); across all chats,
no more than 30 messages per second. The burst Telegram allows is not
published; the local channel allows ``CHAT_BURST`` messages at once. The
figures are ``telegram_rules.limits``': one source for the bot's limiter, the
local chat and the tests' fake Telegram.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram_rules.limits import CHAT_BURST, CHAT_PER_SECOND, OVERALL_PER_SECOND

ALL_PER_SECOND = float(OVERALL_PER_SECOND)
ALL_BURST = OVERALL_PER_SECOND


@dataclass
class Bucket:
    """Holds up to ``burst`` tokens, refilled at ``rate`` per second."""

    rate: float
    burst: int
    tokens: float = -1.0
    at: float = 0.0

    def take(self, now: float) -> float:
        """Take one token; 0 when allowed, else the seconds until one is there."""
        if self.tokens < 0:
            self.tokens, self.at = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class FloodLimits:
    """Per chat and overall; ``retry_after`` is what a 429 tells the bot to wait.

    ``all_rate`` 0 leaves out the overall limit: Telegram's 30 a second is for
    bulk notifications, and a fake that counts replies against it is stricter
    than Telegram (``bench/bench_limits.py`` uses it so).
    """

    now: Callable[[], float]
    chat_rate: float = CHAT_PER_SECOND
    chat_burst: int = CHAT_BURST
    all_rate: float = ALL_PER_SECOND
    all_burst: int = ALL_BURST
    _chats: dict[int, Bucket] = field(default_factory=dict)
    _all: Bucket | None = None

    def retry_after(self, chat_id: int) -> int:
        """0 when a message to this chat may go now, else whole seconds to wait (≥ 1)."""
        now = self.now()
        if self._all is None and self.all_rate > 0:
            self._all = Bucket(self.all_rate, self.all_burst)
        chat = self._chats.setdefault(chat_id, Bucket(self.chat_rate, self.chat_burst))
        wait = chat.take(now)
        if wait:
            return max(1, math.ceil(wait))
        if self._all is None:
            return 0
        wait = self._all.take(now)
        if wait:
            chat.tokens += 1  # not sent after all: give the chat its token back
            return max(1, math.ceil(wait))
        return 0


# A table of buckets is pruned of full ones (those equal to a new one) past this size.
PRUNE_AT = 10_000


@dataclass
class KeyedLimit:
    """A bucket per key (an address, a session); ``retry_after`` is 0 or whole seconds."""

    now: Callable[[], float]
    rate: float
    burst: int
    _buckets: dict[str, Bucket] = field(default_factory=dict)

    def retry_after(self, key: str) -> int:
        """Take one token for this key; 0 when allowed, else the seconds to wait (≥ 1)."""
        now = self.now()
        if len(self._buckets) >= PRUNE_AT:
            self._prune(now)
        wait = self._buckets.setdefault(key, Bucket(self.rate, self.burst)).take(now)
        return max(1, math.ceil(wait)) if wait else 0

    def _prune(self, now: float) -> None:
        """Forget buckets that have refilled: a new one would be the same."""
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.at) * bucket.rate >= bucket.burst:
                del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


@dataclass
class PageLimits:
    """The page side's limits: requests per session and per address, joins per address."""

    session: KeyedLimit
    address: KeyedLimit
    joins: KeyedLimit

    @classmethod
    def of(
        cls,
        now: Callable[[], float],
        *,
        session: tuple[float, int],
        address: tuple[float, int],
        joins_per_hour: tuple[float, int],
    ) -> PageLimits:
        """From (per second, burst) pairs; joins are counted per hour."""
        joins_rate, joins_burst = joins_per_hour
        return cls(
            KeyedLimit(now, *session),
            KeyedLimit(now, *address),
            KeyedLimit(now, joins_rate / 3600.0, joins_burst),
        )
