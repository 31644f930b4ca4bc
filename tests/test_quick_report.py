"""Quick report (随手拍): a photo outside a walk becomes a hazard."""

from __future__ import annotations

from tests.conftest import jpeg, make_school
from tests.simulator import Simulator, texts


async def test_a_photo_outside_a_walk_asks_which_building(sim: Simulator) -> None:
    school = await make_school(
        sim, buildings=(("教学楼A", "教学楼", "4", "2005"), ("一食堂", "食堂", "2", "2010"))
    )
    staff = school.staff
    said = await staff.photo(jpeg())
    assert "随手拍：照片已保存" in texts(said)
    assert "这是哪栋建筑" in said[-1].text
    said = await staff.tap("一食堂")
    assert "已收到 1 张照片" in said[-1].text
    await staff.tap("照片已发完")
    await staff.send("后厨燃气管道漏气")
    said = await staff.tap("否")
    said = await staff.tap("7 天内")
    said = await staff.send("自己填一个名字")  # a responsible person typed, not a colleague
    await staff.send("更换阀门")
    await staff.tap("否")  # not out of use
    said = await staff.tap("否")  # not major
    assert "隐患 #1 已登记" in texts(said)
    hazard = await sim.db.one(
        "SELECT h.*, b.name AS building FROM hazards h JOIN buildings b ON b.id = h.building_id"
    )
    assert hazard["source"] == "quick" and hazard["state"] == "open"
    assert hazard["building"] == "一食堂"
    assert hazard["deadline"] == "2026-12-05"
    assert hazard["responsible_name"] == "自己填一个名字" and hazard["responsible_id"] is None
    assert hazard["inspection_id"] is None
    assert await sim.db.value("SELECT COUNT(*) FROM photos") == 1
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM pending_inputs WHERE tg_user_id = ?", (staff.user_id,)
        )
        == 0
    )
    # The next photo starts a new report.
    said = await staff.photo(jpeg(color="green"))
    assert "这是哪栋建筑" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM hazards") == 2


async def test_cancelling_a_quick_report_keeps_its_record(sim: Simulator) -> None:
    school = await make_school(sim)
    await school.staff.photo(jpeg())
    said = await school.staff.send("/cancel")
    assert "随手拍已取消" in said[-1].text
    hazard = await sim.db.one("SELECT * FROM hazards")
    assert hazard["state"] == "withdrawn"
    assert await sim.db.value("SELECT COUNT(*) FROM photos") == 1


async def test_a_photo_as_a_file_is_accepted(sim: Simulator) -> None:
    school = await make_school(sim)
    said = await school.staff.photo(jpeg(), as_document=True)
    assert "这是哪栋建筑" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM photos") == 1


async def test_someone_who_has_not_joined_cannot_report(sim: Simulator) -> None:
    stranger = sim.chat("路人")
    said = await stranger.photo(jpeg())
    assert "您还没有加入" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM hazards") == 0
