"""The bot's rate limiter (issue 12, item 6): limits as Telegram has them.

Replies and edits are paced per chat, never against the overall 30 a second;
only the sender's broadcasts are; an answer to a tap is never held back; a
flooded chat is slowed in that chat before Telegram would answer 429, while the
others go on. The local chat imposes Telegram's flood limits only when asked.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from bot.config import load_config
from bot.limiter import BROADCAST, SLACK, ChatRateLimiter, Pace
from bot.local import new_server
from ledger.clock import FakeClock
from localchat.limits import FloodLimits
from storage import outbox
from telegram_rules.limits import CHAT_BURST
from tests.conftest import make_school
from tests.localchat_support import TOKEN, bot_for, start_server
from tests.simulator import Simulator

JSON = Any


class Recorder:
    """Telegram answering at once; keeps the chats in the order they were reached."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int | None]] = []

    def request(
        self,
        limiter: ChatRateLimiter,
        endpoint: str,
        chat: int | None,
        pace: Pace | None = None,
    ) -> asyncio.Task[JSON]:
        async def telegram() -> bool:
            self.calls.append((endpoint, chat))
            return True

        data: dict[str, Any] = {} if chat is None else {"chat_id": chat}
        return asyncio.ensure_future(
            limiter.process_request(telegram, (), {}, endpoint, data, pace)
        )


async def settled(tasks: list[asyncio.Task[JSON]]) -> tuple[int, int]:
    """(done, still waiting) after the loop has had a moment to run them."""
    await asyncio.sleep(0.05)
    done = sum(task.done() for task in tasks)
    return done, len(tasks) - done


async def cancel(tasks: list[asyncio.Task[JSON]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_replies_to_many_chats_are_not_capped_at_thirty_a_second() -> None:
    """300 people answered at once: Telegram's 30 a second is for broadcasts."""
    limiter, telegram = ChatRateLimiter(), Recorder()
    replies = [telegram.request(limiter, "sendMessage", chat) for chat in range(1, 301)]
    edits = [telegram.request(limiter, "editMessageText", chat) for chat in range(1, 301)]
    assert await settled(replies + edits) == (600, 0)


async def test_broadcasts_keep_to_thirty_a_second_and_replies_pass_them() -> None:
    limiter, telegram = ChatRateLimiter(), Recorder()
    broadcasts = [
        telegram.request(limiter, "sendMessage", chat, BROADCAST) for chat in range(1, 61)
    ]
    done, waiting = await settled(broadcasts)
    assert done <= 32 and waiting >= 28  # a second's worth, then the pace
    reply = telegram.request(limiter, "sendMessage", 999)
    assert await settled([reply]) == (1, 0)  # a person's answer does not queue behind them
    await cancel(broadcasts)


async def test_one_chat_is_paced_after_its_burst_others_are_not() -> None:
    """Telegram's burst of twenty less the slack at once in one chat, then one a second;
    edits apart from them."""
    limiter, telegram = ChatRateLimiter(), Recorder()
    flood = [telegram.request(limiter, "sendMessage", 7) for _ in range(25)]
    assert await settled(flood) == (CHAT_BURST - SLACK, 25 - CHAT_BURST + SLACK)
    others = [telegram.request(limiter, "sendMessage", chat) for chat in (8, 9)]
    edit = [telegram.request(limiter, "editMessageText", 7)]
    assert await settled(others + edit) == (3, 0)
    await cancel(flood)


async def test_answers_to_taps_are_never_held() -> None:
    """answerCallbackQuery has no limit, even while everything else waits."""
    limiter, telegram = ChatRateLimiter(), Recorder()
    flood = [telegram.request(limiter, "sendMessage", 7) for _ in range(40)]
    flood += [telegram.request(limiter, "sendMessage", c, BROADCAST) for c in range(100, 160)]
    answers = [telegram.request(limiter, "answerCallbackQuery", None) for _ in range(500)]
    assert await settled(answers) == (500, 0)
    await cancel(flood)


async def test_a_group_keeps_twenty_messages_a_minute() -> None:
    limiter, telegram = ChatRateLimiter(chat_per_second=0), Recorder()
    group = [telegram.request(limiter, "sendMessage", -100123) for _ in range(22)]
    assert await settled(group) == (20, 2)
    await cancel(group)


async def test_a_flooded_chat_gets_every_answer_without_a_429(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Against the local chat's Bot API with Telegram's per-chat limits on (a burst of 3,
    then 20 a second here, to be quick): the limiter, with the same burst and half the
    rate (requests sent apart can arrive together; at Telegram's one a second that
    jitter is nothing), keeps within them: the chat's 12 messages all arrive, none
    refused."""
    server = await start_server(tmp_path, clock, quick_limits())
    try:
        chat, _ = await server.channel.join("王老师", "zh-CN", "")
        paced = ExtBot(
            TOKEN,
            base_url=f"{server.api_url}/bot",
            rate_limiter=ChatRateLimiter(chat_per_second=10.0, chat_burst=3, max_retries=0),
        )
        async with paced:
            sent = await asyncio.gather(*(paced.send_message(chat, f"第{i}条") for i in range(12)))
        assert len(sent) == 12  # max_retries=0: a 429 would have raised here
    finally:
        await server.stop()


async def test_unpaced_the_same_flood_is_refused(tmp_path: Path, clock: FakeClock) -> None:
    """The check above is not blind: without the limiter, the same flood meets 429."""
    server = await start_server(tmp_path, clock, quick_limits())
    try:
        chat, _ = await server.channel.join("王老师", "zh-CN", "")
        async with bot_for(server) as bot:
            results = await asyncio.gather(
                *(bot.send_message(chat, f"第{i}条") for i in range(12)), return_exceptions=True
            )
        assert any(isinstance(result, RetryAfter) for result in results)
    finally:
        await server.stop()


@pytest.mark.parametrize(("slack", "refused"), [(SLACK, False), (0, True)])
async def test_the_networks_jitter_meets_no_429(slack: int, refused: bool) -> None:
    """The limiter counts a request when it leaves, Telegram when it arrives. Here the
    burst's requests are held up on the way (90 ms) and the next one is not, so it
    arrives less than a token's time after them: with the slack Telegram's bucket takes
    that in; without it (0), Telegram answers 429."""
    telegram = FloodLimits(time.monotonic, chat_rate=10.0, chat_burst=3, all_rate=0)
    limiter = ChatRateLimiter(chat_per_second=10.0, chat_burst=3, max_retries=0, chat_slack=slack)
    sent = 0

    async def over_the_network() -> bool:
        nonlocal sent
        sent += 1
        if sent <= 3 - slack:
            await asyncio.sleep(0.09)
        wait = telegram.retry_after(7)
        if wait:
            raise RetryAfter(wait)
        return True

    async def send() -> JSON:
        return await limiter.process_request(
            over_the_network, (), {}, "sendMessage", {"chat_id": 7}, None
        )

    results = await asyncio.gather(*(send() for _ in range(8)), return_exceptions=True)
    assert any(isinstance(result, RetryAfter) for result in results) is refused


def quick_limits() -> FloodLimits:
    """Telegram's per-chat limits, faster (burst 3, 20 a second), and no overall cap."""
    return FloodLimits(time.monotonic, chat_rate=20.0, chat_burst=3, all_rate=0)


async def test_the_sender_broadcasts_and_replies_do_not(tmp_path: Path, clock: FakeClock) -> None:
    """What the outbox sends is marked BROADCAST; a person's answers are not."""
    paces: list[tuple[str, Pace | None]] = []

    class Watching(ChatRateLimiter):
        async def process_request(
            self,
            callback: Any,
            args: Any,
            kwargs: dict[str, Any],
            endpoint: str,
            data: dict[str, Any],
            rate_limit_args: Pace | None,
        ) -> Any:
            if "chat_id" in data:
                paces.append((endpoint, rate_limit_args))
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

    sim = Simulator(tmp_path, clock)
    sim.rate_limiter = Watching(
        overall_per_second=0, group_per_minute=0, max_retries=0, chat_per_second=0
    )
    await sim.start()
    try:
        school = await make_school(sim)
        paces.clear()
        await school.staff.send("/help")
        assert paces and all(pace is None for _, pace in paces)
        person = await sim.db.value(
            "SELECT id FROM people WHERE tg_user_id = ?", (school.staff.user_id,)
        )
        async with sim.db.write() as tx:
            await outbox.enqueue(tx, key="k1", kind="test", person_id=person, text="<b>提醒</b>")
        paces.clear()
        assert await sim.send_outbox() == 1
        assert paces == [("sendMessage", BROADCAST)]
        assert "提醒" in school.staff.last.text
    finally:
        await sim.stop()


@pytest.mark.parametrize("flood_limits", [False, True])
async def test_the_local_chat_imposes_flood_limits_only_when_asked(
    tmp_path: Path, flood_limits: bool
) -> None:
    """``local.flood_limits``: off, 30 messages at once in one chat all go; on, the
    21st is answered 429 with retry_after, as Telegram would."""
    config = tmp_path / "xiaoan.toml"
    config.write_text(
        f'[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\n'
        f"[local]\nport = 0\napi_port = 0\nflood_limits = {str(flood_limits).lower()}\n",
        encoding="utf-8",
    )
    server = await new_server(load_config(config, env={}), TOKEN).start()
    try:
        chat, _ = await server.channel.join("王老师", "zh-CN", "")
        async with bot_for(server) as bot:
            results = await asyncio.gather(
                *(bot.send_message(chat, f"第{i}条") for i in range(30)), return_exceptions=True
            )
        refused = [r for r in results if isinstance(r, RetryAfter)]
        assert len(refused) == (10 if flood_limits else 0)
    finally:
        await server.stop()


async def test_a_request_may_ask_for_fewer_retries() -> None:
    """``Pace(retries=0)``: the RetryAfter reaches the caller at once, the chat held."""

    async def telegram() -> bool:
        raise RetryAfter(5)

    limiter = ChatRateLimiter(max_retries=3)
    with pytest.raises(RetryAfter):
        await limiter.process_request(
            telegram, (), {}, "sendMessage", {"chat_id": 7}, Pace(retries=0)
        )
    assert limiter.held(7) == 0  # not waited for: nothing to hold for the next request


async def test_buckets_of_chats_at_rest_are_forgotten() -> None:
    """Memory stays bounded: past KEEP_CHATS, buckets full again are dropped."""
    from bot.limiter import KEEP_CHATS, Buckets

    buckets = Buckets(20, 20.0)
    for chat in range(KEEP_CHATS * 3):
        buckets.of(chat)  # never used: at rest
    assert len(buckets) <= KEEP_CHATS + 1
