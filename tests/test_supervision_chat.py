"""Supervision through the chat, as supervisors and schools live it."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.conftest import jpeg
from tests.rectify_helpers import report_fix
from tests.simulator import Chat, Sent, Simulator, texts
from tests.supervision_helpers import start_visit, walk_all_ok, world


async def people_id(sim: Simulator, name: str) -> int:
    return int(await sim.db.value("SELECT id FROM people WHERE name = ?", (name,)))


async def hazard_finding(chat: Chat, description: str, major: bool, color: str) -> list[Sent]:
    """After "有隐患": a photo, the description, major or not; what the match question says."""
    said = await chat.photo(jpeg(color=color))
    assert "已收到 1 张" in said[-1].text
    said = await chat.tap("照片已发完")
    assert "请简要描述隐患" in said[-1].text
    await chat.send(description)
    return await chat.tap("是" if major else "否")


async def test_a_visit_from_the_draw_to_the_record(sim: Simulator) -> None:
    w = await world(sim)
    said = await start_visit(sim, w)
    shown = texts(said)
    assert "督查实验小学" in shown and "随机抽取" in shown
    assert "食堂：已销号 · 隐患 0 处" in shown
    assert "教学楼A：未排查 · 隐患 2 处（未销号 1）" in shown

    # 督导甲 walks 食堂 blind: the school said "no hazard" to F01; he finds one, off the list.
    said = await w.sup1.tap("🕵️ 食堂")
    assert "台账中没有隐患" in said[0].text
    assert "【食堂】1/" in said[-1].text and "F01" in said[-1].text
    assert "无隐患" not in said[-1].text.split("\n")[1]  # the school's answer is not shown yet
    said = await w.sup1.tap("有隐患")
    assert "与学校自查不一致：学校自查答案为 ✅ 无隐患" in said[0].text
    said = await hazard_finding(w.sup1, "疏散通道堆放桌椅", major=False, color="red")
    assert "是否已列入学校台账" in said[-1].text
    assert [label for row in said[-1].buttons for label, _ in row] == ["🚩 清单外"]
    said = await w.sup1.tap("清单外")
    off_list = int(said[0].text.split("#")[1].split("，")[0])
    assert "已列入学校台账，责任人实验小学张校长" in said[0].text
    assert "【食堂】2/" in said[-1].text  # the walk goes on
    (notice,) = w.s.taskforce.new()
    assert "清单外隐患：实验小学【食堂】" in notice.text and "疏散通道堆放桌椅" in notice.text

    # The next item: a major hazard off the list is accident-grade; the task force is told urgently.
    await w.sup1.tap("有隐患")
    await hazard_finding(w.sup1, "厨房燃气管道泄漏", major=True, color="orange")
    said = await w.sup1.tap("清单外")
    accident = int(said[0].text.split("#")[1].split("（")[0])
    assert "按事故对待" in said[0].text
    (urgent,) = w.s.taskforce.new()
    assert urgent.text.startswith("🚨【紧急】重大清单外隐患，按事故对待：实验小学【食堂】")
    row = await sim.db.one("SELECT * FROM hazards WHERE id = ?", (accident,))
    assert (row["accident_grade"], row["major"], row["state"]) == (1, 1, "open")
    assert row["visit_id"] is not None and row["responsible_id"] is not None

    # 督导乙, on the same visit, walks 教学楼A at the same time; 督导甲 cannot take it from him.
    said = await w.sup2.send("/supervise")
    assert "督查实验小学" in said[-1].text
    said = await w.sup2.tap("🕵️ 教学楼A")
    assert f"#{w.listed}" in said[0].text and f"#{w.closed}" in said[0].text
    assert "已销号" in said[0].text
    await w.sup1.send("/supervise")
    said = await w.sup1.tap("🕵️ 教学楼A")
    assert w.sup1.alerts[-1] == "督导乙正在督查该建筑，请选择其他建筑。"

    # A hazard already listed.
    said = await w.sup2.tap("有隐患")
    assert "学校自查答案：未作答" in said[0].text
    said = await hazard_finding(w.sup2, "楼梯间仍有杂物", major=False, color="yellow")
    labels = [label for row in said[-1].buttons for label, _ in row]
    assert labels[-1] == "🚩 清单外"
    assert any(label.startswith(f"已列入 #{w.listed}") for label in labels)
    assert any(label.startswith(f"整改不到位 #{w.closed}") for label in labels)
    said = await w.sup2.tap(f"已列入 #{w.listed}")
    assert f"与台账隐患 #{w.listed} 一致（清单内）" in said[0].text

    # A closed hazard, rectified badly: reopened, back with its responsible person.
    await w.sup2.tap("有隐患")
    await hazard_finding(w.sup2, "灭火器仍然过期", major=False, color="purple")
    said = await w.sup2.tap(f"整改不到位 #{w.closed}")
    assert "已重新打开，退回责任人实验小学王老师；原验收人：实验小学刘主任" in said[0].text
    row = await sim.db.one("SELECT state, closed_at FROM hazards WHERE id = ?", (w.closed,))
    assert (row["state"], row["closed_at"]) == ("open", None)
    accepted = await sim.db.all(
        "SELECT reported_by, decided_by FROM fix_reports"
        " WHERE hazard_id = ? AND state = 'accepted'",
        (w.closed,),
    )
    assert len(accepted) == 1 and accepted[0]["decided_by"] is not None  # both signatures stay
    (told,) = w.s.staff.new()
    assert "经督查认定为整改不到位" in told.text and "原验收人：实验小学刘主任" in told.text
    (verifier_told,) = w.s.leader.new()
    assert f"/hazard_{w.closed}" in verifier_told.text
    card = (await w.s.staff.send(f"/hazard_{w.closed}"))[-1].text
    assert "督导乙：督查认定整改不到位，重新打开" in card
    assert "✍️ 验收销号：实验小学刘主任" in card  # the earlier signature stays on the card

    # A missed building (遗漏建筑).
    await w.sup2.send("/supervise")
    await w.sup2.tap("添加遗漏建筑")
    await w.sup2.send("配电房")
    await w.sup2.tap("其他")
    await w.sup2.send("1")
    said = await w.sup2.send("1990")
    assert "已添加遗漏建筑【配电房】" in said[0].text
    assert "配电房：未排查 · 隐患 0 处（未销号 0） · ⚠️遗漏建筑" in said[-1].text

    # Nothing reached the principal yet; the visit ends with 食堂 walked halfway.
    assert w.s.principal.new() == []
    await w.sup1.send("/supervise")
    said = await w.sup1.tap("结束督查")
    record = said[-1].text
    assert "督查记录 · 实验小学" in record
    assert "督查人员：督导甲、督导乙（随机抽取）" in record
    assert "时间：2026-11-28 09:00 — 2026-11-28 09:00" in record
    assert "【食堂】已督查 2/" in record and "（未完成）" in record
    assert "【教学楼A】已督查 2/" in record
    assert "共检查 4 项。" in record
    assert "发现：清单内 1，清单外 1，按事故对待 1，整改不到位 1，遗漏建筑 1" in record
    assert "与学校自查不一致的答案 2 项" in record
    assert "有 2 栋建筑的督查未完成，已如实记录。" in record
    (to_principal,) = w.s.principal.new()
    assert to_principal.text == record
    assert w.s.staff.new() == []

    # The school walks the missed building, flagged in /inspect.
    said = await w.s.staff.send("/inspect")
    assert any("⚠️遗漏建筑 配电房" in label for row in said[-1].buttons for label, _ in row)
    await walk_all_ok(w.s.staff, "配电房")
    assert await sim.db.value(
        "SELECT closed_at IS NOT NULL FROM inspections i JOIN buildings b ON b.id = i.building_id"
        " WHERE b.name = '配电房'"
    )

    # The reopened hazard is fixed and verified again; the earlier signatures stay.
    await report_fix(w.s.staff, w.closed, note="已更换灭火器", color="white")
    await w.s.leader.tap("✅ 验收销号")
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (w.closed,)) == "closed"
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM fix_reports WHERE hazard_id = ? AND state = 'accepted'",
            (w.closed,),
        )
        == 2
    )

    # The city report, cell by cell; accident-grade first in the findings sheet.
    w.s.taskforce.new()
    await w.s.taskforce.send("/export")
    said = await w.s.taskforce.tap("全市进度表")
    document = next(m for m in said if m.kind == "document")
    wb = load_workbook(io.BytesIO(document.files[0]))
    sheet = wb["全市进度"]
    header = [c.value for c in sheet[3]]
    rows = {
        r[1]: dict(zip(header, r, strict=True))
        for r in sheet.iter_rows(min_row=4, values_only=True)
    }
    a, b = rows["实验小学"], rows["第二中学"]
    assert (a["督查"], a["督查清单内"], a["督查清单外"], a["督查按事故对待"]) == ("已督查", 1, 1, 1)
    assert (a["督查整改不到位"], a["督查遗漏建筑"]) == (1, 1)
    assert (b["督查"], b["督查清单内"], b["督查清单外"], b["督查按事故对待"]) == (
        "已抽取未到场", 0, 0, 0)  # fmt: skip
    findings = [r for r in wb["督查发现"].iter_rows(min_row=2, values_only=True)]
    assert findings[0][4] == "按事故对待"
    assert sorted(str(r[4]) for r in findings) == sorted(
        ["按事故对待", "清单外", "清单内", "整改不到位", "遗漏建筑"]
    )
    assert off_list in [r[6] for r in findings]

    # Exactly once across a restart: the notices are not planned or sent again.
    await sim.restart()
    await sim.drain()
    await sim.send_outbox()
    assert w.s.taskforce.new() == []
    assert (
        await sim.db.value("SELECT COUNT(*) FROM outbox WHERE key LIKE 'supervision.off_list:%'")
        == 2
    )
    said = await w.s.taskforce.send("/progress")
    assert said[-1].text.endswith(
        "督查：已督查 1 所，督查中 0 所，已抽取未到场 1 所\n"
        "督查发现：清单内 1，清单外 1，按事故对待 1，整改不到位 1，遗漏建筑 1"
    )
    said = await w.s.principal.send("/progress")
    assert "督查" not in said[-1].text
    said = await w.s.taskforce.send("/visits")
    assert "#2 实验小学：已结束（随机抽取）" in said[-1].text
    assert "第二中学：已抽取，未到场" in said[-1].text
    said = await w.s.taskforce.tap("督查记录：实验小学")
    assert said[-1].text == record

    # xiaoan export visits: the visits, their findings, the contradicted answers.
    from reports.files import visits_file

    _, data = await visits_file(sim.db, sim.services.campaign_id, sim.clock.now().date())
    wb = load_workbook(io.BytesIO(data))
    visits = {r[1]: r for r in wb["督查记录"].iter_rows(min_row=3, values_only=True)}
    assert visits["实验小学"][3:12] == (
        "随机抽取", 1, "督导甲、督导乙", "已督查", "2026-11-28 09:00", "2026-11-28 09:00", 2, 2, 4,
    )  # fmt: skip
    assert visits["实验小学"][12:] == (1, 1, 1, 1, 1)
    assert visits["第二中学"][6] == "已抽取未到场"
    assert wb["督查发现"].max_row == 6
    contradicted = list(wb["与自查不一致"].iter_rows(min_row=2, values_only=True))
    assert [(r[2], r[4], r[5]) for r in contradicted] == [
        ("食堂", "无隐患", "有隐患"), ("食堂", "无隐患", "有隐患"),
    ]  # fmt: skip


async def test_the_ledger_marks_origins_and_reopenings(sim: Simulator) -> None:
    w = await world(sim)
    await start_visit(sim, w)
    await w.sup1.tap("🕵️ 教学楼A")
    await w.sup1.tap("有隐患")
    await hazard_finding(w.sup1, "灭火器压力不足", major=False, color="purple")
    await w.sup1.tap(f"整改不到位 #{w.closed}")
    await w.sup1.tap("有隐患")
    await hazard_finding(w.sup1, "配电箱未上锁", major=True, color="orange")
    said = await w.sup1.tap("清单外")
    accident = int(said[0].text.split("#")[1].split("（")[0])
    await w.s.principal.send("/export")
    said = await w.s.principal.tap("📒 台账")
    document = next(m for m in said if m.kind == "document")
    sheet = load_workbook(io.BytesIO(document.files[0]))["台账"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows[0]["编号"] == accident  # accident-grade heads the ledger until closed
    assert (rows[0]["来源"], rows[0]["按事故对待"]) == ("督查发现（清单外）", "是")
    by_id = {r["编号"]: r for r in rows}
    assert by_id[w.listed]["来源"] == "随手拍"
    assert by_id[w.closed]["整改不到位（重新打开）"] == (
        "2026-11-28 09:00 督导甲：灭火器压力不足；原验收人实验小学刘主任"
    )


async def test_an_accident_grade_hazard_heads_the_principals_tasks(sim: Simulator) -> None:
    w = await world(sim)
    await start_visit(sim, w)
    await w.sup1.tap("🕵️ 食堂")
    await w.sup1.tap("有隐患")
    await hazard_finding(w.sup1, "疏散通道堆放桌椅", major=False, color="red")
    await w.sup1.tap("清单外")
    await w.sup1.tap("有隐患")
    await hazard_finding(w.sup1, "厨房燃气管道泄漏", major=True, color="orange")
    said = await w.sup1.tap("清单外")
    accident = int(said[0].text.split("#")[1].split("（")[0])
    said = await w.s.principal.send("/tasks")
    lines = [line for line in said[-1].text.split("\n") if line.startswith("#")]
    assert lines[0].startswith(f"#{accident}【食堂】厨房燃气管道泄漏")
    assert len(lines) == 2
    said = await w.s.principal.send(f"/hazard_{accident}")
    assert "🚨 督查发现重大清单外隐患：按事故对待" in said[-1].text
    said = await w.sup2.send(f"/hazard_{w.closed}")  # a supervisor reads any school's card
    assert "灭火器过期" in said[-1].text
