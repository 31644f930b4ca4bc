"""The limits bench (issue 12, item 6): 300 people tapping, one chat flooded.

300 chats each tap a button every 2 s (starts spread over the first 2 s)
through a real python-telegram-bot Application with the bot's own rate
limiter (``bot.limiter``, production figures) and per-person lanes, against
the tests' fake Bot API (``tests/simulator.FakeBotAPI``) imposing Telegram's
per-chat flood limits on real time (20 new messages at once, then one a
second) and no overall cap on replies. Each tap is answered as a walk's step
is today: the tap answered, the tapped question edited, the next question
sent (two rate-limited calls); the time measured is from the tap reaching the
Application to the next question reaching Telegram.

Run twice in one process: alone (the anchor), then with one more chat
flooding the bot with 100 messages in a second (each answered with a
message). Prints p50/p99/max of the 300 people's taps, the difference of the
p99s (target: < 50 ms), the replies a second that passed (no 30-a-second cap:
150 a second asked for), and the 429s Telegram answered (target: 0).
``--old`` also runs issue 11's limiter (every new message under the overall
30 a second) for comparison, for a shorter time.

This bench measures the limits layer: the step's handler is the tap floor
(answer, edit, send), not the walk's handlers (``bench_walk.py`` measures those).

    .venv/bin/python bench/bench_limits.py [--people 300] [--seconds 20] [--rounds 3] [--old]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import loop as event_loop
from bot.lanes import PersonLanes
from bot.limiter import BROADCAST, ChatRateLimiter, Pace
from localchat.limits import FloodLimits
from tests.simulator import FakeBotAPI, Sent

TOKEN = "123456:bench"  # noqa: S105 - the fake's, never Telegram's
TAP_EVERY = 2.0
FLOOD = 100  # messages from the flooder, in one second
FLOODER = 10**6


class Telegram(FakeBotAPI):
    """The fake Bot API, telling the bench when a chat's next question arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.flood = FloodLimits(time.monotonic, all_rate=0)  # per chat only
        self.waiting: dict[int, asyncio.Future[float]] = {}
        self.replies = 0

    def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        result = super().api_sendMessage(params)
        chat = int(params["chat_id"])
        self.replies += 1
        future = self.waiting.pop(chat, None)
        if future is not None and not future.done():
            future.set_result(time.perf_counter())
        return result


class OldLimiter(ChatRateLimiter):
    """Issue 11's limiter: every new message under the overall 30 a second."""

    def __init__(self) -> None:
        super().__init__(chat_per_second=0)

    async def process_request(
        self,
        callback: Any,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Pace | None,
    ) -> Any:
        message = endpoint.startswith("send") and endpoint != "sendChatAction"
        pace = BROADCAST if message else rate_limit_args
        return await super().process_request(callback, args, kwargs, endpoint, data, pace)


KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("无隐患", callback_data="a:ok"),
            InlineKeyboardButton("有隐患", callback_data="a:no"),
        ]
    ]
)


async def step(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A walk's step as it is today: answer the tap, edit the question, send the next."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    await context.bot.edit_message_text(
        "第1项 ✓ 无隐患", chat_id=query.message.chat.id, message_id=query.message.message_id
    )
    await context.bot.send_message(
        query.message.chat.id, "第2项：疏散通道畅通？", reply_markup=KEYBOARD
    )


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text: one short answer (the flooder gets one for each of its messages)."""
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, "请点按钮作答。")


class Run:
    """One Application against one fake Telegram."""

    def __init__(self, limiter: ChatRateLimiter) -> None:
        self.telegram = Telegram()
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(TOKEN)
            .request(self.telegram)
            .get_updates_request(self.telegram)
            .rate_limiter(limiter)
            .concurrent_updates(PersonLanes())
            .build()
        )
        self.app.add_handler(CallbackQueryHandler(step))
        self.app.add_handler(MessageHandler(filters.TEXT, reply))
        self.ids = itertools.count(1)
        self.questions: dict[int, int] = {}

    def question(self, chat: int) -> int:
        """The question message a chat taps on, as Telegram holds it."""
        sent = Sent(chat, next(self.telegram._ids), "第1项：灭火器在有效期内？", "", [], None)
        self.telegram.messages[(chat, sent.message_id)] = sent
        return sent.message_id

    def tap(self, chat: int) -> dict[str, Any]:
        query = f"q{next(self.ids)}"
        self.telegram.tapped(query)
        user = {"id": chat, "is_bot": False, "first_name": "王老师"}
        message = {
            "message_id": self.questions[chat],
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": 123456, "is_bot": True, "first_name": "小安"},
            "text": "第1项：灭火器在有效期内？",
        }
        callback = {
            "id": query,
            "from": user,
            "message": message,
            "chat_instance": "1",
            "data": "a:ok",
        }
        return {"update_id": next(self.ids), "callback_query": callback}

    def text(self, chat: int, words: str) -> dict[str, Any]:
        user = {"id": chat, "is_bot": False, "first_name": "路人"}
        message = {
            "message_id": next(self.ids),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": user,
            "text": words,
        }
        return {"update_id": next(self.ids), "message": message}

    async def person(self, chat: int, until: float, times: list[float], start: float) -> None:
        """Tap every TAP_EVERY seconds; each time, wait for the next question."""
        await asyncio.sleep(start)
        loop = asyncio.get_running_loop()
        while time.perf_counter() < until:
            began = time.perf_counter()
            # Telegram's edit only changes the message; the next tap is on a question again.
            self.questions[chat] = self.question(chat)
            arrived: asyncio.Future[float] = loop.create_future()
            self.telegram.waiting[chat] = arrived
            await self.app.update_queue.put(Update.de_json(self.tap(chat), self.app.bot))
            times.append(await arrived - began)
            await asyncio.sleep(max(0.0, TAP_EVERY - (time.perf_counter() - began)))

    async def flood(self) -> None:
        for i in range(FLOOD):
            await self.app.update_queue.put(
                Update.de_json(self.text(FLOODER, f"你好 {i}"), self.app.bot)
            )
            await asyncio.sleep(1.0 / FLOOD)

    async def measure(
        self, people: int, seconds: float, flooded: bool
    ) -> tuple[list[float], int, int]:
        """Taps' times (s), replies a second, and the 429s Telegram answered."""
        await self.app.initialize()
        await self.app.start()
        try:
            times: list[float] = []
            until = time.perf_counter() + seconds
            walkers = [
                asyncio.create_task(self.person(chat, until, times, TAP_EVERY * chat / people))
                for chat in range(1, people + 1)
            ]
            flood = asyncio.create_task(self.flood()) if flooded else None
            started, replies = time.perf_counter(), self.telegram.replies
            await asyncio.gather(*walkers)
            rate = (self.telegram.replies - replies) / (time.perf_counter() - started)
            if flood is not None:
                await flood
            refused = sum("flood limit" in r for r in self.telegram.refusals)
            return times, round(rate), refused
        finally:
            # The flooder's answers still wait out their chat's pace: not waited for.
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
            await asyncio.sleep(0)


def figures(times: list[float]) -> tuple[float, float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99, ordered[-1]


def show(name: str, times: list[float], rate: int, refused: int) -> float:
    p50, p99, worst = figures(times)
    print(
        f"  {name:34} taps {len(times):5}  p50 {p50 * 1000:7.1f} ms  p99 {p99 * 1000:7.1f} ms"
        f"  max {worst * 1000:7.1f} ms  replies {rate:4}/s  429s {refused}"
    )
    return p99


async def one(
    limiter: ChatRateLimiter, people: int, seconds: float, flooded: bool
) -> tuple[list[float], int, int]:
    return await Run(limiter).measure(people, seconds, flooded)


def main(people: int, seconds: float, rounds: int, old: bool) -> None:
    print(f"{people} people tapping every {TAP_EVERY:g} s for {seconds:g} s, {rounds} round(s)")
    # Warm-up (not counted): the first run in a process pays for imports and caches.
    event_loop.run(one(ChatRateLimiter(), people, min(seconds, 4.0), False))
    alone_p99, flooded_p99 = [], []
    for _ in range(rounds):  # alternated, so that the shared machine's load hits both alike
        alone_p99.append(
            show("alone (anchor)", *event_loop.run(one(ChatRateLimiter(), people, seconds, False)))
        )
        under = event_loop.run(one(ChatRateLimiter(), people, seconds, True))
        flooded_p99.append(show(f"one chat flooding {FLOOD} messages", *under))
    anchor, flooded = statistics.median(alone_p99), statistics.median(flooded_p99)
    print(
        f"  median p99: alone {anchor * 1000:.1f} ms, under the flood {flooded * 1000:.1f} ms,"
        f" ratio {flooded / anchor:.2f}, difference {(flooded - anchor) * 1000:+.1f} ms"
        " (target < 50 ms)"
    )
    print(
        f"  asked for {people / TAP_EVERY:.0f} replies/s (no 30/s cap on replies); 429s: target 0"
    )
    if old:
        short = min(seconds, 10.0)
        before = event_loop.run(one(OldLimiter(), people, short, False))
        show("issue 11's limiter, alone", *before)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3, help="alone/flooded pairs (3)")
    parser.add_argument("--old", action="store_true", help="also run issue 11's limiter")
    options = parser.parse_args()
    # The flooder's answers still waiting are dropped at the end of a run, unawaited.
    warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
    main(options.people, options.seconds, options.rounds, options.old)
