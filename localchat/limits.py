"""Telegram's flood limits, as token buckets, with the time passed in.

Telegram's FAQ for bots: in one chat, avoid more than one message per
second (short bursts are allowed, then 429 errors come); across all chats,
no more than 30 messages per second. The burst Telegram allows is not
published; the local channel allows ``CHAT_BURST`` messages at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

CHAT_PER_SECOND = 1.0
CHAT_BURST = 20
ALL_PER_SECOND = 30.0
ALL_BURST = 30


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
    """Per chat and overall; ``retry_after`` is what a 429 tells the bot to wait."""

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
        if self._all is None:
            self._all = Bucket(self.all_rate, self.all_burst)
        chat = self._chats.setdefault(chat_id, Bucket(self.chat_rate, self.chat_burst))
        wait = chat.take(now)
        if wait:
            return max(1, math.ceil(wait))
        wait = self._all.take(now)
        if wait:
            chat.tokens += 1  # not sent after all: give the chat its token back
            return max(1, math.ceil(wait))
        return 0
