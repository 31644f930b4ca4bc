"""Notices across a crash (issue 11, item 7): in flight before the call, sent again at
most once and recorded as possibly sent twice; exactly once on the local chat.

A crash is a ``BaseException`` nothing catches, raised where a SIGKILL would
stop the bot: after Telegram accepted a message and before the outbox marked
it sent, or before the request left. ``tests/test_crash_processes.py`` does
the same with real processes and SIGKILL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.ext import ExtBot

from bot.cli import cmd_outbox
from bot.limiter import ChatRateLimiter
from ledger.clock import FakeClock
from ledger.roles import Role
from localchat.channel import IDEMPOTENCY_FEATURE as LOCAL_FEATURE
from localchat.channel import IDEMPOTENCY_PARAMETER as LOCAL_PARAMETER
from localchat.server import LocalServer
from scheduler.sender import IDEMPOTENCY_FEATURE, IDEMPOTENCY_PARAMETER, Sender
from storage import outbox, people
from storage.db import Database
from storage.photos import PhotoLimits, PhotoStore
from tests.conftest import cli_invitation, join, jpeg
from tests.localchat_support import TOKEN, start_server
from tests.simulator import Simulator


class Crash(BaseException):
    """The process stops here."""


def crash_at(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The next call of ``storage.outbox.<name>`` never happens: the bot dies first."""
    original = getattr(outbox, name)

    async def dying(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(outbox, name, original)
        raise Crash()

    monkeypatch.setattr(outbox, name, dying)


@pytest.fixture
async def person(sim):
    chat = await join(sim, await cli_invitation(sim, Role.TASKFORCE), "市专班李")
    chat.new()
    person_id = await sim.db.value("SELECT id FROM people WHERE tg_user_id = ?", (chat.user_id,))
    return chat, person_id


async def put(db: Database, person_id: int, key: str = "k1", **extra: Any) -> None:
    async with db.write() as tx:
        await outbox.enqueue(tx, key=key, kind="test", person_id=person_id, text="提醒", **extra)


async def row(db: Database, key: str = "k1") -> Any:
    return await db.one("SELECT * FROM outbox WHERE key = ?", (key,))


async def test_accepted_then_killed_is_sent_again_once_and_recorded(sim, person, monkeypatch):
    """Telegram took it, the bot died before the mark: after a restart it goes again,
    and the outbox says it was possibly sent twice."""
    chat, person_id = person
    await put(sim.db, person_id)
    crash_at(monkeypatch, "mark_sent")
    with pytest.raises(Crash):
        await sim.send_outbox()
    assert (await row(sim.db))["in_flight_at"] is not None  # committed before the call
    assert len(chat.new()) == 1

    await sim.restart()
    assert await sim.send_outbox() == 1
    assert len(chat.new()) == 1  # the second copy: Telegram gives no way to know
    stored = await row(sim.db)
    assert (stored["state"], stored["interrupted"], stored["possibly_twice"]) == ("sent", 1, 1)
    assert stored["in_flight_at"] is None
    listing = await cmd_outbox(sim.config, None, 10)
    assert "possibly sent twice" in listing.splitlines()[1]
    assert await sim.send_outbox() == 0  # and never a third time


async def test_killed_before_the_request_left_is_sent_and_recorded(sim, person, monkeypatch):
    """In flight but never delivered: sent after the restart (possibly twice, as far as
    the bot can know)."""
    chat, person_id = person
    await put(sim.db, person_id)
    original = sim.api.do_request

    async def dying(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            sim.api.do_request = original
            raise Crash()
        return await original(url, *args, **kwargs)

    sim.api.do_request = dying
    with pytest.raises(Crash):
        await sim.send_outbox()
    assert chat.new() == []
    await sim.restart()
    assert await sim.send_outbox() == 1
    assert len(chat.new()) == 1
    assert (await row(sim.db))["possibly_twice"] == 1


async def test_killed_twice_while_sending_it_is_given_up(sim, person, monkeypatch):
    """At most one repeat: stopped again while sending it again, it is not sent a third
    time; it is failed with the reason, for a person to look at."""
    chat, person_id = person
    await put(sim.db, person_id)
    for _ in range(2):
        crash_at(monkeypatch, "mark_sent")
        with pytest.raises(Crash):
            await sim.send_outbox()
        await sim.restart()
    assert len(chat.new()) == 2
    assert await sim.send_outbox() == 0
    assert chat.new() == []
    stored = await row(sim.db)
    assert (stored["state"], stored["interrupted"]) == ("failed", 2)
    assert (stored["last_error"], stored["possibly_twice"]) == (outbox.STOPPED_TWICE, 1)
    assert "possibly sent, not sent again" in await cmd_outbox(sim.config, "failed", 10)


async def test_an_album_in_flight_goes_again_with_its_text(sim, person, monkeypatch):
    """The album accepted, the bot killed before marking it: album and text go again."""
    chat, person_id = person
    shas = [sim.services.photos.save(jpeg(color=c)).sha256 for c in ("red", "blue")]
    await put(sim.db, person_id, photos=shas)
    crash_at(monkeypatch, "mark_album_sent")
    with pytest.raises(Crash):
        await sim.send_outbox()
    await sim.restart()
    await sim.send_outbox()
    assert [m.kind for m in chat.new()] == ["album", "album", "text"]
    assert (await row(sim.db))["possibly_twice"] == 1


async def test_a_message_sent_without_a_crash_is_not_flagged(sim, person):
    _, person_id = person
    await put(sim.db, person_id)
    await sim.restart()
    assert await sim.send_outbox() == 1
    stored = await row(sim.db)
    assert (stored["interrupted"], stored["possibly_twice"], stored["in_flight_at"]) == (0, 0, None)
    assert "possibly" not in await cmd_outbox(sim.config, None, 10)


async def test_the_sent_mark_goes_before_writers_already_waiting(fresh_db):
    """The mark after Telegram's answer does not queue behind other writers: it takes
    the next turn of the single writer, ahead of those waiting."""
    order: list[str] = []
    holding = asyncio.Event()
    release = asyncio.Event()

    async def long_transaction() -> None:
        async with fresh_db.write():
            holding.set()
            await release.wait()
            order.append("long")

    async def writer(name: str, urgent: bool = False) -> None:
        async with fresh_db.write(urgent=urgent):
            order.append(name)

    first = asyncio.create_task(long_transaction())
    await holding.wait()
    waiting = [asyncio.create_task(writer(f"w{n}")) for n in range(3)]
    await asyncio.sleep(0)
    mark = asyncio.create_task(writer("mark", urgent=True))
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, mark, *waiting)
    assert order == ["long", "mark", "w0", "w1", "w2"]


async def test_a_cancelled_waiter_does_not_keep_the_writer(fresh_db):
    """A writer cancelled while waiting its turn leaves the queue; the others go on."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def long_transaction() -> None:
        async with fresh_db.write():
            holding.set()
            await release.wait()

    first = asyncio.create_task(long_transaction())
    await holding.wait()

    async def waits() -> None:
        async with fresh_db.write():
            pass

    cancelled = asyncio.create_task(waits())
    await asyncio.sleep(0)
    cancelled.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    async with asyncio.timeout(2), fresh_db.write(urgent=True) as tx:
        assert await tx.value("SELECT 1") == 1


# --- the local chat: exactly once ---------------------------------------------------


def test_bot_and_local_chat_name_the_key_alike():
    assert (IDEMPOTENCY_PARAMETER, IDEMPOTENCY_FEATURE) == (LOCAL_PARAMETER, LOCAL_FEATURE)


@pytest.fixture
async def server(tmp_path: Path, clock: FakeClock) -> AsyncIterator[LocalServer]:
    running = await start_server(tmp_path, clock)
    yield running
    await running.stop()


@pytest.fixture
async def bot(server: LocalServer) -> AsyncIterator[Bot]:
    """An ``ExtBot``, as the Application's: the sender passes its limiter ``rate_limit_args``."""
    api = server.api_url
    unpaced = ChatRateLimiter(
        overall_per_second=0, group_per_minute=0, chat_per_second=0, max_retries=0
    )
    async with ExtBot(
        TOKEN, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot", rate_limiter=unpaced
    ) as connected:
        yield connected


async def chat_messages(server: LocalServer, chat_id: int) -> list[Any]:
    return await server.channel.store._all(
        "SELECT * FROM messages WHERE chat_id = ? AND from_bot = 1", (chat_id,)
    )


async def test_get_me_says_the_local_chat_honours_keys(bot):
    assert bot.bot.api_kwargs.get(IDEMPOTENCY_FEATURE) is True


async def test_a_repeated_key_returns_the_first_result_and_stores_nothing(server, bot):
    chat_id, _ = await server.channel.join("王老师", "zh-CN", "")
    key = {IDEMPOTENCY_PARAMETER: "k-1"}
    first = await bot.send_message(chat_id, "提醒", api_kwargs=key)
    again = await bot.send_message(chat_id, "提醒（重发）", api_kwargs=key)
    assert again.message_id == first.message_id and again.text == "提醒"
    other = await bot.send_message(chat_id, "另一条", api_kwargs={IDEMPOTENCY_PARAMETER: "k-2"})
    assert other.message_id != first.message_id
    plain = [await bot.send_message(chat_id, "无键") for _ in range(2)]
    assert plain[0].message_id != plain[1].message_id  # without a key: as before
    assert len(await chat_messages(server, chat_id)) == 4


async def test_a_repeated_album_key_returns_the_first_album(server, bot):
    from telegram import InputMediaPhoto

    chat_id, _ = await server.channel.join("王老师", "zh-CN", "")
    key = {IDEMPOTENCY_PARAMETER: "album-1"}
    media = [InputMediaPhoto(jpeg(color=c)) for c in ("red", "blue")]
    first = await bot.send_media_group(chat_id, media, api_kwargs=key)
    media = [InputMediaPhoto(jpeg(color=c)) for c in ("red", "blue")]
    again = await bot.send_media_group(chat_id, media, api_kwargs=key)
    assert [m.message_id for m in again] == [m.message_id for m in first]
    photo = await bot.send_photo(chat_id, jpeg(), api_kwargs={IDEMPOTENCY_PARAMETER: "p-1"})
    again_photo = await bot.send_photo(chat_id, jpeg(), api_kwargs={IDEMPOTENCY_PARAMETER: "p-1"})
    assert photo.message_id == again_photo.message_id
    assert len(await chat_messages(server, chat_id)) == 3
    # Sent under a key, the pictures are the person's to open, as any other.
    for file_id in [first[0].photo[-1].file_id, photo.photo[-1].file_id]:
        assert await server.channel.may_see_file(chat_id, file_id)


async def test_keys_belong_to_their_chat(server, bot):
    one, _ = await server.channel.join("王老师", "zh-CN", "")
    two, _ = await server.channel.join("李老师", "zh-CN", "")
    key = {IDEMPOTENCY_PARAMETER: "same"}
    await bot.send_message(one, "给王", api_kwargs=key)
    sent = await bot.send_message(two, "给李", api_kwargs=key)
    assert sent.text == "给李" and sent.chat.id == two


async def test_a_key_too_long_is_refused(server, bot):
    from telegram.error import BadRequest

    chat_id, _ = await server.channel.join("王老师", "zh-CN", "")
    with pytest.raises(BadRequest, match=r"(?i)idempotency key is too long"):
        await bot.send_message(chat_id, "x", api_kwargs={IDEMPOTENCY_PARAMETER: "k" * 129})


async def test_on_the_local_chat_a_crash_never_sends_twice(
    server, bot, tmp_path, clock, monkeypatch
):
    """The sender on the local chat: killed after the chat accepted the message, then
    started again: the repeat carries the same key, and the chat keeps one copy."""
    chat_id, _ = await server.channel.join("王老师", "zh-CN", "")
    photos = PhotoStore(tmp_path / "photos", PhotoLimits(10_000_000, 50_000_000, 2048))
    async with Database(tmp_path / "bot.sqlite3", clock) as db:
        async with db.write() as tx:
            person_id = await people.create_person(
                tx, tg_user_id=chat_id, chat_id=chat_id, name="王老师", phone="1", language="zh"
            )
        shas = [photos.save(jpeg(color=c)).sha256 for c in ("red", "blue")]
        await put(db, person_id, photos=shas)
        await put(db, person_id, key="k2")

        def sender() -> Sender:
            return Sender(bot, db, clock, photos, idempotent=True, sleep=_no_wait)

        # Killed after the album, then three times after the text was accepted.
        for point in ("mark_album_sent", "mark_sent", "mark_sent", "mark_sent"):
            crash_at(monkeypatch, point)
            with pytest.raises(Crash):
                await sender().send_due()
            await sender().recover()  # the start of the next run
        assert await sender().send_due() == 2
        assert len(await chat_messages(server, chat_id)) == 4  # 2 photos, 2 texts: once each
        for key in ("k1", "k2"):
            stored = await row(db, key)
            assert (stored["state"], stored["possibly_twice"]) == ("sent", 0)
        # No limit on repeats where they cannot make a copy: never given up, never lost.
        assert (await row(db, "k1"))["interrupted"] == 4


async def _no_wait(seconds: float) -> None:
    return None


# --- no answer from Telegram: it may have the message --------------------------------


def fail_next_send(sim: Simulator, error: BaseException) -> None:
    original = sim.api.do_request

    async def failing(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            sim.api.do_request = original  # type: ignore[method-assign]
            raise error
        return await original(url, *args, **kwargs)

    sim.api.do_request = failing  # type: ignore[method-assign]


def caused(error: NetworkError, cause: BaseException) -> NetworkError:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "possibly_twice"),
    [
        (caused(TimedOut(), httpx.ReadTimeout("no answer")), 1),
        (caused(NetworkError("httpx.RemoteProtocolError"), httpx.RemoteProtocolError("x")), 1),
        (caused(TimedOut(), httpx.ConnectTimeout("no connection")), 0),
        (caused(NetworkError("httpx.ConnectError"), httpx.ConnectError("refused")), 0),
        (caused(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")), 0),
    ],
    ids=["read-timeout", "dropped", "connect-timeout", "refused", "pool"],
)
async def test_a_send_with_no_answer_is_recorded_as_possibly_twice(
    sim, person, error, possibly_twice
):
    """A request that left without an answer may have arrived: its retry is recorded as
    possibly sent twice; one that never left (no connection) is not."""
    _, person_id = person
    await put(sim.db, person_id)
    fail_next_send(sim, error)
    assert await sim.send_outbox() == 0
    sim.clock.advance(seconds=60)
    assert await sim.send_outbox() == 1
    stored = await row(sim.db)
    assert (stored["state"], stored["attempts"]) == ("sent", 2)
    assert stored["possibly_twice"] == possibly_twice
