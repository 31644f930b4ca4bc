"""Supervision's rights and bad input, through the chat: crafted taps refused, nothing changed."""

from __future__ import annotations

import pytest

from handlers.supervise import (
    AddMissed,
    Answer,
    EndVisit,
    FindingStep,
    Match,
    MissedUse,
    More,
    PauseWalk,
    PickSchool,
    SchoolPage,
    ShowRecord,
    StartVisit,
    WalkBuilding,
)
from tests.conftest import jpeg
from tests.rectify_helpers import report_fix
from tests.simulator import Chat, Simulator
from tests.supervision_helpers import World, draw, start_visit, world

# A supervisor not on this visit: not for their own school, not one already under way.
ELSEWHERE = {"您是该校成员，不能督查本校。", "该校的督查已经开始，不能重复开始。"}
BAD_FLOORS = "请输入 1 到 200 之间的数字。"
BAD_YEAR = "请输入 1800 到 2026 之间的数字。"
REFUSALS = {
    "只有督导组成员可以进行督查。",
    "您不是该次督查的督导员。",
    "您没有权限进行此操作。",
}


async def snapshot(sim: Simulator) -> tuple[object, ...]:
    tables = ("supervision_visits", "supervision_walks", "supervision_answers",
              "supervision_findings", "hazards", "buildings", "events", "outbox")  # fmt: skip
    found = []
    for table in tables:
        rows = await sim.db.all(f"SELECT * FROM {table} ORDER BY id")  # noqa: S608
        found.append([tuple(r) for r in rows])
    return tuple(found)


async def a_visit_with_a_finding(sim: Simulator, w: World) -> dict[str, int]:
    """A started visit whose walk of 教学楼A has a finding at the match question."""
    await start_visit(sim, w)
    await w.sup1.tap("🕵️ 教学楼A")
    await w.sup1.tap("有隐患")
    await w.sup1.photo(jpeg(color="yellow"))
    await w.sup1.tap("照片已发完")
    await w.sup1.send("疏散指示灯不亮")
    await w.sup1.tap("否")
    ids = {
        "visit": await sim.db.value("SELECT id FROM supervision_visits WHERE state = 'started'"),
        "walk": await sim.db.value("SELECT id FROM supervision_walks"),
        "finding": await sim.db.value("SELECT id FROM supervision_findings"),
        "item": await sim.db.value(
            "SELECT item_id FROM supervision_answers ORDER BY id DESC LIMIT 1"
        ),
        "building": await sim.db.value("SELECT id FROM buildings WHERE name = '食堂'"),
    }
    return ids


def crafted(ids: dict[str, int], school_id: int, listed: int) -> list[str]:
    """Every supervision button, aimed at the visit under way."""
    return [
        StartVisit(ids["visit"]).pack(),
        SchoolPage(0).pack(),
        PickSchool(school_id).pack(),
        WalkBuilding(ids["visit"], ids["building"]).pack(),
        Answer(ids["walk"], ids["item"] + 1, "ok").pack(),
        More(ids["walk"], "y").pack(),
        PauseWalk(ids["walk"]).pack(),
        FindingStep(ids["finding"], "major", "y").pack(),
        Match(ids["finding"], 0).pack(),
        Match(ids["finding"], listed).pack(),
        AddMissed(ids["visit"]).pack(),
        MissedUse(ids["visit"], "other").pack(),
        EndVisit(ids["visit"]).pack(),
        ShowRecord(ids["visit"]).pack(),
    ]


@pytest.mark.parametrize("who", ["principal", "staff", "other_principal", "sup2", "sup3"])
async def test_every_supervision_tap_is_refused_to_anyone_not_on_the_visit(
    sim: Simulator, who: str
) -> None:
    w = await world(sim)
    ids = await a_visit_with_a_finding(sim, w)
    chat: Chat = {
        "principal": w.s.principal,
        "staff": w.s.staff,
        "other_principal": w.other.principal,
        "sup2": w.sup2,  # drawn for the visit: on it (see below), so only a stranger here
        "sup3": w.sup3,  # a supervisor who is a member of 实验小学
    }[who]
    if who == "sup2":
        async with sim.db.write() as tx:
            await tx.run("DELETE FROM visit_supervisors WHERE person_id = (SELECT id FROM people"
                         " WHERE name = '督导乙')")  # fmt: skip
    before = await snapshot(sim)
    for data in crafted(ids, w.school_id, w.listed):
        if who.startswith("sup") and data.startswith(("j1:sv_schools", "j1:sv_rec")):
            continue  # supervisors may list schools and read records: not an action on the visit
        said = await chat.tap_data(data)
        assert said == [] or all("督查" not in m.text for m in said), data
        assert chat.alerts[-1] in REFUSALS | ELSEWHERE, (data, chat.alerts[-1])
    assert await snapshot(sim) == before


@pytest.mark.parametrize(
    "data",
    [
        "j1:sv_start",
        "j1:sv_start:1:2",
        "j1:nope:1",
        "j9:sv_start:1",
        "j1:sv_a:1:2:zz",
        "j1:sv_a:x:2:ok",
        "j1:sv_use:1:o.k",  # a str field outside its alphabet
        "j1:sv_start:99999999999999",  # an id, of no visit
        "j1:sv_start:" + "9" * 20,  # past SQLite's integers: not an id
    ],
)
async def test_malformed_callback_data_is_stale_or_refused(sim: Simulator, data: str) -> None:
    w = await world(sim)
    await start_visit(sim, w)
    before = await snapshot(sim)
    await w.sup1.tap_data(data)
    alert = w.sup1.alerts[-1]
    bad_id = alert.startswith("这个按钮的编号（") and alert.endswith(
        "）无效，操作没有执行。请重新打开列表再点。"
    )
    assert bad_id or alert in {"这个问题已经回答过了。", "您没有权限进行此操作。"}
    assert await snapshot(sim) == before


async def test_a_supervisor_cannot_verify_a_fix(sim: Simulator) -> None:
    w = await world(sim)
    await report_fix(w.s.staff, w.listed)
    fix = await sim.db.value("SELECT id FROM fix_reports WHERE hazard_id = ? AND state = "
                             "'submitted'", (w.listed,))  # fmt: skip
    before = await snapshot(sim)
    for chat in (w.sup1, w.sup3):
        await chat.tap_data(f"r:vf:{w.listed}:{fix}")
        assert chat.alerts[-1] == "您没有权限进行此操作。"
    assert await snapshot(sim) == before
    said = await w.sup1.send(f"/hazard_{w.listed}")
    assert not any("验收" in label for m in said for row in m.buttons for label, _ in row)


async def test_a_visit_started_twice_is_refused(sim: Simulator) -> None:
    w = await world(sim)
    await draw(sim)
    w.sup1.new()
    (menu,) = await w.sup1.send("/supervise")
    data = menu.buttons[0][0][1]
    await w.sup1.tap_data(data, menu)
    before = await snapshot(sim)
    await w.sup1.tap_data(data, menu)
    assert w.sup1.alerts[-1] == "该校的督查已经开始，不能重复开始。"
    assert await snapshot(sim) == before


async def test_a_supervisor_who_is_a_member_of_the_school_is_refused_for_it(
    sim: Simulator,
) -> None:
    w = await world(sim)
    await w.sup3.send("/supervise")
    said = await w.sup3.tap("自选学校")
    labels = [label for m in said for row in m.buttons for label, _ in row]
    assert not any("实验小学" in label for label in labels)  # not offered
    before = await snapshot(sim)
    await w.sup3.tap_data(PickSchool(w.school_id).pack())
    assert w.sup3.alerts[-1] == "您是该校成员，不能督查本校。"
    assert await snapshot(sim) == before
    # Another school is fine, chosen by hand, and the record says so.
    said = await w.sup3.tap("第二中学")
    assert "督查第二中学（督查组选定" in said[-1].text
    assert await sim.db.value("SELECT chosen_by FROM supervision_visits") == "by_hand"


async def test_ending_a_visit_with_a_walk_half_done_keeps_it_and_says_so(sim: Simulator) -> None:
    w = await world(sim)
    await start_visit(sim, w)
    await w.sup1.tap("🕵️ 食堂")
    await w.sup1.tap("无隐患")
    await w.sup1.tap("有隐患")
    await w.sup1.photo(jpeg(color="red"))  # the finding is left half given
    await w.sup1.send("/supervise")
    said = await w.sup1.tap("结束督查")
    assert "【食堂】已督查 2/" in said[-1].text and "（未完成）" in said[-1].text
    assert "有 1 栋建筑的督查未完成，已如实记录。" in said[-1].text
    assert "清单外 0" in said[-1].text
    assert await sim.db.value("SELECT COUNT(*) FROM supervision_answers") == 2
    assert await sim.db.value("SELECT state FROM supervision_findings") == "withdrawn"
    actions = [
        r[0]
        for r in await sim.db.all(
            "SELECT action FROM events WHERE action LIKE"
            " 'visit.%' OR action LIKE 'finding.%' OR action LIKE 'supervision_%' ORDER BY id"
        )
    ]
    assert actions == [
        "visit.planned", "visit.planned", "visit.started", "supervision_walk.started",
        "supervision_answer.given", "supervision_answer.given", "finding.started",
        "finding.withdrawn", "visit.ended",
    ]  # fmt: skip
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0
    said = await w.sup1.send("疏散通道堆放桌椅")  # typed after the end: nothing waits for it
    assert "没有看懂这条消息" in said[0].text


async def test_a_qr_code_of_another_schools_building_is_refused(sim: Simulator) -> None:
    w = await world(sim)
    await start_visit(sim, w)
    other_building = await sim.db.value(
        "SELECT b.id FROM buildings b JOIN schools s ON s.id = b.school_id"
        " WHERE s.name = '第二中学'"
    )
    before = await snapshot(sim)
    said = await w.sup1.send(f"/start w_{other_building}")
    assert said[-1].text == "该二维码属于第二中学，不是本次督查的学校（实验小学）。"
    assert await snapshot(sim) == before


async def test_a_scanned_qr_code_starts_the_visit_and_opens_the_buildings_walk(
    sim: Simulator,
) -> None:
    w = await world(sim)
    await draw(sim)
    building = await sim.db.value("SELECT id FROM buildings WHERE name = '食堂'")
    w.sup2.new()
    said = await w.sup2.send(f"/start w_{building}")
    assert "【食堂】台账中的隐患" in said[0].text
    assert "🕵️【食堂】1/" in said[-1].text
    visit = await sim.db.one("SELECT * FROM supervision_visits WHERE state = 'started'")
    assert visit is not None and visit["chosen_by"] == "drawn"
    assert (
        await sim.db.value(
            "SELECT COUNT(*) FROM events WHERE action = 'building.scanned' AND subject_id = ?",
            (building,),
        )
        == 1
    )
    # A school member scanning it still gets the school's own walk.
    said = await w.s.staff.send(f"/start w_{building}")
    assert said[-1].text.startswith("【食堂】本次排查已销号。")


async def test_bad_input_in_a_finding_and_a_missed_building(sim: Simulator) -> None:
    w = await world(sim)
    await start_visit(sim, w)
    await w.sup1.tap("🕵️ 教学楼A")
    await w.sup1.tap("有隐患")
    said = await w.sup1.send("还没拍照")
    assert "请点击下方按钮作答" in said[0].text
    await w.sup1.tap("无照片")
    said = await w.sup1.send("x" * 501)
    assert said[0].text == "内容太长（501 字），最多 500 字。"
    assert await sim.db.value("SELECT description FROM supervision_findings") is None
    await w.sup1.send("消防栓被遮挡")
    await w.sup1.tap("否")
    said = await w.sup1.tap(f"整改不到位 #{w.closed}")  # no photo: cannot be rectified badly
    assert w.sup1.alerts[-1] == "认定整改不到位需要至少一张照片。"
    assert await sim.db.value("SELECT state FROM hazards WHERE id = ?", (w.closed,)) == "closed"
    await w.sup1.tap("清单外")
    await w.sup1.send("/supervise")
    await w.sup1.tap("添加遗漏建筑")
    await w.sup1.send("配电房")
    await w.sup1.tap("其他")
    said = await w.sup1.send("三层")
    assert said[0].text == BAD_FLOORS
    await w.sup1.send("1")
    said = await w.sup1.send("2999")
    assert said[0].text == BAD_YEAR
    assert await sim.db.value("SELECT COUNT(*) FROM buildings WHERE name = '配电房'") == 0
    said = await w.sup1.send("1990")
    assert await sim.db.value("SELECT missed_visit_id FROM buildings WHERE name = '配电房'")


async def test_an_english_supervisor_is_answered_in_english(sim: Simulator) -> None:
    from ledger.roles import Role
    from tests.conftest import cli_invitation, join

    w = await world(sim)
    english = await join(sim, await cli_invitation(sim, Role.SUPERVISOR), "Inspector Li",
                         language="en")  # fmt: skip
    said = await english.send("/supervise")
    assert said[-1].text.startswith("🕵️ Supervision (unannounced")
    await english.tap("Pick a school")
    said = await english.tap("实验小学")
    assert "Visit to 实验小学 (chosen by the team" in said[-1].text
    await w.sup1.send("/supervise")
    await w.sup1.tap("自选学校")
    await w.sup1.tap("第二中学")
    other_visit = await sim.db.value(
        "SELECT v.id FROM supervision_visits v JOIN schools s ON s.id = v.school_id"
        " WHERE s.name = '第二中学'"
    )
    before = await snapshot(sim)
    await english.tap_data(EndVisit(other_visit).pack())
    assert english.alerts[-1] == "You are not a supervisor of this visit."
    await english.tap_data(PickSchool(w.school_id + 0).pack())  # his own visit: shown again
    said = await english.send("/visits")
    assert "实验小学: under way (chosen by the team)" in said[-1].text
    assert await snapshot(sim) == before


async def test_a_journey_left_by_an_older_version_is_forgotten(sim: Simulator) -> None:
    w = await world(sim)
    async with sim.db.write() as tx:
        await tx.run(
            "INSERT INTO pending_inputs (tg_user_id, kind, data, created_at)"
            " VALUES (?, 'supervision_walk', '{}', ?)",
            (w.sup1.user_id, tx.now()),
        )
    said = await w.sup1.send("楼梯间堆放杂物")
    assert said[0].text == "之前的输入已失效，请重新开始。"  # then the text, as from no journey
    assert await sim.db.value("SELECT COUNT(*) FROM pending_inputs") == 0


async def test_a_record_with_many_findings_comes_whole_in_several_messages(
    sim: Simulator,
) -> None:
    """Every finding is listed, in order, in as many messages as Telegram's limit needs;
    the principal gets the same messages in the same order."""
    w = await world(sim)
    await start_visit(sim, w)
    visit = await sim.db.value("SELECT id FROM supervision_visits WHERE state = 'started'")
    sup1 = await sim.db.value("SELECT id FROM people WHERE name = '督导甲'")
    building = await sim.db.value("SELECT id FROM buildings WHERE name = '教学楼A'")
    async with sim.db.write() as tx:
        for n in range(300):
            await tx.run(
                "INSERT INTO supervision_findings (visit_id, building_id, state, kind, description,"
                " hazard_id, found_by, found_at, recorded_at)"
                " VALUES (?, ?, 'recorded', 'listed', ?, ?, ?, ?, ?)",
                (
                    visit,
                    building,
                    f"第{n}处：" + "楼梯间堆放杂物" * 10,
                    w.listed,
                    sup1,
                    tx.now(),
                    tx.now(),
                ),
            )
    said = await w.sup1.send("/supervise")
    said = await w.sup1.tap("结束督查")  # the fake Bot API refuses a text over 4096 units
    parts = [m.text for m in said if "督查记录 · 实验小学" in m.text]
    assert len(parts) > 1 and "清单内 300" in parts[0]
    assert all(part.startswith("📋 督查记录 · 实验小学（续）") for part in parts[1:])
    whole = "\n".join(parts)
    found = [whole.index(f"第{n}处：") for n in range(300)]
    assert found == sorted(found)  # each one, in order
    assert [m.text for m in w.s.principal.new()] == parts
