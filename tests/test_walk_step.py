"""A walk's step (issue 12, items 4/5 and 6): one trip to the database thread for a
tap's reads and one for its writes, at most five SQL reads, one transaction, and one
rate-limited Bot API call ("no hazard" edits the tapped question into the next one, the
last answers above it).

The counts are deterministic (statements and trips, not time), so they are asserted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cases.actor import Actor, operator
from cases.walk import answer_item, report_other
from ledger.errors import NotAllowed, Stale
from ledger.walk import Choice, Where
from storage import campus, inbox, journeys, people, trace, walks
from storage.db import Database
from tests.conftest import join, link_code, make_school
from tests.simulator import Chat, Sent, Simulator, texts

RATE_LIMITED = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto"}


async def counted_tap(sim: Simulator, chat: Chat, label: str) -> tuple[Step, list[str]]:
    """Tap as Telegram delivers it (polling stores it in the inbox first, not counted:
    one write per batch of updates), counting what handling it costs."""
    message, data = chat._button(label)
    raw = chat.tap_update(data, message)
    await inbox.receive(sim.db, [raw])
    calls = len(sim.api.calls)
    async with trace.counting(sim.db) as tally:
        await sim.handle(raw)
    sim.assert_clean()
    return Step(tally.snapshot(), tally.snapshot().read_trips), [
        name for name, _ in sim.api.calls[calls:]
    ]


@dataclass(frozen=True)
class Step:
    """What handling one update cost the database."""

    tally: trace.Tally
    read_trips: int


async def first_question(sim: Simulator) -> tuple[Chat, Sent]:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    said = await school.staff.tap("教学楼A")
    assert "【教学楼A】1/19 · F01" in said[-1].text
    return school.staff, said[-1]


async def walker(sim: Simulator, person_id: int) -> Actor:
    """The walker acting from the command line (a plain transaction, no chat)."""
    person = await people.person_by_id(sim.db, person_id)
    assert person is not None
    return operator(sim.db, person, sim.clock)


async def answers(sim: Simulator) -> list[tuple[str, str]]:
    rows = await sim.db.all(
        "SELECT c.code, a.choice FROM answers a JOIN checklist_items c ON c.id = a.item_id"
        " ORDER BY a.id"
    )
    return [(r["code"], r["choice"]) for r in rows]


# --- the cost of a step ------------------------------------------------------------------


async def test_a_no_hazard_step_costs_one_trip_for_its_reads_and_one_commit(sim):
    """Every "no hazard" (and "not applicable") step of a walk: reads ≤ 5, read on the
    event loop itself (``Database.read_here``: no trip to a thread), one transaction
    written there too (a lone unsynced one: ``Database.write_at_once``), one
    rate-limited call."""
    staff, question = await first_question(sim)
    for n, label in enumerate(["无隐患", "无隐患", "不适用", "无隐患", "无隐患"], start=1):
        counts, calls = await counted_tap(sim, staff, label)
        assert counts.tally.reads <= 5, counts  # in the transaction too
        assert counts.read_trips == 0, counts
        # No trip to a thread: BEGIN, the answer, its event, the journey, the inbox mark
        # and COMMIT on the event loop (9 trips before ``write_at_once``, then 1).
        assert counts.tally.trips == 0, counts
        assert counts.tally.commits == 1 and counts.tally.rollbacks == 0, counts
        assert counts.tally.syncs == 0, counts  # its arrival was synced (the inbox)
        assert calls == ["editMessageText", "answerCallbackQuery"], calls
        assert len([c for c in calls if c in RATE_LIMITED]) == 1
        # What the person sees: the question tapped is now the next one.
        shown = staff.messages[-1]
        assert shown.message_id == question.message_id
        assert f"【教学楼A】{n + 1}/19 · F{n + 1:02d}" in shown.text
        assert len(await answers(sim)) == n
    assert await answers(sim) == [
        ("F01", "ok"),
        ("F02", "ok"),
        ("F03", "na"),
        ("F04", "ok"),
        ("F05", "ok"),
    ]


async def test_a_tap_that_opens_a_hazard_still_asks_in_a_new_message(sim):
    """A hazard found is no step in place: its question is settled with the answer shown
    under it, and the photo question comes as a new message (two calls; the new
    question's shown mark waits for the person's next transaction, as a step's does)."""
    staff, _ = await first_question(sim)
    counts, calls = await counted_tap(sim, staff, "有隐患")
    assert calls == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert counts.tally.commits == 1  # the answer; the photo question's mark comes later
    assert await journeys.write_shown(sim.db) == 1  # waiting, as a stop would write it
    assert await journeys.unshown(sim.db) == []
    assert "请拍照发送隐患照片" in staff.last.text


# --- what the person sees ----------------------------------------------------------------


async def test_the_tapped_question_becomes_the_next_with_the_last_answers_above(sim):
    staff, question = await first_question(sim)
    said = await staff.tap("无隐患")
    assert [m.message_id for m in said] == [question.message_id]  # edited, none sent
    assert said[0].text.startswith("✓ 1. 疏散通道、楼梯、安全出口畅通，无堵塞、占用、锁闭 — 无隐患")
    assert "【教学楼A】2/19 · F02" in said[0].text
    said = await staff.tap("不适用")
    assert said[0].text.splitlines()[:2] == [
        "✓ 1. 疏散通道、楼梯、安全出口畅通，无堵塞、占用、锁闭 — 无隐患",
        "– 2. 疏散指示标志、应急照明完好有效 — 不适用",
    ]
    said = await staff.tap("无隐患")
    lines = said[0].text.splitlines()
    assert lines[0].startswith("– 2. ") and lines[1].startswith("✓ 3. ")  # the last two
    assert "1. 疏散通道" not in said[0].text
    assert "【教学楼A】4/19 · F04" in said[0].text
    labels = [label for row in said[0].buttons for label, _ in row]
    assert labels == ["✅ 无隐患", "⚠️ 有隐患", "不适用", "⏸ 暂停"]
    assert len(staff.messages) == len({m.message_id for m in staff.messages})


async def test_a_long_item_text_is_clipped_in_the_answer_lines(sim):
    staff, _ = await first_question(sim)
    for _ in range(4):
        await staff.tap("无隐患")
    said = await staff.tap("无隐患")  # F05's text is longer than a line's share (24)
    line = said[0].text.splitlines()[1]
    assert line == "✓ 5. 火灾自动报警、自动喷水灭火等设施运行正常（如设… — 无隐患"


async def test_a_question_too_long_for_its_answers_above_is_shown_whole_without_them(sim):
    """Telegram takes 4096 UTF-16 units: an item whose question nearly fills them is shown
    whole, without the answer lines, rather than cut."""
    school = await make_school(sim)
    long_text = "楼" * 4060  # with its head, 4080 units: the question alone fits
    async with sim.db.write() as tx:
        await tx.run("UPDATE checklist_items SET text_zh = ? WHERE code = 'F02'", (long_text,))
    staff = school.staff
    await staff.send("/inspect")
    await staff.tap("教学楼A")
    said = await staff.tap("无隐患")
    assert said[0].text == f"【教学楼A】2/19 · F02\n{long_text}"
    assert sim.api.overruns == []
    said = await staff.tap("无隐患")  # the next one has room for its lines again
    assert said[0].text.startswith("✓ 1. ") and "3/19 · F03" in said[0].text


async def test_after_the_last_item_the_other_hazard_question_is_the_same_message(sim):
    staff, question = await first_question(sim)
    for _ in range(18):
        await staff.tap("无隐患")
    counts, calls = await counted_tap(sim, staff, "无隐患")  # F19, the last
    assert calls == ["editMessageText", "answerCallbackQuery"]
    assert counts.tally.commits == 1
    assert staff.messages[-1].message_id == question.message_id
    assert "清单已查完。还有其他隐患吗？" in staff.messages[-1].text
    assert "✓ 19. " in staff.messages[-1].text
    said = await staff.tap("否")  # the building's end: its summary is a new message
    assert said[-1].message_id > question.message_id
    assert "排查小结" in said[-1].text


async def test_the_summary_lists_every_answer_and_every_hazard(sim):
    staff, _ = await first_question(sim)
    await staff.tap("有隐患")
    await staff.tap("无照片")
    await staff.send("二楼楼梯口堆放杂物")
    await staff.tap("是")  # fixable at once: the hazard is recorded, the walk goes on
    for _ in range(3):
        await staff.tap("无隐患")
    await staff.tap("不适用")
    for _ in range(14):
        await staff.tap("无隐患")
    said = await staff.tap("否")
    summary = said[-1].text
    assert "共 19 项：无隐患 17 项，不适用 1 项，发现隐患 1 处。" in summary
    assert "⚠️ 1. 疏散通道、楼梯、安全出口畅通，无堵塞、占用、锁闭 — 有隐患" in summary
    assert "– 5. " in summary and "✓ 19. " in summary
    assert all(f" {n}. " in summary for n in range(1, 20))
    assert "二楼楼梯口堆放杂物" in summary
    said = await staff.tap("销号")
    assert "已销号" in said[-1].text
    assert await sim.db.value("SELECT closed_at IS NOT NULL FROM inspections") == 1


async def test_in_english(sim):
    school = await make_school(sim)
    await school.principal.send("/invite")
    await school.principal.tap("教职工")
    await school.principal.tap("7 天")
    made = await school.principal.tap("10 人")
    lee = await join(sim, link_code(made[-1].text), "Lee", language="en")
    await lee.send("/inspect")
    await lee.tap("教学楼A")
    said = await lee.tap("No hazard")
    assert said[0].text.startswith("✓ 1. Escape routes, stairs and exits clear;… — no hazard\n\n")
    said = await lee.tap("Not applicable")
    assert "– 2. Exit signs and emergency lighting work — not applicable" in said[0].text
    assert "[教学楼A] 3/19 · F03" in said[0].text


# --- guarantees kept -----------------------------------------------------------------------


async def test_a_double_tap_is_applied_once_and_the_second_is_stale(sim):
    staff, question = await first_question(sim)
    _, data = staff._button("无隐患")
    first = staff.tap_update(data, question)
    second = staff.tap_update(data, question)  # the same button, before the edit arrived
    await sim.deliver(first)
    said_before = staff.new()
    await sim.deliver(second)
    assert await answers(sim) == [("F01", "ok")]
    assert staff.alerts[-1] == "这个问题已经回答过了。"
    said = staff.new()
    assert "【教学楼A】2/19 · F02" in said[-1].text  # the current question, asked anew
    assert said_before and said_before[0].message_id == question.message_id


async def test_a_replayed_tap_changes_nothing(sim):
    """An update delivered twice (a restart's replay) is applied once."""
    staff, question = await first_question(sim)
    _, data = staff._button("无隐患")
    raw = staff.tap_update(data, question)
    await sim.deliver(raw)
    calls = len(sim.api.calls)
    await sim.deliver(raw)
    assert sim.api.calls[calls:] == []
    assert await answers(sim) == [("F01", "ok")]


async def test_a_question_that_can_no_longer_be_edited_comes_as_a_new_message(sim):
    staff, question = await first_question(sim)
    sim.api.fail("editMessageText", 400, "Bad Request: message to edit not found")
    said = await staff.tap("无隐患")
    assert said[-1].message_id > question.message_id
    assert said[-1].text.startswith("✓ 1. ")
    assert "【教学楼A】2/19 · F02" in said[-1].text
    assert await answers(sim) == [("F01", "ok")]
    said = await staff.tap("无隐患")  # and the walk goes on from the new message
    assert "3/19 · F03" in said[-1].text


async def test_a_walk_taken_over_meanwhile_is_not_answered(sim):
    """The lock is checked again in the transaction: an answer read as the walker's but
    written after someone took the walk over is refused, and nothing is stored."""
    await first_question(sim)
    walk_id = await sim.db.value("SELECT id FROM inspections")
    walk = await walks.walk(sim.db, walk_id)
    assert walk is not None
    items = [i.id for i in await walks.walk_items(sim.db, walk)]
    other = await sim.db.value("SELECT id FROM people WHERE name = '实验小学张校长'")
    async with sim.db.write() as tx:
        await tx.run("UPDATE inspections SET walker_id = ? WHERE id = ?", (other, walk_id))
    with pytest.raises(Stale):
        await answer_item(await walker(sim, walk.walker_id), walk, items, items[0], Choice.OK)
    assert await answers(sim) == []


async def test_the_checklist_is_read_once_and_an_edited_building_is_seen(sim):
    staff, _ = await first_question(sim)
    await staff.tap("无隐患")
    statements: list[str] = []
    await sim.db._reader.set_trace_callback(statements.append)
    await staff.tap("无隐患")
    await sim.db._reader.set_trace_callback(None)
    assert not [s for s in statements if "FROM checklist_items" in s]
    # The building turns out older: the item for buildings built before 1998 now applies.
    async with sim.db.write() as tx:
        await tx.run("UPDATE buildings SET year_built = 1990")
    said = await staff.tap("无隐患")
    assert "【教学楼A】4/20 · F04" in said[0].text


async def test_a_new_checklist_version_is_read_and_an_unwritten_one_not_remembered(
    fresh_db: Database,
) -> None:
    assert await campus.version_items(fresh_db, 99) == ()  # not there yet
    async with fresh_db.write() as tx:
        await tx.run(
            "INSERT INTO checklist_versions (id, digest, name, loaded_at)"
            " VALUES (99, 'd', 'n', 'x')"
        )
        await tx.run(
            "INSERT INTO checklist_items (version_id, position, code, category, uses,"
            " built_before, text_zh, text_en) VALUES (99, 0, 'X1', 'fire', '', NULL, '甲', 'A')"
        )
    found = await campus.version_items(fresh_db, 99)
    assert [r["code"] for r in found] == ["X1"]
    assert await campus.version_items(fresh_db, 99) is found  # kept


async def test_a_text_typed_at_a_question_shown_in_place_is_taken_for_that_question(sim):
    """The step's question is recorded as shown without a transaction of its own; a text
    typed at it is still one typed at the question on screen (not "not taken")."""
    staff, _ = await first_question(sim)
    counts, _ = await counted_tap(sim, staff, "无隐患")
    assert counts.tally.commits == 1
    said = await staff.send("你好")
    assert "这条消息没有记作下面这个问题的回答" not in texts(said)
    assert "请点击下方按钮作答。" in texts(said)  # the walk wants a button here
    row = await sim.db.one("SELECT version, shown_version FROM journey_marks")
    assert row["shown_version"] is not None


async def test_a_restart_after_a_step_leaves_the_walker_alone(sim):
    """A clean stop writes the marks still waiting: nobody is asked again needlessly."""
    staff, _ = await first_question(sim)
    await staff.tap("无隐患")
    await sim.restart()
    assert staff.new() == []
    said = await staff.tap("无隐患")
    assert "【教学楼A】3/19 · F03" in said[0].text


async def test_a_crash_after_a_step_asks_the_walker_again_at_start_up(sim):
    """Killed before the mark was written (it waits for the next transaction): the walker
    is asked their current question again, which is all that is lost."""
    staff, _ = await first_question(sim)
    await staff.tap("无隐患")
    from storage import journeys

    journeys._LATER.pop(sim.db, None)  # what a killed process leaves: no mark written
    await sim.restart()
    said = staff.new()
    assert "小安刚刚重新启动" in texts(said) and "【教学楼A】2/19 · F02" in said[-1].text
    assert await answers(sim) == [("F01", "ok")]


# --- the use case, without a chat -----------------------------------------------------------


async def test_answer_item_refuses_another_buildings_item_and_a_question_not_asked(sim):
    await first_question(sim)
    walk_id = await sim.db.value("SELECT id FROM inspections")
    walk = await walks.walk(sim.db, walk_id)
    assert walk is not None
    items = [i.id for i in await walks.walk_items(sim.db, walk)]
    missing = await sim.db.value(
        "SELECT id FROM checklist_items WHERE built_before IS NOT NULL LIMIT 1"
    )
    actor = await walker(sim, walk.walker_id)
    with pytest.raises(NotAllowed):
        await answer_item(actor, walk, items, missing, Choice.OK)
    with pytest.raises(Stale):  # F02 while F01 is asked
        await answer_item(actor, walk, items, items[1], Choice.OK)
    where = await answer_item(actor, walk, items, items[0], Choice.HAZARD)
    assert where.where is Where.HAZARD and where.hazard_id is not None
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (where.hazard_id,)) == (
        "draft"
    )
    with pytest.raises(Stale):  # the same answer again, on the walk as read before
        await answer_item(actor, walk, items, items[0], Choice.OK)
    assert await answers(sim) == [("F01", "hz")]
    with pytest.raises(Stale):  # "any other hazard?" is not asked yet
        await report_other(actor, walk, items, False)


async def test_the_list_of_buildings_reads_no_more_for_more_buildings(sim):
    """``/inspect``: each building's count of items comes from the checklist kept in memory,
    not from a read per building (and its walk's)."""
    three = (
        ("教学楼A", "教学楼", "4", "2005"),
        ("宿舍楼", "宿舍", "5", "1990"),
        ("食堂", "食堂", "2", "2010"),
    )
    school = await make_school(sim, buildings=three)
    staff = school.staff
    for name in ("教学楼A", "宿舍楼"):  # two walks under way, one building not started
        await staff.send("/inspect")
        await staff.tap(name)
        await staff.tap("无隐患")
    await staff.send("/inspect")  # the checklist read once for this connection by now
    raw = staff.text_update("/inspect")
    await inbox.receive(sim.db, [raw])
    async with trace.counting(sim.db) as tally:
        await sim.handle(raw)
    said = staff.new()
    labels = [label for row in said[-1].buttons for label, _ in row]
    assert any("教学楼A · 进行中 1/19" in label for label in labels)
    assert any("宿舍楼 · 进行中 1/21" in label for label in labels)  # built before 1998
    assert any("食堂 · 未开始" in label for label in labels)
    # The guard's and the person's, the buildings with their state, the school: the
    # same for one building or thirty (a read per building and its walk before).
    assert tally.reads <= 4, tally.snapshot()
