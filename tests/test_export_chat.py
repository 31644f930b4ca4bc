"""/export and /progress through the chat, by role; generating files changes nothing."""

from __future__ import annotations

import io

from openpyxl import Workbook, load_workbook

from reports.ledger import BEFORE_COLUMN
from tests.conftest import Seeded, jpeg, make_school, seed_hazard
from tests.simulator import Sent, Simulator, texts

REFUSED = "您没有权限进行此操作。"
BUILDINGS = (
    ("教学楼A", "教学楼", "4", "2005"),
    ("宿舍楼", "宿舍", "5", "1996"),
)


async def ledger_state(sim: Simulator) -> list:
    """What a report must never change: the ledger's tables and the event log."""
    rows = []
    for table in ("schools", "buildings", "hazards", "inspections", "events", "photos"):
        rows += [tuple(r) for r in await sim.db.all(f"SELECT * FROM {table}")]  # noqa: S608
    return rows


async def school_with_hazards(sim: Simulator):
    school = await make_school(sim, buildings=BUILDINGS)
    ids = [
        r["id"]
        for r in await sim.db.all(
            "SELECT id FROM buildings WHERE school_id = ? ORDER BY id", (school.school_id,)
        )
    ]
    principal_id = await sim.db.value(
        "SELECT person_id FROM memberships WHERE role = 'principal' AND school_id = ?",
        (school.school_id,),
    )
    seeded = Seeded(sim.services.campaign_id, school.school_id, ids, principal_id)
    await seed_hazard(sim.db, seeded, ids[0], "灭火器过期")
    await seed_hazard(sim.db, seeded, ids[1], "=墙体开裂", fixable_now=False, deadline="2027-03-01")
    return school


def workbook(message: Sent) -> Workbook:
    assert message.kind == "document"
    return load_workbook(io.BytesIO(message.files[0]))


async def test_principal_exports_the_school_files(sim: Simulator) -> None:
    school = await school_with_hazards(sim)
    before = await ledger_state(sim)
    said = await school.principal.send("/export")
    form = next(m for m in said if m.kind == "document")
    assert form.file_name.startswith("汇总表-实验小学-2026-11-28")
    assert form.file_name.endswith(".xlsx")
    ws = workbook(form).active
    assert ws["A2"].value == "填报单位（盖章）：实验小学"
    assert ws["B5"].value == "教学楼A"
    assert ws["C6"].value == "=墙体开裂"  # text, not a formula
    assert ws["C6"].data_type == "s"
    assert "实验小学排查情况汇总表" in form.caption

    said = await school.principal.tap("台账")
    ledger = next(m for m in said if m.kind == "document")
    assert ledger.file_name.startswith("台账-实验小学")
    assert workbook(ledger)["台账"].max_row == 3
    assert "2 条" in ledger.caption

    said = await school.principal.tap("建筑二维码")
    sheet = next(m for m in said if m.kind == "document")
    assert sheet.file_name == "二维码-实验小学.pdf"
    assert sheet.files[0].startswith(b"%PDF-")

    said = await school.principal.tap("建筑导入模板")
    template = next(m for m in said if m.kind == "document")
    assert workbook(template).active["A1"].value == "建筑物名称"
    assert await ledger_state(sim) == before  # reports never change the ledger


async def test_staff_and_other_schools_are_refused(sim: Simulator) -> None:
    school = await school_with_hazards(sim)
    other = await make_school(sim, name="第二中学", taskforce=school.taskforce)
    said = await school.staff.send("/export")
    assert [m.kind for m in said] == ["text"]
    assert REFUSED in said[-1].text
    await school.staff.tap_data(f"e:f:{school.school_id}")
    assert REFUSED in school.staff.alerts[-1]
    # A principal: not another school's files, not the task force's city files.
    for data in (f"e:f:{other.school_id}", f"e:l:{other.school_id}", "e:c:0", "e:L:0", "e:s:0"):
        said = await school.principal.tap_data(data)
        assert all(m.kind != "document" for m in said)
        assert REFUSED in school.principal.alerts[-1]
    await school.principal.tap_data("e:zz:1")
    assert REFUSED in school.principal.alerts[-1]


async def test_taskforce_gets_city_files_and_any_school(sim: Simulator) -> None:
    school = await school_with_hazards(sim)
    await make_school(sim, name="第二中学", taskforce=school.taskforce)
    tf = school.taskforce
    tf.new()
    said = await tf.send("/export")
    assert "全市进度表" in texts(said)
    assert "第二中学" in texts(said)

    said = await tf.tap("全市进度表")
    city = next(m for m in said if m.kind == "document")
    ws = workbook(city)["全市进度"]
    assert {ws.cell(row=r, column=2).value for r in (4, 5, 6)} == {
        "实验小学",
        "第二中学",
        "全市合计",
    }

    said = await tf.tap("全市台账")
    ledger = next(m for m in said if m.kind == "document")
    assert workbook(ledger)["台账"].max_row == 3

    said = await tf.tap("学校导入模板")
    template = next(m for m in said if m.kind == "document")
    assert workbook(template).active["A1"].value == "学校名称"

    said = await tf.tap("实验小学")
    assert "汇总表" in texts(said)
    said = await tf.tap("汇总表")
    assert next(m for m in said if m.kind == "document").file_name.startswith("汇总表-实验小学")

    said = await tf.send(f"/export {school.school_id}")
    assert next(m for m in said if m.kind == "document").file_name.startswith("汇总表-实验小学")
    said = await tf.send("/export 999")
    assert "没有编号为 999 的学校" in said[-1].text


async def test_progress_by_role(sim: Simulator) -> None:
    school = await school_with_hazards(sim)
    await make_school(sim, name="第二中学", taskforce=school.taskforce)
    said = await school.principal.send("/progress")
    text = said[-1].text
    assert "实验小学" in text
    assert "0/2 栋已销号" in text
    assert "隐患 2 处" in text
    assert "░░░░░░░░░░" in text

    said = await school.staff.send("/progress")
    assert "实验小学" in said[-1].text

    said = await school.taskforce.send("/progress")
    text = said[-1].text
    assert "全市" in text
    assert "2 所学校，1 所未开始" in text  # 第二中学 has done nothing
    assert "0/3 栋已销号" in text

    english = await sim.chat("Visitor", "en").send("/progress")
    assert "invitation" in english[-1].text.lower() or "join" in english[-1].text.lower()


async def test_a_walk_in_chat_lands_on_the_form_and_in_the_ledger(sim: Simulator) -> None:
    """Hazards reported through the real walk, then exported: the same facts on paper."""
    school = await make_school(sim)
    staff = school.staff
    await staff.send("/inspect")
    await staff.tap("教学楼A")
    await staff.tap("有隐患")
    await staff.tap("无照片")
    await staff.send("二楼楼梯口堆放杂物")
    await staff.tap("是")  # fixable at once
    await staff.tap("有隐患")
    await staff.photo(jpeg(color="blue"))
    await staff.tap("照片已发完")
    await staff.send("配电箱线路老化")
    await staff.tap("否")
    await staff.send("2027-05-20")
    await staff.tap("实验小学张校长")
    await staff.send("更换全部线路")
    await staff.tap("是")  # out of use
    await staff.tap("否")  # not major

    said = await school.principal.send("/export")
    ws = workbook(next(m for m in said if m.kind == "document")).active
    assert ws["B5"].value == "教学楼A"
    assert ws["C5"].value == "1. 二楼楼梯口堆放杂物\n2. 配电箱线路老化"
    assert ws["D5"].value == "1. 是\n2. 否"
    assert ws["E5"].value == "2. 2027-05-20"
    assert ws["F5"].value == "2. 实验小学张校长"
    assert ws["G5"].value == "是"
    assert ws["H5"].value == "排查中\n已整改0/2"
    assert ws["B6"].value == (
        "校内建筑单体数：（1）栋；发现隐患单体数：（1）栋，能立即整改单体数：（0）栋，"
        "短期内难以整改单体数：（1）栋，停用的单体数：（1）栋。"
    )

    said = await school.principal.tap("台账")
    ledger = workbook(next(m for m in said if m.kind == "document"))["台账"]
    rows = [[c.value for c in row] for row in ledger.iter_rows(min_row=2)]
    assert [r[4] for r in rows] == ["二楼楼梯口堆放杂物", "配电箱线路老化"]
    assert rows[0][3].startswith("F01 ")  # the checklist item, code and question
    assert rows[1][6] == "实验小学王老师"  # found by
    assert rows[1][BEFORE_COLUMN - 1] == "1张"
    assert len(ledger._images) == 1  # type: ignore[attr-defined]
