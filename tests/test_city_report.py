"""The city report: figures for three schools in different states, colours, chart, totals."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from openpyxl.chart import BarChart

from ledger.roles import Role
from ledger.totals import SchoolProgress, phase_missed
from reports.city import COLUMNS, HEADER_ROW, Phases, city_bytes
from storage.db import Database
from storage.reporting import city_data
from tests.conftest import (
    seed_campaign,
    seed_fix,
    seed_hazard,
    seed_person,
    seed_school,
    seed_walk,
)

TODAY = date(2026, 11, 28)


async def three_schools(db: Database) -> int:
    """Not started; going but late for self-inspection; done."""
    campaign = await seed_campaign(db, self_inspection_due="2026-11-01")
    await seed_school(db, "甲幼儿园", ["园舍"], campaign)
    b = await seed_school(db, "乙小学", ["教学楼", "宿舍", "食堂"], campaign)
    await seed_walk(db, b, b.building_ids[0], closed=True)
    await seed_walk(db, b, b.building_ids[1], closed=False)
    await seed_hazard(db, b, b.building_ids[0], "过期未改", deadline="2026-11-20")
    await seed_hazard(
        db, b, b.building_ids[0], "墙体开裂", fixable_now=False, deadline="2027-03-01",
        out_of_use=True,
    )  # fmt: skip
    await seed_hazard(db, b, b.building_ids[1], "电线老化", state="unfixable", fixable_now=False)
    c = await seed_school(db, "丙中学", ["主楼", "实验楼"], campaign)
    leader = await seed_person(db, "丙中学副校长", c.school_id, Role.LEADER)
    for building in c.building_ids:
        await seed_walk(db, c, building, closed=True)
    fixed = await seed_hazard(db, c, c.building_ids[0], "灭火器过期")
    await seed_fix(db, fixed, c.person_id, leader)
    return campaign


def figures(ws, row: int) -> dict:
    return {title: ws.cell(row=row, column=i).value for i, (title, _) in enumerate(COLUMNS, 1)}


async def test_three_schools(fresh_db: Database) -> None:
    campaign = await three_schools(fresh_db)
    schools = await city_data(fresh_db, campaign)
    data = city_bytes(schools, TODAY, Phases(date(2026, 11, 1), date(2027, 5, 31)))
    wb = load_workbook(io.BytesIO(data))
    ws = wb["全市进度"]
    first = HEADER_ROW + 1
    rows = {figures(ws, r)["学校"]: figures(ws, r) for r in range(first, first + 3)}
    assert list(rows) == ["丙中学", "乙小学", "甲幼儿园"]  # by name

    a = rows["甲幼儿园"]
    assert (a["建筑单体数"], a["已排查销号"], a["发现隐患数"], a["完成率(%)"]) == (1, 0, 0, 0)
    assert a["状态"] == "未开始"
    assert a["最近活动"] in ("", None)

    b = rows["乙小学"]
    assert b["建筑单体数"] == 3
    assert b["已排查销号"] == 1
    assert b["排查中"] == 1
    assert b["发现隐患数"] == 3
    assert b["发现隐患单体数"] == 2
    assert b["能立即整改单体数"] == 0
    assert b["短期内难以整改单体数"] == 2
    assert b["停用的单体数"] == 1
    assert b["已销号隐患"] == 0
    assert b["逾期隐患"] == 1
    assert b["完成率(%)"] == 100 * (1 + 1) // (3 + 3)  # 1 inspected + 1 unfixable of 6
    assert b["最近活动"] == "2026-11-28 09:00"
    assert b["状态"] == "逾期"

    c = rows["丙中学"]
    assert (c["建筑单体数"], c["已排查销号"], c["发现隐患数"], c["已销号隐患"]) == (2, 2, 1, 1)
    assert c["能立即整改单体数"] == 1
    assert c["完成率(%)"] == 100
    assert c["状态"] == "已完成"

    # Colours: not started red, late amber, the others plain.
    colour = {name: ws.cell(row=r, column=2).fill.fgColor.rgb for r in range(first, first + 3)
              for name in [ws.cell(row=r, column=2).value]}  # fmt: skip
    assert colour["甲幼儿园"].endswith("FFC7CE")
    assert colour["乙小学"].endswith("FFEB9C")
    assert colour["丙中学"] == "00000000"

    total = figures(ws, first + 3)
    assert total["学校"] == "全市合计"
    assert total["建筑单体数"] == 6
    assert total["发现隐患数"] == 4
    assert total["已销号隐患"] == 1
    assert total["逾期隐患"] == 1
    assert total["停用的单体数"] == 1

    charts = wb["进度图"]._charts  # type: ignore[attr-defined]
    assert len(charts) == 1 and isinstance(charts[0], BarChart)


def progress(**values: int) -> SchoolProgress:
    base = {
        "buildings": 2,
        "inspected": 2,
        "in_progress": 0,
        "hazards": 2,
        "with_hazards": 1,
        "fixable_at_once": 1,
        "hard_to_fix": 0,
        "out_of_use": 0,
        "closed": 2,
        "unfixable": 0,
        "overdue": 0,
    }
    return SchoolProgress(**{**base, **values})


@pytest.mark.parametrize(
    ("values", "today", "late"),
    [
        ({}, date(2027, 6, 1), False),
        ({"inspected": 1}, date(2027, 3, 30), False),  # on the due day: not late yet
        ({"inspected": 1}, date(2027, 3, 31), True),
        ({"closed": 1}, date(2027, 5, 31), False),
        ({"closed": 1}, date(2027, 6, 1), True),
        ({"closed": 1, "unfixable": 1}, date(2027, 6, 1), False),
    ],
)
def test_phase_missed(values: dict, today: date, late: bool) -> None:
    assert phase_missed(progress(**values), today, date(2027, 3, 30), date(2027, 5, 31)) is late
