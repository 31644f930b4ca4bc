"""The outbox: stored once, sent once, retried, given up, or stopped for a blocked person."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ledger.roles import Role
from scheduler.sender import MAX_ATTEMPTS, backoff
from storage import outbox
from tests.conftest import cli_invitation, join, jpeg


@pytest.fixture
async def person(sim):
    chat = await join(sim, await cli_invitation(sim, Role.TASKFORCE), "市专班李")
    chat.new()
    person_id = await sim.db.value("SELECT id FROM people WHERE tg_user_id = ?", (chat.user_id,))
    return chat, person_id


async def put(sim, person_id, key="k1", text="<b>提醒</b>", **extra) -> bool:
    async with sim.db.write() as tx:
        return await outbox.enqueue(
            tx, key=key, kind="test", person_id=person_id, text=text, **extra
        )


async def row(sim: Any, key: str = "k1") -> Any:
    return await sim.db.one("SELECT * FROM outbox WHERE key = ?", (key,))


async def test_a_key_is_stored_once_and_sent_once(sim, person):
    chat, person_id = person
    assert await put(sim, person_id) is True
    assert await put(sim, person_id, text="again") is False
    assert await sim.send_outbox() == 1
    assert await sim.send_outbox() == 0
    assert [m.text for m in chat.new()] == ["提醒"]
    stored = await row(sim)
    assert (stored["state"], stored["attempts"], stored["text"]) == ("sent", 1, "<b>提醒</b>")
    assert stored["sent_at"] == sim.clock.now().isoformat(timespec="seconds")


async def test_not_sent_before_its_time(sim, person):
    chat, person_id = person
    await put(sim, person_id, not_before=sim.clock.now() + timedelta(hours=2))
    assert await sim.send_outbox() == 0
    sim.clock.advance(hours=2)
    assert await sim.send_outbox() == 1
    assert len(chat.new()) == 1


async def test_buttons_and_an_album_come_with_the_text(sim, person):
    chat, person_id = person
    shas = [sim.services.photos.save(jpeg(color=c)).sha256 for c in ("red", "blue")]
    await put(sim, person_id, buttons=[[("通过", "v:1"), ("退回", "r:1")]], photos=shas)
    await sim.send_outbox()
    album, text = chat.new()
    assert (album.kind, len(album.files)) == ("album", 2)
    assert text.buttons == [[("通过", "v:1"), ("退回", "r:1")]]


async def test_a_single_photo_goes_as_a_photo(sim, person):
    chat, person_id = person
    sha = sim.services.photos.save(jpeg()).sha256
    await put(sim, person_id, photos=[sha])
    await sim.send_outbox()
    assert [m.kind for m in chat.new()] == ["photo", "text"]


async def test_retry_after_waits_as_telegram_asks(sim, person):
    chat, person_id = person
    await put(sim, person_id)
    sim.api.fail("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    assert await sim.send_outbox() == 0
    stored = await row(sim)
    assert (stored["state"], stored["attempts"]) == ("pending", 1)
    assert "RetryAfter" in stored["last_error"]
    sim.clock.advance(seconds=29)
    assert await sim.send_outbox() == 0
    sim.clock.advance(seconds=1)
    assert await sim.send_outbox() == 1
    assert len(chat.new()) == 1
    assert (await row(sim))["attempts"] == 2


async def test_network_errors_back_off_then_succeed(sim, person):
    chat, person_id = person
    await put(sim, person_id)
    sim.api.fail("sendMessage", None, times=2)
    assert await sim.send_outbox() == 0
    sim.clock.advance(seconds=backoff(1).total_seconds())
    assert await sim.send_outbox() == 0
    assert (await row(sim))["attempts"] == 2
    sim.clock.advance(seconds=backoff(1).total_seconds())
    assert await sim.send_outbox() == 0  # the second wait is longer
    sim.clock.advance(seconds=backoff(2).total_seconds())
    assert await sim.send_outbox() == 1
    assert len(chat.new()) == 1


async def test_given_up_after_too_many_network_errors(sim, person):
    chat, person_id = person
    await put(sim, person_id)
    sim.api.fail("sendMessage", None, times=MAX_ATTEMPTS)
    for _ in range(MAX_ATTEMPTS):
        await sim.send_outbox()
        sim.clock.advance(hours=1)
    stored = await row(sim)
    assert (stored["state"], stored["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert "NetworkError" in stored["last_error"]
    assert chat.new() == []


async def test_a_refused_message_fails_at_once(sim, person):
    _, person_id = person
    await put(sim, person_id)
    sim.api.fail("sendMessage", 400, "Bad Request: chat not found")
    await sim.send_outbox()
    stored = await row(sim)
    assert (stored["state"], stored["last_error"]) == ("failed", "BadRequest: Chat not found")


async def test_a_person_who_blocked_the_bot_is_marked(sim, person):
    chat, person_id = person
    await put(sim, person_id, key="a")
    await put(sim, person_id, key="b")
    sim.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await sim.send_outbox()
    assert [r["state"] for r in await sim.db.all("SELECT state FROM outbox ORDER BY id")] == [
        "blocked",
        "blocked",
    ]
    assert await sim.db.value("SELECT blocked_at FROM people WHERE id = ?", (person_id,))
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM events WHERE action = 'person.blocked_bot' AND subject_id = ?",
            (person_id,),
        )
        == 1
    )
    assert chat.new() == []


async def test_an_album_is_not_sent_again_when_the_text_fails(sim, person):
    chat, person_id = person
    shas = [sim.services.photos.save(jpeg(color=c)).sha256 for c in ("red", "blue")]
    await put(sim, person_id, photos=shas)
    sim.api.fail("sendMessage", None)
    await sim.send_outbox()
    sim.clock.advance(seconds=backoff(1).total_seconds())
    await sim.send_outbox()
    assert [m.kind for m in chat.new()] == ["album", "text"]


async def test_the_outbox_survives_a_restart(sim, person):
    chat, person_id = person
    await put(sim, person_id)
    await sim.restart()
    assert await sim.send_outbox() == 1
    assert len(chat.new()) == 1


async def test_telegram_says_the_person_blocked_the_bot(sim, person):
    """my_chat_member: blocked at once, without waiting for a send to fail; then back."""
    chat, person_id = person
    await put(sim, person_id, key="a")
    sim.auto_send = False
    assert await chat.set_blocked(True) == []  # nothing is said to a person who left
    assert await sim.db.value("SELECT blocked_at FROM people WHERE id = ?", (person_id,))
    assert (await row(sim, "a"))["state"] == "blocked"
    assert await sim.send_outbox() == 0
    await chat.set_blocked(False)
    assert await sim.db.value("SELECT blocked_at FROM people WHERE id = ?", (person_id,)) is None
    actions = [
        r["action"]
        for r in await sim.db.all(
            "SELECT action FROM events WHERE subject = 'person' AND subject_id = ? ORDER BY id",
            (person_id,),
        )
    ]
    assert actions[-2:] == ["person.blocked_bot", "person.unblocked_bot"]
    await put(sim, person_id, key="b")
    assert await sim.send_outbox() == 1
    assert len(chat.new()) == 1
