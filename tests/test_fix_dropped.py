"""Two fix reports for one hazard at once: the one started first is dropped, openly.

A leader may report a fix for a hazard whose responsible person has a report
in the making: that draft is dropped. Its author is told in their own language,
their draft ends (their next message works as usual, no "already answered"
until /cancel), and the drop is in the event log.
"""

from __future__ import annotations

import json

from tests.conftest import join, jpeg, link_code
from tests.rectify_helpers import report, scene
from tests.simulator import Simulator, texts


async def test_the_responsible_persons_draft_is_dropped_and_they_are_told(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "疏散通道堆放杂物")
    staff_id = await sim.db.value("SELECT id FROM people WHERE name = '实验小学王老师'")
    leader_id = await sim.db.value("SELECT id FROM people WHERE name = '实验小学刘主任'")
    # The staff member starts a fix report and sends one after-photo...
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.staff.photo(jpeg(color="green"))
    first = await sim.db.value("SELECT id FROM fix_reports WHERE reported_by = ?", (staff_id,))
    # ... and the leader starts one too.
    said = await s.leader.tap_data(f"r:fx:{hazard_id}")
    assert "实验小学王老师尚未提交的整改上报已作废，改由您上报" in texts(said)
    assert "请拍摄整改后的照片" in said[-1].text

    told = s.staff.new()
    assert len(told) == 1
    assert "实验小学刘主任已开始上报以下隐患的整改" in told[0].text
    assert f"#{hazard_id}【教学楼A】疏散通道堆放杂物" in told[0].text
    assert told[0].buttons == [[("查看详情", f"hc:{hazard_id}")]]
    row = await sim.db.one("SELECT * FROM outbox WHERE kind = 'fix_dropped'")
    assert (row["person_id"], row["key"], row["state"]) == (
        staff_id,
        f"fix_dropped:{first}:{staff_id}",
        "sent",
    )

    # Stored: the draft dropped (its photo kept), the leader's report live, the drop logged.
    fixes = await sim.db.all("SELECT * FROM fix_reports ORDER BY id")
    assert [(f["reported_by"], f["state"]) for f in fixes] == [
        (staff_id, "dropped"),
        (leader_id, "draft"),
    ]
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE fix_report_id = ?", (first,)) == 1
    event = await sim.db.one("SELECT * FROM events WHERE action = 'fix.dropped'")
    assert (event["actor_id"], event["subject_id"]) == (leader_id, hazard_id)
    assert json.loads(event["before"]) == {"fix_id": first, "reported_by": staff_id}
    assert json.loads(event["after"]) == {"replaced_by": fixes[1]["id"]}
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM pending_inputs WHERE tg_user_id = ?", (s.staff.user_id,)
        )
        == 0
    )

    # The staff member's next message works as usual: no "already answered".
    said = await s.staff.send("/tasks")
    assert "疏散通道堆放杂物" in said[-1].text
    said = await s.staff.send("你好")
    assert "没有看懂" in said[0].text and "已经回答过" not in texts(said)
    said = await s.staff.photo(jpeg(color="blue"))
    assert "随手拍" in texts(said)  # a photo now is a quick report again
    # The leader's report goes through.
    await s.leader.photo(jpeg(color="yellow"))
    await s.leader.tap("照片已发完")
    said = await s.leader.send("已清理")
    assert "整改已提交" in said[-1].text
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (hazard_id,)) == "submitted"


async def test_an_old_button_of_the_dropped_draft_changes_nothing(sim: Simulator) -> None:
    s = await scene(sim)
    hazard_id = await report(s.staff, "疏散通道堆放杂物")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    await s.staff.photo(jpeg(color="green"))
    done_button = s.staff.last
    await s.leader.tap_data(f"r:fx:{hazard_id}")
    await s.staff.tap_data(done_button.buttons[0][0][1], done_button)
    assert s.staff.alerts[-1] == "这个问题已经回答过了。"
    fixes = await sim.db.all("SELECT state FROM fix_reports ORDER BY id")
    assert [f["state"] for f in fixes] == ["dropped", "draft"]


async def test_a_draft_dropped_before_this_fix_is_ended_at_the_next_message(sim: Simulator) -> None:
    """A person still waiting on a dropped draft (dropped before the drop cleared it)."""
    s = await scene(sim)
    hazard_id = await report(s.staff, "疏散通道堆放杂物")
    await s.staff.tap_data(f"r:fx:{hazard_id}")
    async with sim.db.write() as tx:
        await tx.run("UPDATE fix_reports SET state = 'dropped'")
    said = await s.staff.photo(jpeg(color="green"))
    assert f"您为隐患 #{hazard_id} 填写的整改上报已作废" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM photos WHERE kind = 'after'") == 0
    said = await s.staff.send("你好")
    assert "没有看懂" in said[0].text


async def test_the_person_is_told_in_their_own_language(sim: Simulator) -> None:
    s = await scene(sim)
    await s.principal.send("/invite")
    await s.principal.tap("分管领导")
    await s.principal.tap("7 天")
    made = await s.principal.tap("1 人")
    english = await join(sim, link_code(made[-1].text), "Li Lei", language="en-US")
    hazard_id = await report(s.staff, "疏散通道堆放杂物")
    await english.tap_data(f"r:fx:{hazard_id}")  # a leader may report a fix too
    english.new()
    said = await s.leader.tap_data(f"r:fx:{hazard_id}")
    assert "Li Lei尚未提交的整改上报已作废" in texts(said)
    (told,) = english.new()
    assert told.text.startswith("✋ 实验小学刘主任 has started reporting the fix of this hazard")
    assert told.buttons == [[("Details", f"hc:{hazard_id}")]]
    said = await english.send("hello")
    assert "already" not in texts(said).lower()
