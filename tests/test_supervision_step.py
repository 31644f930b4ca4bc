"""A supervision walk's step (issue 12, items 5 and 6, for the supervisors' walk): a
"no hazard" or "not applicable" tap reads in one trip, writes in one transaction and
costs one rate-limited Bot API call: the tapped question is edited in place into the
next one, the last answers (each with the school's own) shown above it.

The counts are deterministic (statements and trips, not time), so they are asserted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cases import supervision as case
from cases.actor import Actor
from ledger.errors import Stale
from ledger.walk import Choice
from storage import inbox, journeys, trace
from storage import supervision as store
from storage.db import Writes
from storage.people import person_by_tg
from tests.simulator import Chat, Sent, Simulator, texts
from tests.supervision_helpers import World, start_visit, world

RATE_LIMITED = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto"}


@dataclass(frozen=True)
class Cost:
    """What handling one tap cost: the database's figures and the Bot API calls made."""

    tally: trace.Tally
    read_trips: int
    calls: list[str]

    @property
    def rate_limited(self) -> int:
        return len([c for c in self.calls if c in RATE_LIMITED])


async def counted_tap(sim: Simulator, chat: Chat, label: str) -> Cost:
    """Tap as Telegram delivers it (polling stores it in the inbox first, one write per
    batch of updates, not counted), counting what handling it costs."""
    message, data = chat._button(label)
    raw = chat.tap_update(data, message)
    await inbox.receive(sim.db, [raw])
    calls = len(sim.api.calls)
    async with trace.counting(sim.db) as tally:
        await sim.handle(raw)
    sim.assert_clean()
    return Cost(
        tally.snapshot(), tally.snapshot().read_trips, [name for name, _ in sim.api.calls[calls:]]
    )


async def first_question(sim: Simulator, building: str = "食堂") -> tuple[World, Sent]:
    """督导甲 on his visit at 实验小学, at the first question of ``building``'s walk."""
    w = await world(sim)
    await start_visit(sim, w)
    said = await w.sup1.tap(f"🕵️ {building}")
    assert f"【{building}】1/" in said[-1].text and "F01" in said[-1].text
    return w, said[-1]


F01 = "疏散通道、楼梯、安全出口畅通，无堵塞、占用、锁闭"
F02 = "疏散指示标志、应急照明完好有效"
F03 = "灭火器数量充足、位置明显、压力正常、在有效期内"


async def stored(sim: Simulator) -> list[tuple[str, str, str | None]]:
    """The supervisor's answers as stored: item, answer, the school's own then."""
    rows = await sim.db.all(
        "SELECT c.code, a.choice, a.school_choice FROM supervision_answers a"
        " JOIN checklist_items c ON c.id = a.item_id ORDER BY a.id"
    )
    return [(r["code"], r["choice"], r["school_choice"]) for r in rows]


async def walk_events(sim: Simulator) -> int:
    return int(
        await sim.db.value("SELECT COUNT(*) FROM events WHERE action = 'supervision_answer.given'")
    )


# --- the cost of a step ------------------------------------------------------------------


async def test_a_no_hazard_step_costs_one_read_trip_one_commit_and_one_limited_call(
    sim: Simulator,
) -> None:
    """Every "no hazard" and "not applicable" step: reads ≤ 5 (the transaction's too)
    read on the event loop itself (no trip), its writes there too (``write_at_once``,
    a lone unsynced one), one commit, one rate-limited call.
    Before: 11 reads in 9 read trips, 22 thread trips, 2 commits, 3 rate-limited calls."""
    w, question = await first_question(sim)
    for n, label in enumerate(["无隐患", "无隐患", "不适用", "无隐患", "不适用"], start=1):
        cost = await counted_tap(sim, w.sup1, label)
        assert cost.tally.reads <= 5, cost
        assert cost.read_trips == 0, cost  # read on the event loop (``read_here``)
        assert cost.tally.trips == 0, cost  # written on the event loop too
        assert cost.tally.commits == 1 and cost.tally.rollbacks == 0, cost
        assert cost.calls == ["editMessageText", "answerCallbackQuery"], cost
        assert cost.rate_limited == 1
        shown = w.sup1.messages[-1]  # the question tapped is now the next one
        assert shown.message_id == question.message_id
        assert f"【食堂】{n + 1}/20 · F{n + 1:02d}" in shown.text
        assert len(await stored(sim)) == n
    assert [(code, choice) for code, choice, _ in await stored(sim)] == [
        ("F01", "ok"),
        ("F02", "ok"),
        ("F03", "na"),
        ("F04", "ok"),
        ("F05", "na"),
    ]
    assert await walk_events(sim) == 5


async def test_a_tap_that_opens_a_finding_still_asks_in_new_messages(sim: Simulator) -> None:
    """A hazard found is no step in place: its question is settled with the answer under
    it; the school's answer, over the finding's photo question, comes as one new message."""
    w, question = await first_question(sim)
    cost = await counted_tap(sim, w.sup1, "有隐患")
    assert cost.calls == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    said = w.sup1.new()
    settled = next(m for m in w.sup1.messages if m.message_id == question.message_id)
    assert settled.buttons == [] and settled.text.endswith("→ ⚠️ 有隐患")
    (asked,) = said
    assert asked.text.startswith("⚠️ 与学校自查不一致：学校自查答案为 ✅ 无隐患\n\n")
    assert "请发送现场照片" in asked.text
    assert await stored(sim) == [("F01", "hz", "ok")]
    assert await sim.db.value("SELECT state FROM supervision_findings") == "draft"


# --- what the supervisor sees -------------------------------------------------------------


async def test_the_tapped_question_becomes_the_next_with_the_last_answers_and_the_schools(
    sim: Simulator,
) -> None:
    """Blind until answered: the school's own answer is shown beside each answer given,
    a contradiction flagged; the next question is still asked blind."""
    w, question = await first_question(sim)
    said = await w.sup1.tap("无隐患")
    assert [m.message_id for m in said] == [question.message_id]  # edited, none sent
    assert said[0].text.splitlines()[0] == f"✓ 1. {F01} — 无隐患 · 学校自查：无隐患"
    assert "【食堂】2/20 · F02" in said[0].text
    assert "作答后再显示学校自查答案" in said[0].text
    said = await w.sup1.tap("不适用")
    assert said[0].text.splitlines()[:2] == [
        f"✓ 1. {F01} — 无隐患 · 学校自查：无隐患",
        f"– 2. {F02} — 不适用 · ⚠️ 与学校自查不一致（学校：无隐患）",
    ]
    said = await w.sup1.tap("无隐患")
    lines = said[0].text.splitlines()
    assert lines[0].startswith("– 2. ") and lines[1].startswith("✓ 3. ")  # the last two
    assert "1. 疏散通道" not in said[0].text
    assert "【食堂】4/20 · F04" in said[0].text
    labels = [label for row in said[0].buttons for label, _ in row]
    assert labels == ["✅ 无隐患", "⚠️ 有隐患", "不适用", "⏸ 暂停"]
    assert len(w.sup1.messages) == len({m.message_id for m in w.sup1.messages})
    assert await stored(sim) == [("F01", "ok", "ok"), ("F02", "na", "ok"), ("F03", "ok", "ok")]


async def test_an_item_the_school_never_answered_says_so(sim: Simulator) -> None:
    w, _ = await first_question(sim, building="教学楼A")  # the school has not walked it
    said = await w.sup1.tap("无隐患")
    assert said[0].text.splitlines()[0] == f"✓ 1. {F01} — 无隐患 · 学校自查：未作答"
    assert await stored(sim) == [("F01", "ok", None)]


async def test_a_question_too_long_for_the_answers_above_is_shown_whole_without_them(
    sim: Simulator,
) -> None:
    """Telegram takes 4096 UTF-16 units: an item whose question nearly fills them is shown
    whole, without the answer lines, rather than cut."""
    w, _ = await first_question(sim)
    long_text = "楼" * 4040
    async with sim.db.write() as tx:
        await tx.run("UPDATE checklist_items SET text_zh = ? WHERE code = 'F02'", (long_text,))
    await sim.restart()  # a new connection reads the edited checklist
    w.sup1.new()
    await w.sup1.send("/supervise")
    said = await w.sup1.tap("🕵️ 食堂")
    said = await w.sup1.tap("无隐患")
    assert said[0].text.startswith("🕵️【食堂】2/20 · F02\n" + long_text)
    assert "✓ 1. " not in said[0].text
    assert sim.api.overruns == []
    said = await w.sup1.tap("无隐患")  # the next one has room for its lines again
    assert said[0].text.startswith("✓ 1. ") and "3/20 · F03" in said[0].text


async def test_after_the_last_item_the_other_hazard_question_is_the_same_message(
    sim: Simulator,
) -> None:
    """The last item's step asks "any other hazard?" in place; "no" ends the walk with a
    new message listing every answer with the school's own, then the visit."""
    w, question = await first_question(sim)
    for _ in range(19):
        await w.sup1.tap("无隐患")
    cost = await counted_tap(sim, w.sup1, "不适用")  # F20, the last
    assert cost.calls == ["editMessageText", "answerCallbackQuery"]
    assert cost.tally.commits == 1
    last = w.sup1.messages[-1]
    assert last.message_id == question.message_id
    assert "清单已查完。还有其他隐患吗？" in last.text
    assert "– 20. " in last.text and "✓ 19. " in last.text
    w.sup1.new()
    said = await w.sup1.tap("否")
    assert said[0].message_id > question.message_id
    done = said[0].text.splitlines()
    assert done[0] == "【食堂】督查完毕。"
    assert done[1] == f"✓ 1. {F01} — 无隐患 · 学校自查：无隐患"
    assert len(done) == 21 and done[20].startswith("– 20. ")
    assert all(f" {n}. " in said[0].text for n in range(1, 21))
    assert "督查实验小学" in said[-1].text
    assert await sim.db.value("SELECT finished_at IS NOT NULL FROM supervision_walks") == 1
    assert len(await stored(sim)) == 20


async def test_in_english(sim: Simulator) -> None:
    w, _ = await first_question(sim)
    w.sup1.user["language_code"] = "en"
    await w.sup1.send("/supervise")
    await w.sup1.tap("🕵️ 食堂")
    said = await w.sup1.tap("No hazard")
    assert said[0].text.splitlines()[0] == (
        "✓ 1. Escape routes, stairs and exits clear;… — no hazard · school: no hazard"
    )
    said = await w.sup1.tap("Not applicable")
    assert (
        said[0]
        .text.splitlines()[1]
        .endswith("— not applicable · ⚠️ differs from the school's (no hazard)")
    )
    assert "3/20 · F03" in said[0].text


# --- guarantees kept -----------------------------------------------------------------------


async def test_a_double_tap_is_applied_once_and_the_second_is_stale(sim: Simulator) -> None:
    w, question = await first_question(sim)
    _, data = w.sup1._button("无隐患")
    first = w.sup1.tap_update(data, question)
    second = w.sup1.tap_update(data, question)  # the same button, before the edit arrived
    await sim.deliver(first)
    said_before = w.sup1.new()
    await sim.deliver(second)
    assert await stored(sim) == [("F01", "ok", "ok")]
    assert await walk_events(sim) == 1
    assert w.sup1.alerts[-1] == "这个问题已经回答过了。"
    said = w.sup1.new()
    assert "【食堂】2/20 · F02" in said[-1].text  # the current question, asked anew
    assert said_before and said_before[0].message_id == question.message_id


async def test_a_replayed_tap_changes_nothing(sim: Simulator) -> None:
    """An update delivered twice (a restart's replay) is applied once, and said once."""
    w, question = await first_question(sim)
    _, data = w.sup1._button("无隐患")
    raw = w.sup1.tap_update(data, question)
    await sim.deliver(raw)
    calls = len(sim.api.calls)
    await sim.deliver(raw)
    assert sim.api.calls[calls:] == []
    assert await stored(sim) == [("F01", "ok", "ok")]


async def test_a_stale_tap_on_an_old_question_changes_nothing(sim: Simulator) -> None:
    """F01's button again, from a copy of the question shown before: F02 is asked now."""
    w, question = await first_question(sim)
    _, data = w.sup1._button("无隐患")
    await w.sup1.tap("无隐患")
    before = await stored(sim)
    await w.sup1.tap_data(data, question)
    assert w.sup1.alerts[-1] == "这个问题已经回答过了。"
    assert await stored(sim) == before == [("F01", "ok", "ok")]
    assert "【食堂】2/20 · F02" in w.sup1.last.text


async def test_a_message_not_modified_counts_as_shown(sim: Simulator) -> None:
    """Telegram says the question already shows this (an edit made before a crash): the
    step is shown, nothing else is sent, and a text typed then answers that question."""
    w, question = await first_question(sim)
    sim.api.fail("editMessageText", 400, "Bad Request: message is not modified")
    cost = await counted_tap(sim, w.sup1, "无隐患")
    assert cost.calls == ["editMessageText", "answerCallbackQuery"]
    assert cost.tally.commits == 1
    assert w.sup1.new() == []
    assert await stored(sim) == [("F01", "ok", "ok")]
    assert journeys._LATER[sim.db][w.sup1.user_id].message_id == question.message_id


async def test_a_question_that_can_no_longer_be_edited_comes_as_a_new_message(
    sim: Simulator,
) -> None:
    w, question = await first_question(sim)
    sim.api.fail("editMessageText", 400, "Bad Request: message to edit not found")
    said = await w.sup1.tap("无隐患")
    assert said[-1].message_id > question.message_id
    assert said[-1].text.startswith("✓ 1. ")
    assert "【食堂】2/20 · F02" in said[-1].text
    assert await stored(sim) == [("F01", "ok", "ok")]
    said = await w.sup1.tap("无隐患")  # and the walk goes on from the new message
    assert said[-1].message_id > question.message_id and "3/20 · F03" in said[-1].text


async def test_a_tap_on_a_message_too_old_to_show_the_bot_asks_anew(sim: Simulator) -> None:
    """Telegram leaves out a message too old to show the bot (date 0, no text): the step
    cannot be edited in place; the next question, with the last answers, comes anew."""
    w, question = await first_question(sim)
    _, data = w.sup1._button("无隐患")
    raw = w.sup1.tap_update(data, question)
    message = raw["callback_query"]["message"]
    raw["callback_query"]["message"] = {
        "message_id": message["message_id"],
        "date": 0,
        "chat": message["chat"],
    }
    await sim.deliver(raw)
    said = w.sup1.new()
    assert said[-1].message_id > question.message_id
    assert said[-1].text.startswith("✓ 1. ") and "【食堂】2/20 · F02" in said[-1].text
    assert await stored(sim) == [("F01", "ok", "ok")]


async def test_a_text_typed_at_a_question_shown_in_place_is_taken_for_that_question(
    sim: Simulator,
) -> None:
    """The step's question is recorded as shown without a transaction of its own."""
    w, _ = await first_question(sim)
    cost = await counted_tap(sim, w.sup1, "无隐患")
    assert cost.tally.commits == 1
    said = await w.sup1.send("你好")
    assert "这条消息没有记作下面这个问题的回答" not in texts(said)
    assert "请点击下方按钮作答。" in texts(said)  # the walk wants a button here
    await journeys.write_shown(sim.db)  # the question asked again: written by a stop, or next
    row = await sim.db.one(
        "SELECT version, shown_version FROM journey_marks WHERE tg_user_id = ?",
        (w.sup1.user_id,),
    )
    assert row["shown_version"] == row["version"]


async def test_a_restart_between_steps_leaves_the_supervisor_alone(sim: Simulator) -> None:
    """A clean stop writes the marks still waiting: nobody is asked again needlessly, and
    the walk goes on from the question on screen."""
    w, question = await first_question(sim)
    await w.sup1.tap("无隐患")
    await sim.restart()
    assert w.sup1.new() == []
    said = await w.sup1.tap("无隐患")
    assert said[0].message_id == question.message_id
    assert said[0].text.splitlines()[:2] == [
        f"✓ 1. {F01} — 无隐患 · 学校自查：无隐患",
        f"✓ 2. {F02} — 无隐患 · 学校自查：无隐患",
    ]
    assert "【食堂】3/20 · F03" in said[0].text
    assert await stored(sim) == [("F01", "ok", "ok"), ("F02", "ok", "ok")]


async def test_a_crash_after_a_step_asks_the_supervisor_again_at_start_up(
    sim: Simulator,
) -> None:
    """Killed before the mark was written (it waits for the next transaction): the
    supervisor is asked their current question again, which is all that is lost."""
    w, _ = await first_question(sim)
    await w.sup1.tap("无隐患")
    journeys._LATER.pop(sim.db, None)  # what a killed process leaves: no mark written
    await sim.restart()
    said = w.sup1.new()
    assert "小安刚刚重新启动" in texts(said) and "【食堂】2/20 · F02" in said[-1].text
    assert await stored(sim) == [("F01", "ok", "ok")]
    said = await w.sup1.tap("无隐患")
    assert "【食堂】3/20 · F03" in said[-1].text


# --- the rule judged again in the write ----------------------------------------------------


@pytest.mark.parametrize("meanwhile", ["ended", "drafting", "answered"])
async def test_a_tap_read_before_a_change_is_refused_in_the_write(
    sim: Simulator, meanwhile: str
) -> None:
    """The walk as the tap read it (with the person, before the transaction) no longer
    stands when it writes: the visit ended, a finding is being given, the item was
    answered. The insert itself refuses; nothing is stored."""
    w, _ = await first_question(sim)
    walk_id = int(await sim.db.value("SELECT id FROM supervision_walks"))
    walk = await store.walk(sim.db, walk_id)
    assert walk is not None
    first, second = [i for i, _ in await store.items_of_walk(sim.db, walk)][:2]
    read = await store.walk_step(sim.db, walk_id, first)
    assert read is not None and read.school_choice is Choice.OK and not read.drafting
    person = await sim.db.value("SELECT id FROM people WHERE name = '督导甲'")
    async with sim.db.write() as tx:
        if meanwhile == "ended":
            await tx.run("UPDATE supervision_visits SET state = 'ended'")
        elif meanwhile == "drafting":
            await store.create_finding(tx, walk.visit_id, walk_id, walk.building_id, None, person)
    if meanwhile == "answered":
        await sim.db.write_at_once(
            lambda w: store.record_answer(w, walk, first, Choice.NA, None, person)
        )
    before = await stored(sim)
    actor = await actor_of(sim, w)
    with pytest.raises(Stale):
        await case.answer(actor, walk_id, first, "ok", no_waiting, read)
    assert await stored(sim) == before
    assert second != first


def no_waiting(w: Writes) -> None:
    """Nothing for the chat to wait for (a use case called without a chat)."""


async def actor_of(sim: Simulator, w: World) -> Actor:
    person = await person_by_tg(sim.db, w.sup1.user_id)
    assert person is not None
    return Actor(sim.db, person, sim.services.clock, sim.db.write)


async def test_the_journey_is_written_with_the_answer_or_neither_is(sim: Simulator) -> None:
    """What the chat waits for next is written in the answer's own write: one that fails
    there takes the answer back with it."""
    w, _ = await first_question(sim)
    walk_id = int(await sim.db.value("SELECT id FROM supervision_walks"))
    walk = await store.walk(sim.db, walk_id)
    assert walk is not None
    first = next(i for i, _ in await store.items_of_walk(sim.db, walk))
    actor = await actor_of(sim, w)

    def failing(w: Writes) -> None:
        w.run("UPDATE supervision_walks SET last_activity_at = 'x' WHERE id = ?", (walk_id,))
        raise RuntimeError("the journey could not be written")

    with pytest.raises(RuntimeError):
        await case.answer(actor, walk_id, first, "ok", failing)
    assert await stored(sim) == []
    assert (
        await sim.db.value(
            "SELECT last_activity_at FROM supervision_walks WHERE id = ?", (walk_id,)
        )
        != "x"
    )
    seen: list[int] = []

    def then(w: Writes) -> None:
        seen.append(int(w.value("SELECT COUNT(*) FROM supervision_answers")))

    await case.answer(actor, walk_id, first, "ok", then)
    assert seen == [1]  # inside the transaction, after the answer
    assert await stored(sim) == [("F01", "ok", "ok")]
