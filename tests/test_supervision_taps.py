"""Every supervision tap: one read trip, one commit (issue 12, item 5, for the supervisors'
taps besides the walk's "no hazard" step, which ``tests/test_supervision_step.py`` holds).

Each kind of ``sv_*`` button is tapped as a supervisor (or the task force) would, after
the scene that brings its button on screen; what handling the tap cost is counted
(``storage.trace``: trips to the read connection's thread, commits) with the Bot API
calls it made, and what the person sees and what was stored are checked. The figures
are deterministic counts, not times, so they are asserted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from storage import campus
from tests.conftest import jpeg
from tests.simulator import Chat, Sent, Simulator, texts
from tests.supervision_helpers import (
    World,
    draw,
    many_drawn,
    many_hazards,
    start_visit,
    world,
)
from tests.test_supervision_step import Cost, counted_tap

Setup = Callable[[Simulator, World], Awaitable[Chat]]
Check = Callable[[Simulator, World, list[Sent]], Awaitable[None]]


@dataclass(frozen=True)
class TapCase:
    """A button kind's tap: the scene that shows it, the label tapped, what must follow."""

    name: str
    code: str
    setup: Setup
    label: str
    check: Check
    # "write": one transaction; "read": it only reads and answers in new messages (its one
    # write: the inbox's mark, before it answers); "turn": it turns a list in place (no
    # write of its own: marked done with others soon after).
    writes: str = "write"


async def _value(sim: Simulator, sql: str, *params: object) -> object:
    return await sim.db.value(sql, params)


# --- scenes -------------------------------------------------------------------------------


async def _drawn(sim: Simulator, w: World) -> Chat:
    await draw(sim)
    w.sup1.new()
    await w.sup1.send("/supervise")
    return w.sup1


async def _many_drawn(sim: Simulator, w: World) -> Chat:
    await many_drawn(sim, 12)
    await w.sup1.send("/supervise")
    return w.sup1


async def _many_visits(sim: Simulator, w: World) -> Chat:
    await many_drawn(sim, 25)
    await w.s.taskforce.send("/visits")
    return w.s.taskforce


async def _by_hand(sim: Simulator, w: World) -> Chat:
    await w.sup1.send("/supervise")
    await w.sup1.tap("自选学校")
    return w.sup1


async def _on_visit(sim: Simulator, w: World) -> Chat:
    await start_visit(sim, w)
    return w.sup1


async def _many_buildings(sim: Simulator, w: World) -> Chat:
    async with sim.db.write() as tx:
        for n in range(1, 26):
            await campus.create_building(
                tx,
                school_id=w.school_id,
                name=f"宿舍{n:02d}",
                use="宿舍",
                floors=3,
                year_built=2000,
                actor_id=None,
            )
    await start_visit(sim, w)
    return w.sup1


async def _at_question(sim: Simulator, w: World, building: str = "食堂") -> Chat:
    await start_visit(sim, w)
    await w.sup1.tap(f"🕵️ {building}")
    return w.sup1


async def _at_last(sim: Simulator, w: World) -> Chat:
    chat = await _at_question(sim, w)
    for _ in range(20):
        await chat.tap("无隐患")
    assert "还有其他隐患吗" in chat.last.text
    return chat


async def _hazard_found(sim: Simulator, w: World, building: str = "食堂") -> Chat:
    chat = await _at_question(sim, w, building)
    await chat.tap("有隐患")
    return chat


async def _with_photo(sim: Simulator, w: World) -> Chat:
    chat = await _hazard_found(sim, w)
    await chat.photo(jpeg(color="red"))
    return chat


async def _weighing(sim: Simulator, w: World) -> Chat:
    chat = await _hazard_found(sim, w)
    await chat.tap("无照片")
    await chat.send("疏散通道堆放桌椅")
    return chat


async def _matching(sim: Simulator, w: World, building: str = "食堂", photo: bool = False) -> Chat:
    chat = await _hazard_found(sim, w, building)
    if photo:
        await chat.photo(jpeg(color="red"))
        await chat.tap("照片已发完")
    else:
        await chat.tap("无照片")
    await chat.send("楼梯间仍有杂物")
    await chat.tap("否")
    assert "是否已列入学校台账" in chat.last.text
    return chat


async def _matching_a(sim: Simulator, w: World) -> Chat:
    return await _matching(sim, w, "教学楼A")


async def _matching_many(sim: Simulator, w: World) -> Chat:
    await many_hazards(sim, w, 30)
    return await _matching(sim, w, "教学楼A")


async def _matching_a_photo(sim: Simulator, w: World) -> Chat:
    return await _matching(sim, w, "教学楼A", photo=True)


async def _missed_named(sim: Simulator, w: World) -> Chat:
    await start_visit(sim, w)
    await w.sup1.tap("添加遗漏建筑")
    await w.sup1.send("配电房")
    return w.sup1


async def _ended(sim: Simulator, w: World) -> Chat:
    await start_visit(sim, w)
    await w.sup1.tap("结束督查")
    await w.s.taskforce.send("/visits")
    return w.s.taskforce


# --- what must follow -----------------------------------------------------------------


async def _visit_started(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "督查实验小学" in said[-1].text and "🕵️ 食堂" in str(said[-1].buttons)
    state = await _value(sim, "SELECT state FROM supervision_visits WHERE school_id = ?",
                         w.school_id)  # fmt: skip
    assert state == "started"


async def _drawn_page_two(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "第 2/2 页" in said[-1].text and "抽查学校12" in str(said[-1].buttons)
    assert "自选学校" in str(said[-1].buttons)


async def _match_page_two(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "第 2/4 页" in said[-1].text and "堆放杂物09" in said[-1].text
    assert "清单外" in str(said[-1].buttons)
    assert await _value(sim, "SELECT state FROM supervision_findings") == "draft"


async def _visits_page_two(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "第 2/2 页" in said[-1].text and "抽查学校25" in said[-1].text


async def _schools_listed(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "选择要督查的学校" in said[-1].text
    assert "第二中学" in str(said[-1].buttons)


async def _picked(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "督查实验小学" in said[-1].text and "督查组选定" in said[-1].text
    row = await sim.db.one("SELECT state, chosen_by FROM supervision_visits")
    assert row is not None and (row["state"], row["chosen_by"]) == ("started", "by_hand")


async def _page_two(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "第 2/2 页" in said[-1].text and "宿舍25" in said[-1].text
    assert "结束督查" in str(said[-1].buttons)


async def _walking(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "台账中没有隐患" in said[0].text
    assert "【食堂】1/20 · F01" in said[-1].text
    assert await _value(sim, "SELECT COUNT(*) FROM supervision_walks") == 1
    kind = await _value(sim, "SELECT kind FROM pending_inputs WHERE tg_user_id = ?",
                        w.sup1.user_id)  # fmt: skip
    assert kind == "supervision_walk"


async def _answered_ok(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "【食堂】2/20 · F02" in said[-1].text
    assert await _value(sim, "SELECT choice FROM supervision_answers") == "ok"


async def _answered_hazard(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "请发送现场照片" in said[-1].text
    assert await _value(sim, "SELECT choice FROM supervision_answers") == "hz"
    assert await _value(sim, "SELECT state FROM supervision_findings") == "draft"


async def _paused(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "督查已暂停" in said[-1].text
    pending = await _value(sim, "SELECT COUNT(*) FROM pending_inputs WHERE tg_user_id = ?",
                           w.sup1.user_id)  # fmt: skip
    assert pending == 0


async def _walk_finished(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert said[0].text.startswith("【食堂】督查完毕。") and " 20. " in said[0].text
    assert "督查实验小学" in said[-1].text and "食堂：已销号" in said[-1].text
    assert await _value(sim, "SELECT finished_at IS NOT NULL FROM supervision_walks") == 1


async def _another(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "督查发现 ·【食堂】其他" in said[-1].text and "请发送现场照片" in said[-1].text
    row = await sim.db.one("SELECT state, item_id FROM supervision_findings")
    assert row is not None and (row["state"], row["item_id"]) == ("draft", None)


async def _describe_asked(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "请简要描述隐患" in said[-1].text
    assert await _value(sim, "SELECT photos_done FROM supervision_findings") == 1


async def _major_asked_after(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "是否已列入学校台账" in said[-1].text and "清单外" in str(said[-1].buttons)
    assert await _value(sim, "SELECT major FROM supervision_findings") == 0


async def _listed(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert f"与台账隐患 #{w.listed} 一致" in texts(said)
    assert "【教学楼A】2/" in said[-1].text
    row = await sim.db.one("SELECT state, kind, hazard_id FROM supervision_findings")
    assert row is not None and tuple(row) == ("recorded", "listed", w.listed)


async def _off_list(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "已记录清单外隐患" in texts(said) and "【食堂】2/" in said[-1].text
    row = await sim.db.one("SELECT state, kind, hazard_id FROM supervision_findings")
    assert row is not None and tuple(row)[:2] == ("recorded", "off_list")
    assert await _value(sim, "SELECT state FROM hazards WHERE id = ?", row[2]) == "open"
    assert any("清单外隐患" in m.text for m in w.s.taskforce.new())


async def _reopened(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert f"隐患 #{w.closed} 认定为整改不到位" in texts(said)
    assert await _value(sim, "SELECT state FROM hazards WHERE id = ?", w.closed) == "open"
    assert await _value(sim, "SELECT kind FROM supervision_findings") == "rectified_badly"


async def _name_asked(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "请输入遗漏建筑的名称" in said[-1].text
    kind = await _value(sim, "SELECT kind FROM pending_inputs WHERE tg_user_id = ?",
                        w.sup1.user_id)  # fmt: skip
    assert kind == "missed_building"


async def _floors_asked(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "【配电房】有几层" in said[-1].text
    data = await _value(sim, "SELECT data FROM pending_inputs WHERE tg_user_id = ?",
                        w.sup1.user_id)  # fmt: skip
    assert json.loads(str(data))["use"] == "other"


async def _visit_ended(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "督查记录 · 实验小学" in said[-1].text
    assert await _value(sim, "SELECT state FROM supervision_visits WHERE school_id = ?",
                        w.school_id) == "ended"  # fmt: skip
    assert any("督查记录 · 实验小学" in m.text for m in w.s.principal.new())


async def _record_shown(sim: Simulator, w: World, said: list[Sent]) -> None:
    assert "督查记录 · 实验小学" in said[-1].text


CASES = [
    TapCase("start a drawn visit", "sv_start", _drawn, "开始督查：实验小学", _visit_started),
    TapCase("a page of drawn visits", "sv_drawn", _many_drawn, "下一页", _drawn_page_two, "turn"),
    TapCase("schools to pick", "sv_schools", _drawn, "自选学校", _schools_listed, "turn"),
    TapCase("pick a school", "sv_pick", _by_hand, "实验小学（", _picked),
    TapCase("a page of buildings", "sv_visit_page", _many_buildings, "下一页", _page_two, "turn"),
    TapCase("walk a building", "sv_walk", _on_visit, "🕵️ 食堂", _walking),
    TapCase("no hazard", "sv_a", _at_question, "无隐患", _answered_ok),
    TapCase("a hazard", "sv_a", _at_question, "有隐患", _answered_hazard),
    TapCase("pause", "sv_pause", _at_question, "暂停", _paused),
    TapCase("no other hazard", "sv_more", _at_last, "否", _walk_finished),
    TapCase("another hazard", "sv_more", _at_last, "是", _another),
    TapCase("no photo", "sv_f", _hazard_found, "无照片", _describe_asked),
    TapCase("photos done", "sv_f", _with_photo, "照片已发完", _describe_asked),
    TapCase("not major", "sv_f", _weighing, "否", _major_asked_after),
    TapCase("match listed", "sv_m", _matching_a, "已列入 #", _listed),
    TapCase("match off-list", "sv_m", _matching, "清单外", _off_list),
    TapCase(
        "a page of the match", "sv_match_page", _matching_many, "下一页", _match_page_two, "turn"
    ),
    TapCase("match reopened", "sv_m", _matching_a_photo, "整改不到位 #", _reopened),
    TapCase("add a missed building", "sv_missed", _on_visit, "添加遗漏建筑", _name_asked),
    TapCase("a missed building's use", "sv_use", _missed_named, "其他", _floors_asked),
    TapCase("end the visit", "sv_end", _on_visit, "结束督查", _visit_ended),
    TapCase("a page of /visits", "sv_visits", _many_visits, "下一页", _visits_page_two, "turn"),
    TapCase("a record from /visits", "sv_rec", _ended, "督查记录：实验小学", _record_shown, "read"),
]


def test_every_supervision_button_kind_is_in_the_table() -> None:
    from handlers.buttons import KINDS

    kinds = {code for code in KINDS if code.startswith("sv_")}
    assert kinds == {c.code for c in CASES}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_a_supervision_tap_reads_in_one_trip_and_commits_once(
    sim: Simulator, case: TapCase
) -> None:
    w = await world(sim)
    chat = await case.setup(sim, w)
    chat.new()
    await sim.app.bot_data["guard"].flush(sim.db)  # the scene's page turns marked done
    cost = await counted_tap(sim, chat, case.label)
    await sim.send_outbox()
    _keep(case, cost)
    await case.check(sim, w, chat.new())
    assert cost.read_trips <= 1, cost
    assert cost.tally.commits <= 1 and cost.tally.rollbacks == 0, cost
    if case.writes == "read":  # its one write: the inbox's mark, before it answers
        assert cost.tally.writes == 1 and cost.tally.commits == 1, cost
    if case.writes == "turn":  # no write of its own: marked done with others soon after
        assert cost.tally.writes == 0 and cost.tally.commits == 0, cost
        await sim.app.bot_data["guard"].flush(sim.db)
    assert await _value(sim, "SELECT COUNT(*) FROM inbox WHERE done_at IS NULL") == 0


def _keep(case: TapCase, cost: Cost) -> None:
    """The figures, for the report (``XIAOAN_TAP_FIGURES``: a file to append them to)."""
    path = os.environ.get("XIAOAN_TAP_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            figures = {
                "tap": case.name,
                "code": case.code,
                "read_trips": cost.read_trips,
                "trips": cost.tally.trips,
                "reads": cost.tally.reads,
                "commits": cost.tally.commits,
                "rate_limited": cost.rate_limited,
                "calls": cost.calls,
            }
            out.write(json.dumps(figures, ensure_ascii=False) + "\n")


async def test_what_a_tap_did_comes_on_its_own_when_the_next_question_fills_a_message(
    sim: Simulator,
) -> None:
    """A match says what it recorded over the next question, in one message; when that
    question nearly fills a message (Telegram takes 4096 UTF-16 units), the record comes
    on its own first, and the question whole."""
    w = await world(sim)
    long_text = "楼" * 4040
    async with sim.db.write() as tx:
        await tx.run("UPDATE checklist_items SET text_zh = ? WHERE code = 'F02'", (long_text,))
    await sim.restart()  # a new connection reads the edited checklist
    chat = await _matching(sim, w)
    chat.new()
    said = await chat.tap("清单外")
    assert said[0].text.startswith("🚩 已记录清单外隐患 #") and "F02" not in said[0].text
    assert said[-1].text.startswith("🕵️【食堂】2/20 · F02\n" + long_text)
    assert sim.api.overruns == []
    assert await _value(sim, "SELECT kind FROM supervision_findings") == "off_list"
