"""Day one, the photo step: a big photo button first, and a word on why photos matter."""

from __future__ import annotations

from tests.conftest import School, jpeg, make_school
from tests.rectify_helpers import report, scene
from tests.simulator import Sent, Simulator, texts


async def _to_the_photo_step(sim: Simulator) -> tuple[School, list[Sent]]:
    school = await make_school(sim)
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    said = await school.staff.tap("有隐患")
    return school, said


async def test_the_photo_step_offers_a_photo_button_first_and_says_why(sim: Simulator) -> None:
    _, said = await _to_the_photo_step(sim)
    question = said[-1]
    assert "凭据" in question.text
    labels = [label for row in question.buttons for label, _ in row]
    assert labels == ["📷 拍照 / 选照片", "无照片"]
    assert question.buttons[0][0][1].startswith("cam:h:")


async def test_the_photo_button_on_telegram_says_how_and_changes_nothing(sim: Simulator) -> None:
    school, said = await _to_the_photo_step(sim)
    hazard_before = dict(await sim.db.one("SELECT * FROM hazards"))
    await school.staff.tap("拍照 / 选照片")
    assert "📎" in school.staff.alerts[-1]
    assert dict(await sim.db.one("SELECT * FROM hazards")) == hazard_before
    # The photo sent next is taken as before.
    said = await school.staff.photo(jpeg())
    assert "已收到 1 张照片" in texts(said)
    assert await sim.db.value("SELECT COUNT(*) FROM photos") == 1


async def test_the_photo_step_in_english(sim: Simulator) -> None:
    school = await make_school(sim)
    school.staff.user["language_code"] = "en"
    await school.staff.send("/inspect")
    await school.staff.tap("教学楼A")
    said = await school.staff.tap("Hazard")
    assert "evidence" in said[-1].text
    assert said[-1].buttons[0][0][0] == "📷 Take / choose a photo"
    await school.staff.tap("Take / choose")
    assert "paper clip" in school.staff.alerts[-1]


async def test_the_fix_photo_step_has_the_button_and_says_why(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "灭火器过期")
    said = await s.staff.tap_data(f"r:fx:{hazard_id}")
    assert "验收销号的凭据" in said[-1].text
    assert said[-1].buttons == [[("📷 拍照 / 选照片", f"cam:f:{hazard_id}")]]


async def test_a_scanned_closed_building_offers_the_photo_button(sim: Simulator) -> None:
    school = await make_school(sim)
    building = await sim.db.value(
        "SELECT id FROM buildings WHERE school_id = ?", (school.school_id,)
    )
    await school.staff.send(f"/start w_{building}")
    async with sim.db.write() as tx:
        await tx.run("UPDATE inspections SET closed_at = ?", (tx.now(),))
    said = await school.principal.send(f"/start w_{building}")
    assert said[-1].buttons == [[("📷 拍照 / 选照片", f"cam:w:{building}")]]
    said = await school.principal.send("这里有问题")
    assert said[-1].buttons == [[("📷 拍照 / 选照片", f"cam:w:{building}")]]
    await school.principal.tap("拍照 / 选照片")
    assert "📎" in school.principal.alerts[-1]
    said = await school.principal.photo(jpeg())
    assert "已收到 1 张照片" in said[-1].text
