"""Rectifying refused: no photo, the same photo, the wrong person, another school, stale taps."""

from __future__ import annotations

import pytest

from tests.conftest import jpeg, make_school
from tests.rectify_helpers import report, report_fix, scene
from tests.simulator import Simulator


async def snapshot(sim: Simulator) -> tuple:
    """Everything rectification may change."""
    return (
        [tuple(r) for r in await sim.db.all("SELECT * FROM hazards ORDER BY id")],
        [tuple(r) for r in await sim.db.all("SELECT * FROM fix_reports ORDER BY id")],
        [tuple(r) for r in await sim.db.all("SELECT * FROM deadline_changes ORDER BY id")],
        await sim.db.value("SELECT COUNT(*) FROM outbox"),
    )


async def test_a_fix_report_needs_a_photo(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    said = await s.staff.tap_data(f"r:fx:{hazard_id}")
    assert "请拍摄整改后的照片" in said[-1].text
    assert said[-1].buttons == [
        [("📷 拍照 / 选照片", f"cam:f:{hazard_id}")]
    ]  # no "all photos sent" yet
    said = await s.staff.send("已经换好了")
    assert "请先发送整改后的照片" in said[0].text
    fix_id = await sim.db.value("SELECT id FROM fix_reports")
    await s.staff.tap_data(f"r:fd:{hazard_id}:{fix_id}")  # crafted "all photos sent"
    assert s.staff.alerts[-1].startswith("整改上报至少需要 1 张整改后的照片")
    assert await sim.db.value("SELECT state FROM hazards") == "open"
    assert await sim.db.value("SELECT state FROM fix_reports") == "draft"
    assert await sim.db.value("SELECT COUNT(*) FROM outbox") == 0


async def test_the_before_photo_is_not_an_after_photo(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期", color="red")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    said = await s.staff.photo(jpeg(color="red"))  # the very picture of the hazard
    assert "这张照片已经上传过" in said[0].text
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE kind = 'after'") == 0


@pytest.mark.parametrize("who", ["staff", "taskforce"])
async def test_only_leaders_verify(sim: Simulator, who: str) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期", responsible="实验小学刘主任")
    await report_fix(s.leader, hazard_id)
    before = await snapshot(sim)
    fix_id = await sim.db.value("SELECT id FROM fix_reports")
    chat = getattr(s, who)
    for action in ("vf", "rt"):
        await chat.tap_data(f"r:{action}:{hazard_id}:{fix_id}")
        assert chat.alerts[-1] == "您没有权限进行此操作。"
    assert await snapshot(sim) == before


@pytest.mark.parametrize(
    "data",
    ["r:fx:{h}", "r:vf:{h}:{f}", "r:rt:{h}:{f}", "r:ex:{h}", "r:uf:{h}", "r:ra:{h}", "hc:{h}"],
)
async def test_another_school_cannot_touch_the_hazard(sim: Simulator, data: str) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await report_fix(s.staff, hazard_id)
    other = await make_school(sim, name="第二中学", taskforce=s.taskforce)
    fix_id = await sim.db.value("SELECT id FROM fix_reports")
    before = await snapshot(sim)
    other.principal.new()
    await other.principal.tap_data(data.format(h=hazard_id, f=fix_id))
    assert other.principal.alerts[-1] == "您没有权限进行此操作。"
    assert other.principal.new() == []
    assert await snapshot(sim) == before


@pytest.mark.parametrize(
    "data", ["r:fx:abc", "r:vf:1", "r:zz:1", "r:vf:1:x", "r:dx:1:1:maybe", "hc:-1"]
)
async def test_crafted_nonsense_changes_nothing(sim: Simulator, data: str) -> None:
    s = await scene(sim)
    await report(s.staff, "灭火器过期")
    before = await snapshot(sim)
    await s.leader.send("/tasks")
    await s.leader.tap_data(data)
    assert s.leader.alerts[-1] in (
        "您没有权限进行此操作。",
        "这个问题已经回答过了。",
        "这个按钮的编号（abc）无效，操作没有执行。请重新打开列表再点。",
        "这个按钮的编号（x）无效，操作没有执行。请重新打开列表再点。",
        "这个按钮的编号（-1）无效，操作没有执行。请重新打开列表再点。",
    )
    assert await snapshot(sim) == before


async def test_a_closed_hazard_cannot_be_fixed_again(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await report_fix(s.staff, hazard_id)
    await s.leader.tap("✅ 验收销号")
    before = await snapshot(sim)
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    assert s.staff.alerts[-1] == "该隐患已验收销号。"
    assert await snapshot(sim) == before


async def test_a_submitted_fix_cannot_be_reported_twice(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await report_fix(s.staff, hazard_id)
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    assert s.staff.alerts[-1] == "该隐患的整改已提交，正在等待验收。"


@pytest.mark.parametrize(("text", "answer"), [("   ", "内容不能为空"), ("字" * 501, "内容太长")])
async def test_a_bad_note_is_refused_and_the_fix_waits(
    sim: Simulator, text: str, answer: str
) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.staff.photo(jpeg(color="green"))
    await s.staff.tap("照片已发完")
    said = await s.staff.send(text)
    assert answer in said[0].text
    assert await sim.db.value("SELECT state FROM hazards") == "open"
    said = await s.staff.send("换好了")
    assert "整改已提交" in said[-1].text


async def test_cancel_drops_the_fix_report(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.staff.photo(jpeg(color="green"))
    said = await s.staff.send("/cancel")
    assert "整改上报已取消" in said[-1].text
    assert await sim.db.value("SELECT state FROM fix_reports") == "dropped"
    assert await sim.db.value("SELECT state FROM hazards") == "open"
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE kind = 'after'") == 1


async def test_a_fix_report_survives_a_restart(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.staff.photo(jpeg(color="green"))
    await sim.restart()
    said = await s.staff.send("随便说一句")  # not the note yet: asked again where it stopped
    assert "已收到整改后照片 1 张" in said[-1].text
    await s.staff.tap("照片已发完")
    said = await s.staff.send("换好了")
    assert "整改已提交" in said[-1].text
