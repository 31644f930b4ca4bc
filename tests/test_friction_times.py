"""Day one, reading: times as people read them, the card's history in runs, the walk lock."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from handlers.when import day_text, moment_text
from tests.conftest import jpeg, make_school
from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Simulator

SHANGHAI = ZoneInfo("Asia/Shanghai")
ISO_MOMENT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")


def test_one_helper_for_moments_and_days() -> None:
    today = date(2026, 11, 29)
    utc = "2026-11-29T13:59:00+00:00"  # stored from elsewhere: shown in the campaign's zone
    assert moment_text(utc, "zh", SHANGHAI, today) == "11月29日 21:59"
    assert moment_text(utc, "en", SHANGHAI, today) == "29 Nov 21:59"
    assert moment_text("2025-01-02T08:05:00+08:00", "zh", SHANGHAI, today) == "2025年1月2日 08:05"
    assert moment_text(datetime(2027, 3, 1, 7, 0), "en", SHANGHAI, today) == "1 Mar 2027 07:00"
    assert day_text("2026-12-20", "zh", today) == "12月20日（周日）"
    assert day_text(date(2026, 12, 20), "en", today) == "Sun 20 Dec"
    assert day_text("2027-01-05", "zh", today) == "2027年1月5日（周二）"


async def test_the_card_shows_readable_times_and_history_in_runs(sim: Simulator, clock) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "楼道灭火器过期")
    clock.advance(hours=2)
    await report_fix(s.staff, hazard_id)
    said = await s.staff.send(f"/hazard {hazard_id}")
    card = said[-1].text
    assert not ISO_MOMENT.search(card), card
    assert "发现：实验小学王老师 · 11月28日 09:00" in card
    assert "整改确认：实验小学王老师 · 11月28日 11:00" in card
    filled = [line for line in card.splitlines() if "填写隐患信息" in line]
    assert len(filled) == 1, card
    steps = await sim.db.value(
        "SELECT COUNT(*) FROM events WHERE subject = 'hazard' AND subject_id = ?"
        " AND action = 'hazard.updated'",
        (hazard_id,),
    )
    assert steps > 3
    assert filled[0] == f"11月28日 09:00 实验小学王老师：填写隐患信息（{steps} 次）"


async def test_the_english_card_reads_english_times(sim: Simulator, clock) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "Blocked exit")
    # The principal reads it in English.
    s.principal.user["language_code"] = "en"
    said = await s.principal.send(f"/hazard {hazard_id}")
    card = said[-1].text
    assert "Found: 实验小学王老师 · 28 Nov 09:00" in card
    assert "times)" in card
    assert not ISO_MOMENT.search(card)


async def test_the_walk_lock_says_since_when_and_from_when(sim: Simulator, clock) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    await school.staff.tap("无隐患")
    clock.advance(seconds=20)
    await school.principal.send("/inspect")
    said = await school.principal.tap("教学楼A")
    text = said[-1].text
    assert "0 分钟前" not in text
    assert "最后操作 11月28日 09:00，刚刚" in text
    assert "09:30 起可以接手" in text
    assert "正由实验小学王老师排查中" in text
    clock.advance(minutes=12)
    said = await school.principal.tap("教学楼A")
    assert "12 分钟前" in said[-1].text and "09:30 起可以接手" in said[-1].text
    walk = await sim.db.one("SELECT walker_id FROM inspections")
    staff_id = await sim.db.value("SELECT id FROM people WHERE name = '实验小学王老师'")
    assert walk["walker_id"] == staff_id


async def test_a_run_over_several_minutes_shows_from_and_to(sim: Simulator, clock) -> None:
    s = await scene(sim)
    said = await s.staff.photo(jpeg())
    if "这是哪栋建筑" in said[-1].text:
        await s.staff.tap("教学楼A")
    await s.staff.tap("照片已发完")
    clock.advance(minutes=3)
    await s.staff.send("安全出口指示灯不亮")
    clock.advance(minutes=4)
    said = await s.staff.tap("是")  # fixed at once: the hazard is complete
    hazard_id = await sim.db.value("SELECT MAX(id) FROM hazards")
    said = await s.staff.send(f"/hazard {hazard_id}")
    filled = [line for line in said[-1].text.splitlines() if "填写隐患信息" in line]
    steps = await sim.db.value(
        "SELECT COUNT(*) FROM events WHERE subject_id = ? AND action = 'hazard.updated'",
        (hazard_id,),
    )
    assert filled == [f"11月28日 09:00–09:07 实验小学王老师：填写隐患信息（{steps} 次）"]


async def test_a_take_over_tapped_after_the_walker_came_back_says_until_when(
    sim: Simulator, clock
) -> None:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    clock.advance(minutes=31)
    await school.principal.send("/inspect")
    said = await school.principal.tap("教学楼A")
    assert "已经可以接手" in said[-1].text
    await school.staff.tap("无隐患")  # the walker is back, at 09:31
    said = await school.principal.tap("接手排查")
    assert "最后操作 11月28日 09:31，刚刚" in said[-1].text
    assert "10:01 起可以接手" in said[-1].text
    walker = await sim.db.value("SELECT walker_id FROM inspections")
    staff_id = await sim.db.value("SELECT id FROM people WHERE name = '实验小学王老师'")
    assert walker == staff_id
