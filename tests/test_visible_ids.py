"""Odd numbers where an id is expected: refused in the person's language, nothing changed.

``²`` passes ``str.isdigit`` and fails ``int``; twenty digits pass ``int`` and
overflow SQLite's INTEGER. Each used to end in a handler's crash ("internal error").
"""

from __future__ import annotations

from ledger.ids import MAX_ID, parse_id
from tests.rectify_helpers import report, scene
from tests.simulator import Simulator

TWENTY = "99999999999999999999"


async def snapshot(sim: Simulator) -> list[tuple]:
    rows = await sim.db.all("SELECT * FROM hazards ORDER BY id")
    events = await sim.db.value("SELECT COUNT(*) FROM events")
    return [tuple(r) for r in rows] + [(events,)]


def test_only_ascii_digits_within_sqlite_integers_are_ids() -> None:
    assert parse_id("12") == 12 and parse_id("0012") == 12
    assert parse_id(str(MAX_ID)) == MAX_ID
    for odd in ("²", "٣", "１２", TWENTY, str(MAX_ID + 1), "-1", "1e3", "10^20", "", " 1"):
        assert parse_id(odd) is None, odd


async def test_hazard_with_a_superscript(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "灭火器过期")
    before = await snapshot(sim)
    said = await s.staff.send("/hazard ²")
    assert said[-1].text == "“²”不是隐患编号。隐患编号是一个数字，例如 /hazard 12。"
    assert await snapshot(sim) == before


async def test_hazard_with_twenty_digits(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "灭火器过期")
    before = await snapshot(sim)
    said = await s.staff.send(f"/hazard {TWENTY}")
    assert said[-1].text == f"“{TWENTY}”不是隐患编号。隐患编号是一个数字，例如 /hazard 12。"
    said = await s.staff.send(f"/hazard_{TWENTY}")
    assert said[-1].text == f"“{TWENTY}”不是隐患编号。隐患编号是一个数字，例如 /hazard 12。"
    assert await snapshot(sim) == before


async def test_hazard_with_twenty_digits_in_english(sim: Simulator) -> None:
    s = await scene(sim)
    english = sim.chat("Ms Li", "en")
    said = await english.send(f"/hazard {TWENTY}")  # not a member: the number is refused first
    assert said[-1].text == (
        f"“{TWENTY}” is not a hazard number. A hazard number is a whole number, e.g. /hazard 12."
    )
    s.staff.user["language_code"] = "en"
    said = await s.staff.send(f"/hazard {TWENTY}")
    assert said[-1].text == (
        f"“{TWENTY}” is not a hazard number. A hazard number is a whole number, e.g. /hazard 12."
    )


async def test_export_ten_to_the_twentieth(sim: Simulator) -> None:
    s = await scene(sim)
    before = await snapshot(sim)
    said = await s.taskforce.send("/export 10^20")
    assert said[-1].text == "“10^20”不是学校编号。学校编号是一个数字，例如 /export 3。"
    assert said[-1].kind == "text"
    said = await s.taskforce.send("/export 100000000000000000000")
    assert said[-1].text == (
        "“100000000000000000000”不是学校编号。学校编号是一个数字，例如 /export 3。"
    )
    assert await snapshot(sim) == before


async def test_export_of_a_school_that_does_not_exist(sim: Simulator) -> None:
    s = await scene(sim)
    said = await s.taskforce.send(f"/export {MAX_ID}")
    assert said[-1].text == f"没有编号为 {MAX_ID} 的学校。"


async def test_a_crafted_button_with_twenty_digits(sim: Simulator) -> None:
    s = await scene(sim)
    await report(s.staff, "灭火器过期")
    before = await snapshot(sim)
    for data in (f"hc:{TWENTY}", f"r:fx:{TWENTY}", f"b:{TWENTY}", f"e:f:{TWENTY}"):
        await s.principal.tap_data(data)
        assert s.principal.alerts[-1] == (
            f"这个按钮的编号（{TWENTY}）无效，操作没有执行。请重新打开列表再点。"
        ), data
    assert await snapshot(sim) == before


async def test_a_crafted_hazard_answer_with_a_superscript(sim: Simulator) -> None:
    s = await scene(sim)
    await s.staff.send("/inspect")
    await s.staff.tap("教学楼A")
    await s.staff.tap("有隐患")
    await s.staff.tap("无照片")
    await s.staff.send("灭火器过期")
    await s.staff.tap("否")
    question = s.staff.messages[-1]
    hazard_id = question.buttons[0][0][1].split(":")[1]
    before = await snapshot(sim)
    await s.staff.tap_data(f"h:{hazard_id}:dl:²")
    assert s.staff.alerts[-1] == "您没有权限进行此操作。"
    await s.staff.tap_data(f"h:{hazard_id}:dl:{TWENTY}")
    assert s.staff.alerts[-1] == "您没有权限进行此操作。"
    assert await snapshot(sim) == before
