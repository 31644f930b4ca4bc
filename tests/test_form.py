"""The summary form (附件), read back with openpyxl and checked against the ledger."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from ledger.totals import BuildingFacts, HazardFacts, form_totals
from reports.form import SIGNATURES, TITLE_TEXT, form_bytes
from storage.db import Database
from storage.reporting import school_data
from tests.conftest import Seeded, seed_hazard, seed_school, seed_walk

TODAY = date(2026, 11, 28)


async def dump(db: Database) -> list[tuple]:
    """Every row of every table: to show that generating changed nothing."""
    tables = await db.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    rows: list[tuple] = []
    for t in tables:
        rows += [(t["name"], *r) for r in await db.all(f"SELECT * FROM {t['name']}")]  # noqa: S608
    return rows


async def five_buildings(db: Database) -> Seeded:
    """5 buildings, 7 hazards (plus a draft and a withdrawn one that never count)."""
    s = await seed_school(db, "实验小学", ["教学楼A", "教学楼B", "宿舍楼", "食堂", "图书馆"])
    a, b, dorm, canteen, _library = s.building_ids
    for building in (a, b, canteen):
        await seed_walk(db, s, building, closed=True)
    await seed_walk(db, s, dorm, closed=False)
    await seed_hazard(db, s, a, "灭火器过期", state="closed")
    await seed_hazard(db, s, a, "疏散指示灯不亮")
    await seed_hazard(db, s, b, "安全出口堵塞")
    await seed_hazard(
        db, s, b, "墙体开裂", fixable_now=False, deadline="2027-03-01", responsible="李工"
    )
    await seed_hazard(
        db,
        s,
        b,
        "楼梯间承重构件损坏",
        fixable_now=False,
        deadline="2027-04-30",
        responsible="赵主任",
        out_of_use=True,
        major=True,
    )
    await seed_hazard(db, s, dorm, "电线私拉乱接", fixable_now=False, deadline="2027-01-15")
    await seed_hazard(db, s, canteen, "燃气报警器缺失")
    await seed_hazard(db, s, canteen, "草稿中的隐患", state="draft")
    await seed_hazard(db, s, canteen, "撤回的隐患", state="withdrawn")
    return s


def sheet(data: bytes) -> Worksheet:
    ws = load_workbook(io.BytesIO(data)).active
    assert isinstance(ws, Worksheet)
    return ws


def row_values(ws: Worksheet, row: int) -> list:
    return [ws.cell(row=row, column=c).value for c in range(1, 9)]


async def test_form_of_five_buildings_and_seven_hazards(fresh_db: Database) -> None:
    s = await five_buildings(fresh_db)
    before = await dump(fresh_db)
    school = await school_data(fresh_db, s.campaign_id, s.school_id)
    ws = sheet(form_bytes(school, TODAY))
    assert await dump(fresh_db) == before  # generating never changes the ledger

    assert ws["A1"].value == TITLE_TEXT
    assert ws["A2"].value == "填报单位（盖章）：实验小学"
    assert ws["F2"].value == "日期：2026年11月28日"
    header = {ref: ws[ref].value for ref in ("A3", "B3", "C3", "D3", "E3", "E4", "F4", "G4", "H3")}
    assert header == {
        "A3": "序号",
        "B3": "建筑物名称",
        "C3": "新发现隐患内容（无隐患填“无”）",
        "D3": "是否能\n立即整改",
        "E3": "不能立即整改的隐患",
        "E4": "计划完成日期",
        "F4": "具体责任人",
        "G4": "是否停用",
        "H3": "备注",
    }
    assert {str(r) for r in ws.merged_cells.ranges} == {
        "A1:H1",
        "A2:E2",
        "F2:H2",
        "A3:A4",
        "B3:B4",
        "C3:C4",
        "D3:D4",
        "E3:G3",
        "H3:H4",
        "B10:H10",
        "A11:H11",
        "A12:H12",
    }
    assert row_values(ws, 5) == [
        1,
        "教学楼A",
        "1. 灭火器过期\n2. 疏散指示灯不亮",
        "是",
        None,
        None,
        None,
        "已排查销号\n已整改1/2",
    ]
    assert row_values(ws, 6) == [
        2,
        "教学楼B",
        "1. 安全出口堵塞\n2. 墙体开裂\n3. 楼梯间承重构件损坏",
        "1. 是\n2. 否\n3. 否",
        "2. 2027-03-01\n3. 2027-04-30",
        "2. 李工\n3. 赵主任",
        "是",
        "已排查销号\n已整改0/3",
    ]
    assert row_values(ws, 7) == [
        3,
        "宿舍楼",
        "电线私拉乱接",
        "否",
        "2027-01-15",
        "实验小学校长",
        "否",
        "排查中\n已整改0/1",
    ]
    assert row_values(ws, 8) == [4, "食堂", "燃气报警器缺失", "是", None, None, None,
                                 "已排查销号\n已整改0/1"]  # fmt: skip
    # Nobody walked the library: not "无", which would declare it safe.
    assert row_values(ws, 9) == [5, "图书馆", "未排查", None, None, None, None, "未排查"]
    assert ws["A10"].value == "合计"
    assert ws["B10"].value == (
        "校内建筑单体数：（5）栋；发现隐患单体数：（4）栋，能立即整改单体数：（2）栋，"
        "短期内难以整改单体数：（2）栋，停用的单体数：（1）栋。"
    )
    assert ws["A11"].value == "尚未完成排查的建筑：（2）栋：宿舍楼（排查中）、图书馆（未排查）。"
    assert ws["A12"].value == SIGNATURES
    for ref in ("主要负责人签字", "填表人签字", "联系电话"):
        assert ref in SIGNATURES


async def test_totals_match_the_ledger(fresh_db: Database) -> None:
    """The 合计 line counts what the database holds, by the rule of ledger.totals."""
    s = await five_buildings(fresh_db)
    counted = await fresh_db.all(
        "SELECT building_id, fixable_now, takes_out_of_use FROM hazards"
        " WHERE state IN ('open', 'submitted', 'closed', 'unfixable')"
    )
    assert len(counted) == 7
    by_building = {b: [r for r in counted if r["building_id"] == b] for b in s.building_ids}
    with_hazards = sum(bool(v) for v in by_building.values())
    at_once = sum(bool(v) and all(r["fixable_now"] for r in v) for v in by_building.values())
    hard = sum(any(not r["fixable_now"] for r in v) for v in by_building.values())
    stopped = await fresh_db.value("SELECT COUNT(*) FROM buildings WHERE out_of_use = 1")
    school = await school_data(fresh_db, s.campaign_id, s.school_id)
    ws = sheet(form_bytes(school, TODAY))
    assert ws["B10"].value == (
        f"校内建筑单体数：（5）栋；发现隐患单体数：（{with_hazards}）栋，"
        f"能立即整改单体数：（{at_once}）栋，短期内难以整改单体数：（{hard}）栋，"
        f"停用的单体数：（{stopped}）栋。"
    )


async def test_school_without_hazards_says_none_everywhere(fresh_db: Database) -> None:
    s = await seed_school(fresh_db, "第二中学", ["主楼", "操场看台", "宿舍"])
    for building in s.building_ids:
        await seed_walk(fresh_db, s, building, closed=True)
    ws = sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))
    for offset, name in enumerate(["主楼", "操场看台", "宿舍"]):
        assert row_values(ws, 5 + offset) == [
            offset + 1, name, "无", None, None, None, None, "已排查销号"
        ]  # fmt: skip
    assert ws["A8"].value == "合计"
    assert "校内建筑单体数：（3）栋；发现隐患单体数：（0）栋" in ws["B8"].value
    assert "停用的单体数：（0）栋" in ws["B8"].value
    assert ws["A9"].value == "尚未完成排查的建筑：（0）栋，全部3栋已排查销号。"
    assert ws["A10"].value == SIGNATURES


async def test_form_prints_on_a4_landscape(fresh_db: Database) -> None:
    s = await five_buildings(fresh_db)
    ws = sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))
    assert ws.page_setup.orientation == "landscape"
    assert ws.page_setup.paperSize == 9  # A4
    assert ws.print_title_rows == "$3:$4"
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws["C6"].alignment.wrap_text
    assert ws["C6"].border.left.style == "thin"
    assert ws["B5"].font.name == "宋体"
    assert ws.column_dimensions["C"].width >= 40
    assert ws.row_dimensions[6].height >= 3 * 15  # three hazards, three lines


def facts(*hazards: tuple[bool, bool], out_of_use: bool = False) -> BuildingFacts:
    return BuildingFacts(out_of_use, [HazardFacts(fix, stop, "open") for fix, stop in hazards])


@pytest.mark.parametrize(
    ("buildings", "expected"),
    [
        ([], (0, 0, 0, 0, 0)),
        ([facts()], (1, 0, 0, 0, 0)),
        ([facts((True, False))], (1, 1, 1, 0, 0)),
        ([facts((True, False), (False, False))], (1, 1, 0, 1, 0)),
        ([facts((False, True))], (1, 1, 0, 1, 1)),
        ([facts(out_of_use=True)], (1, 0, 0, 0, 1)),
        ([facts((True, False)), facts((False, False)), facts()], (3, 2, 1, 1, 0)),
    ],
)
def test_totals_rule(buildings: list[BuildingFacts], expected: tuple[int, ...]) -> None:
    t = form_totals(buildings)
    assert (t.buildings, t.with_hazards, t.fixable_at_once, t.hard_to_fix, t.out_of_use) == expected


async def test_a_recurring_round_leaves_the_form_one_row_per_building(fresh_db: Database) -> None:
    """A building walked again in a round of a recurring inspection is still one row."""
    s = await seed_school(fresh_db, "第二中学", ["主楼", "宿舍"])
    for building in s.building_ids:
        await seed_walk(fresh_db, s, building, closed=True)
    async with fresh_db.write() as tx:
        recurring = await tx.run(
            "INSERT INTO recurring_inspections (school_id, every, set_by, set_at)"
            " VALUES (?, 'week', ?, ?)",
            (s.school_id, s.person_id, tx.now()),
        )
        round_id = await tx.run(
            "INSERT INTO inspection_rounds (school_id, campaign_id, recurring_id, period_start,"
            " due, opened_at) VALUES (?, ?, ?, '2026-11-30', '2026-12-06', ?)",
            (s.school_id, s.campaign_id, recurring, tx.now()),
        )
        await tx.run(
            "INSERT INTO inspections (campaign_id, building_id, round_id, checklist_version_id,"
            " walker_id, started_by, started_at, last_activity_at)"
            " SELECT campaign_id, building_id, ?, checklist_version_id, walker_id, started_by,"
            " started_at, last_activity_at FROM inspections WHERE round_id IS NULL",
            (round_id,),
        )
    ws = sheet(form_bytes(await school_data(fresh_db, s.campaign_id, s.school_id), TODAY))
    assert [row_values(ws, r)[1] for r in (5, 6)] == ["主楼", "宿舍"]
    assert row_values(ws, 5)[7] == "已排查销号"  # the campaign's walk, not the round's
    assert ws["A7"].value == "合计"
