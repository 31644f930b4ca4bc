"""Telegram's flood limits, and how a request says which of them it counts against.

Published in the bots FAQ (core.telegram.org/bots/faq): about 30 messages a
second for bulk notifications, 20 a minute in one group, and in one chat no
more than about one a second after a short burst (its size is not published;
the local chat and the tests' fake Telegram allow 20). Answering a tap
(``answerCallbackQuery``) is not limited.

``Pace`` is the ``rate_limit_args`` the bot's limiter (``bot.limiter``) takes:
the sender marks what it broadcasts from the outbox with ``BROADCAST``, the
only requests held to the overall 30 a second.
"""

from __future__ import annotations

from dataclasses import dataclass

OVERALL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
CHAT_PER_SECOND = 1.0
CHAT_BURST = 20


@dataclass(frozen=True)
class Pace:
    """A request's ``rate_limit_args``: whether it is a broadcast (counted against
    the overall 30 a second), and how many ``RetryAfter`` it waits out (None: the
    limiter's own number)."""

    broadcast: bool = False
    retries: int | None = None


# What the sender passes for each message it sends from the outbox.
BROADCAST = Pace(broadcast=True)
