"""Per-person lanes and the per-chat flood limiter (issue 11, item 1)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot.lanes import HELD, PersonLanes
from bot.limiter import ChatRateLimiter
from storage import inbox
from tests.simulator import Simulator


def _update(update_id: int, user: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user, "type": "private"},
                "from": {"id": user, "is_bot": False, "first_name": "x"},
                "text": "hi",
            },
        },
        None,
    )


async def test_one_persons_updates_run_in_order_and_never_hold_up_anothers() -> None:
    lanes = PersonLanes()
    order: list[int] = []
    release = asyncio.Event()

    async def work(update_id: int, wait: bool) -> None:
        if wait:
            await release.wait()  # the first update of person 1 waits (a flood limit)
        order.append(update_id)

    first = [
        asyncio.create_task(lanes.process_update(_update(i, 1), work(i, i == 1))) for i in (1, 2, 3)
    ]
    other = asyncio.create_task(lanes.process_update(_update(4, 2), work(4, False)))
    await asyncio.wait_for(other, 1)  # person 2 is answered while person 1 waits
    assert order == [4]
    assert lanes.held(_update(9, 1)) == 3
    release.set()
    await asyncio.gather(*first)
    assert order == [4, 1, 2, 3]  # person 1's in the order they came
    assert lanes.held(_update(9, 1)) == 0 and not lanes._lanes  # idle lanes forgotten


async def test_a_flood_cannot_fill_the_processor() -> None:
    """PTB takes its semaphore before the lane: it must hold far more than a flood."""
    lanes = PersonLanes(running=2)
    assert lanes.max_concurrent_updates == HELD
    release = asyncio.Event()
    done: list[int] = []

    async def work(update_id: int) -> None:
        if update_id < 1000:
            await release.wait()
        done.append(update_id)

    flood = [asyncio.create_task(lanes.process_update(_update(i, 1), work(i))) for i in range(500)]
    await asyncio.wait_for(lanes.process_update(_update(1000, 2), work(1000)), 1)
    assert done == [1000]
    release.set()
    await asyncio.gather(*flood)


async def test_the_application_runs_per_person_lanes(sim: Simulator) -> None:
    assert isinstance(sim.app.update_processor, PersonLanes)
    assert sim.app.concurrent_updates == HELD


class _Telegram:
    """Answers requests; chat 1 is over its flood limit once."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.limited = {1}

    async def __call__(self, chat: int) -> bool:
        self.calls.append(chat)
        if chat in self.limited:
            self.limited.discard(chat)
            raise RetryAfter(5)
        return True


async def _request(limiter: Any, telegram: _Telegram, chat: int) -> Any:
    return await limiter.process_request(
        telegram, (chat,), {}, "sendMessage", {"chat_id": chat}, None
    )


async def test_a_flood_limit_in_one_chat_holds_that_chat_only() -> None:
    waits: list[float] = []
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await gate.wait()

    limiter = ChatRateLimiter(overall_per_second=0, sleep=sleep, monotonic=lambda: 0.0)
    telegram = _Telegram()
    held = asyncio.create_task(_request(limiter, telegram, 1))
    await asyncio.sleep(0.01)
    assert waits == [pytest.approx(5.1)]  # chat 1 waits out what Telegram asked
    assert await asyncio.wait_for(_request(limiter, telegram, 2), 1) is True  # chat 2 goes on
    assert limiter.held(1) == pytest.approx(5.1) and limiter.held(2) == 0
    gate.set()
    assert await held is True
    assert telegram.calls == [1, 2, 1]


async def test_ptbs_own_limiter_would_hold_every_chat() -> None:
    """Why the bot has its own: AIORateLimiter halts everyone on one chat's RetryAfter."""
    limiter = AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=1)
    telegram = _Telegram()
    telegram.limited = {1}

    async def quick_retry(chat: int) -> bool:
        telegram.calls.append(chat)
        if chat in telegram.limited:
            telegram.limited.discard(chat)
            raise RetryAfter(1)
        return True

    held = asyncio.create_task(
        limiter.process_request(quick_retry, (1,), {}, "sendMessage", {"chat_id": 1}, None)
    )
    await asyncio.sleep(0.05)
    other = asyncio.create_task(
        limiter.process_request(quick_retry, (2,), {}, "sendMessage", {"chat_id": 2}, None)
    )
    await asyncio.sleep(0.2)
    assert not other.done()  # chat 2 waits for chat 1's flood limit
    await asyncio.gather(held, other)


async def test_after_its_retries_a_flood_limit_reaches_the_caller() -> None:
    async def sleep(seconds: float) -> None:
        return None

    limiter = ChatRateLimiter(overall_per_second=0, max_retries=0, sleep=sleep)
    with pytest.raises(RetryAfter):
        await _request(limiter, _Telegram(), 1)


async def test_the_running_application_answers_one_person_while_anothers_chat_waits(
    tmp_path, clock
) -> None:
    """Through the Application's own update fetcher: a RetryAfter in the principal's
    chat (Telegram asks for a second) does not hold up the staff member's answer."""
    from tests.conftest import make_school

    sim = Simulator(tmp_path, clock)
    await sim.start()
    try:
        school = await make_school(sim)
        await sim.stop()
        sim.rate_limiter = ChatRateLimiter(overall_per_second=0, max_retries=2)
        await sim.start()
        app = sim.app
        principal, staff = school.principal, school.staff
        sim.api.fail("sendMessage", 429, "Too Many Requests", principal.user_id, retry_after=1)
        await app.start()
        try:
            for raw in (principal.text_update("/help"), staff.text_update("/help")):
                await inbox.receive(sim.db, [raw])
                await app.update_queue.put(Update.de_json(raw, app.bot))
            order: list[int] = []
            for _ in range(400):
                for chat in (principal, staff):
                    if chat.new() and chat.user_id not in order:
                        order.append(chat.user_id)
                if len(order) == 2:
                    break
                await asyncio.sleep(0.01)
            assert order == [staff.user_id, principal.user_id]
        finally:
            await app.stop()
        sim.assert_clean()
    finally:
        await sim.stop()
