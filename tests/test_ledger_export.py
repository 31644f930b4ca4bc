"""The ledger (台账): one row per hazard with every field, photos embedded, buildings."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ledger.roles import Role
from reports.ledger import (
    BEFORE_COLUMN,
    BUILDING_COLUMNS,
    HAZARD_COLUMNS,
    PHOTO_ROW_POINTS,
    write_ledger,
)
from storage.db import Database
from storage.photos import PhotoLimits, PhotoStore
from storage.reporting import ledger_buildings, ledger_rows, read_only
from tests.conftest import (
    seed_deadline_change,
    seed_fix,
    seed_hazard,
    seed_person,
    seed_photo,
    seed_school,
    seed_walk,
)


def export(db: Database, campaign_id: int, store: PhotoStore, school_id: int | None = None):
    conn = read_only(db.path)
    try:
        buffer = io.BytesIO()
        count = write_ledger(
            buffer,
            ledger_rows(conn, campaign_id, school_id),
            ledger_buildings(conn, campaign_id, school_id),
            store.path_of,
        )
    finally:
        conn.close()
    return count, load_workbook(io.BytesIO(buffer.getvalue()))


def by_header(ws, row: int) -> dict:
    headers = [c.value for c in ws[1]]
    return dict(zip(headers, [c.value for c in ws[row]], strict=True))


async def test_ledger_rows_pictures_and_buildings(fresh_db: Database, tmp_path: Path) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A", "宿舍楼", "食堂"])
    other = await seed_school(fresh_db, "第二中学", ["主楼"], campaign_id=s.campaign_id)
    a, dorm, _canteen = s.building_ids
    leader = await seed_person(fresh_db, "分管副校长", s.school_id, Role.LEADER)
    await seed_walk(fresh_db, s, a, closed=True)
    await seed_walk(fresh_db, s, dorm, closed=False)
    closed = await seed_hazard(fresh_db, s, a, "=灭火器过期")
    await seed_photo(fresh_db, store, closed, s.person_id, "before", "red")
    await seed_photo(fresh_db, store, closed, s.person_id, "before", "blue")
    fix = await seed_fix(fresh_db, closed, s.person_id, leader)
    await seed_photo(fresh_db, store, closed, s.person_id, "after", "green", fix_id=fix)
    moved = await seed_hazard(
        fresh_db, s, dorm, "墙体开裂", fixable_now=False, deadline="2027-03-01",
        responsible="李工", out_of_use=True, major=True,
    )  # fmt: skip
    await seed_deadline_change(fresh_db, moved, s.person_id, "2027-04-01", leader)
    await seed_hazard(fresh_db, s, dorm, "草稿", state="draft")
    await seed_hazard(fresh_db, other, other.building_ids[0], "别校的隐患")

    count, wb = export(fresh_db, s.campaign_id, store, s.school_id)
    assert count == 2
    ws = wb["台账"]
    assert [c.value for c in ws[1]] == [title for title, _ in HAZARD_COLUMNS]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{get_column_letter(len(HAZARD_COLUMNS))}{count + 1}"
    assert ws.max_row == 3

    rows = {by_header(ws, r)["编号"]: by_header(ws, r) for r in (2, 3)}
    row_of_closed = next(r for r in (2, 3) if ws.cell(row=r, column=1).value == closed)
    done = rows[closed]
    assert done["学校"] == "实验小学"
    assert done["隐患描述"] == "=灭火器过期"
    assert ws.cell(row=row_of_closed, column=5).data_type == "s"  # not a formula
    assert done["建筑物"] == "教学楼A"
    assert done["检查项"] == "其他隐患"
    assert done["来源"] == "逐栋排查"
    assert done["能否立即整改"] == "是"
    assert done["状态"] == "已销号"
    assert done["发现人"] == "实验小学校长"
    assert done["发现时间"] == "2026-11-28 09:00"
    assert done["责任人确认整改"] == "实验小学校长"
    assert done["确认时间"] == "2026-11-28 09:00"
    assert done["验收人签字"] == "分管副校长"
    assert done["验收时间"] == "2026-11-28 09:00"
    assert done["销号时间"] == "2026-11-28 09:00"
    assert done["整改前照片"] == "2张"
    assert done["整改后照片"] == "1张"

    plan = rows[moved]
    assert plan["能否立即整改"] == "否"
    assert plan["计划完成日期"] == "2027-04-01"
    assert plan["期限变更"] == (
        "2027-03-01 → 2027-04-01（材料未到；实验小学校长 2026-11-28 09:00申请；"
        "已批准，分管副校长 2026-11-28 09:00）"
    )
    assert plan["具体责任人"] == "李工"
    assert plan["是否停用"] == "是"
    assert plan["重大隐患"] == "是"
    assert plan["整改措施"] == "整改措施"
    assert plan["状态"] == "待整改"
    assert plan["验收人签字"] is None
    assert plan["整改前照片"] is None

    # One thumbnail per kind, anchored in the hazard's own row, in the photo columns.
    anchors = sorted((img.anchor._from.row + 1, img.anchor._from.col + 1) for img in ws._images)
    assert anchors == [(row_of_closed, BEFORE_COLUMN), (row_of_closed, BEFORE_COLUMN + 1)]
    for img in ws._images:
        assert max(img.width, img.height) <= 80
    assert ws.row_dimensions[row_of_closed].height == PHOTO_ROW_POINTS == 63.75

    buildings = wb["建筑物"]
    assert [c.value for c in buildings[1]] == [title for title, _ in BUILDING_COLUMNS]
    listed = {r[1].value: [c.value for c in r] for r in buildings.iter_rows(min_row=2)}
    assert set(listed) == {"教学楼A", "宿舍楼", "食堂"}
    assert listed["教学楼A"][5] == "已排查销号"
    assert listed["宿舍楼"][5] == "排查中"
    assert listed["宿舍楼"][9] == 1  # the draft does not count
    assert listed["宿舍楼"][10] == "是"
    assert listed["食堂"][5] == "未排查"


async def test_city_ledger_has_every_school(fresh_db: Database, tmp_path: Path) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    other = await seed_school(fresh_db, "第二中学", ["主楼"], campaign_id=s.campaign_id)
    await seed_hazard(fresh_db, s, s.building_ids[0], "一")
    await seed_hazard(fresh_db, other, other.building_ids[0], "二")
    count, wb = export(fresh_db, s.campaign_id, store)
    assert count == 2
    assert {wb["台账"].cell(row=r, column=2).value for r in (2, 3)} == {"实验小学", "第二中学"}
    assert wb["建筑物"].max_row == 3


async def test_missing_photo_file_leaves_the_row(fresh_db: Database, tmp_path: Path) -> None:
    store = PhotoStore(tmp_path / "photos", PhotoLimits())
    s = await seed_school(fresh_db, "实验小学", ["教学楼A"])
    hazard = await seed_hazard(fresh_db, s, s.building_ids[0], "一")
    sha = await seed_photo(fresh_db, store, hazard, s.person_id)
    store.path_of(sha).unlink()
    count, wb = export(fresh_db, s.campaign_id, store)
    assert count == 1
    assert wb["台账"]._images == []
    assert wb["台账"][f"{get_column_letter(BEFORE_COLUMN)}2"].value == "1张"
