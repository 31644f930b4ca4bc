"""The lasting mechanism (长效机制): recurring inspections in rounds, and new campaigns."""

from __future__ import annotations

import argparse
import sqlite3
from datetime import date

import pytest

from bot import cli
from ledger.errors import ConfigError
from storage import schedule
from storage.db import Database, migrations
from tests.simulator import Chat, Simulator
from tests.test_reminders import at, campus, given_open_hazard, move_to, send_all


async def walk_building(chat: Chat, name: str = "教学楼A") -> str:
    """Walk a building to its end with nothing found; the last answer's text."""
    said = await chat.send("/inspect")
    said = await chat.tap(name)
    while any("无隐患" in label for row in said[-1].buttons for label, _ in row):
        said = await chat.tap("无隐患")
    said = await chat.tap("否")
    said = await chat.tap("🔒 销号")
    return said[-1].text


def building_button(chat: Chat) -> str:
    return next(label for row in chat.last.buttons for label, _ in row if "教学楼A" in label)


def rounds(chat: Chat) -> list[str]:
    return [m.text for m in chat.new() if m.text.startswith("🔁")]


async def test_a_weekly_inspection_reopens_the_buildings_with_its_reminders(
    sim: Simulator,
) -> None:
    c = await campus(sim)
    principal, leader, staff = c.school.principal, c.leader, c.school.staff
    assert "已销号" in await walk_building(staff)  # the campaign's walk

    said = await principal.send("/reminders")
    setting = next(m for m in said if m.text.startswith("定期检查"))
    assert setting.text.startswith("定期检查：未设置")
    assert setting.buttons == [
        [
            ("每周", f"rr:{c.school.school_id}:week"),
            ("每月", f"rr:{c.school.school_id}:month"),
            ("每学期", f"rr:{c.school.school_id}:term"),
        ]
    ]
    said = await principal.tap("每周")
    assert said[-1].text == "好的，实验小学的定期检查：每周。下一轮从 2026-11-30 开始。"
    row = await sim.db.one("SELECT * FROM recurring_inspections")
    assert (row["every"], row["set_by"], row["stopped_at"]) == ("week", c.ids["principal"], None)

    # The week it was set in: nothing opens (the campaign's walk is this week's).
    await sim.plan()
    await send_all(sim)
    assert await sim.db.value("SELECT COUNT(*) FROM inspection_rounds") == 0
    await staff.send("/inspect")
    assert building_button(staff) == "✅ 教学楼A · 已销号"

    # Monday: a round opens; principal and leader are told; the building is to walk again.
    move_to(sim, at(date(2026, 11, 30)))
    await sim.plan()
    await send_all(sim)
    opened = "🔁 实验小学新一轮定期检查已开始，请在 2026-12-06 前把 1 栋建筑重新排查一遍：/inspect"
    assert rounds(principal) == [opened]
    assert rounds(leader) == [opened]
    assert rounds(staff) == []
    await staff.send("/inspect")
    assert building_button(staff) == "⬜ 教学楼A · 未开始"

    # Three days before its end, still not walked: reminded.
    move_to(sim, at(date(2026, 12, 3)))
    await sim.plan()
    await send_all(sim)
    due = "🔁 实验小学本轮定期检查 2026-12-06 截止，还剩 3 天，1 栋建筑尚未排查：/inspect"
    assert rounds(principal) == [due] and rounds(leader) == [due]

    # Walked: no more round reminders; both walks of the building are kept.
    assert "已销号" in await walk_building(staff)
    for day in (4, 5, 6):
        move_to(sim, at(date(2026, 12, day)))
        await sim.plan()
        await send_all(sim)
        assert rounds(principal) == [] and rounds(leader) == []
    walks = await sim.db.all("SELECT round_id, closed_at FROM inspections ORDER BY id")
    assert [w["round_id"] for w in walks] == [None, 1]
    assert all(w["closed_at"] for w in walks)

    # The next Monday: the next round.
    move_to(sim, at(date(2026, 12, 7)))
    await sim.plan()
    await send_all(sim)
    assert rounds(principal) == [opened.replace("2026-12-06", "2026-12-13")]
    await staff.send("/inspect")
    assert building_button(staff) == "⬜ 教学楼A · 未开始"

    # Stopped: no more rounds.
    said = await principal.send("/reminders")
    setting = next(m for m in said if m.text.startswith("定期检查"))
    assert setting.text.startswith("定期检查：每周（自 11月28日 起）")
    said = await principal.tap("停止")
    assert said[-1].text == "好的，实验小学的定期检查已停止。"
    move_to(sim, at(date(2026, 12, 14)))
    await sim.plan()
    await send_all(sim)
    assert rounds(principal) == []
    assert await sim.db.value("SELECT COUNT(*) FROM inspection_rounds") == 2


async def test_downtime_opens_only_the_current_round(sim: Simulator) -> None:
    c = await campus(sim)
    await c.school.principal.send("/reminders")
    await c.school.principal.tap("每周")
    move_to(sim, at(date(2026, 12, 16)))  # down for two and a half weeks
    await sim.plan()
    await send_all(sim)
    starts = await sim.db.all("SELECT period_start, due FROM inspection_rounds")
    assert [(r["period_start"], r["due"]) for r in starts] == [("2026-12-14", "2026-12-20")]
    assert len(rounds(c.school.principal)) == 1


async def test_only_a_principal_or_leader_sets_a_recurring_inspection(sim: Simulator) -> None:
    c = await campus(sim)
    said = await c.school.staff.send("/reminders")
    assert not any(m.text.startswith("定期检查") for m in said)
    await c.school.staff.tap_data(f"rr:{c.school.school_id}:week")
    assert c.school.staff.alerts
    assert await sim.db.value("SELECT COUNT(*) FROM recurring_inspections") == 0
    # A leader may; a tap on an old button changes nothing.
    await c.leader.send("/reminders")
    await c.leader.tap("每月")
    await c.leader.tap_data(f"rr:{c.school.school_id}:month")
    rows = await sim.db.all("SELECT every, set_by FROM recurring_inspections")
    assert [(r["every"], r["set_by"]) for r in rows] == [("month", c.ids["leader"])]


def new_campaign_args(name: str, **dates: str | None) -> argparse.Namespace:
    return argparse.Namespace(
        name=name,
        self_inspection_due=dates.get("self_inspection_due"),
        rectification_due=dates.get("rectification_due"),
        supervision_due=dates.get("supervision_due"),
    )


async def test_a_new_campaign_reuses_the_school_and_has_its_own_dates(sim: Simulator) -> None:
    c = await campus(sim)
    staff = c.school.staff
    await walk_building(staff)
    old = sim.services.campaign_id
    hazard = await given_open_hazard(
        sim, c.school.school_id, c.ids["staff"], "2026-12-20", c.ids["staff"], "旧隐患"
    )
    out = await cli.cmd_campaign_new(
        sim.config,
        new_campaign_args(
            "2027年春季回头看", self_inspection_due="2026-12-05", rectification_due="2027-01-31"
        ),
    )
    assert out.startswith("campaign 2 started and in force: 2027年春季回头看")
    await sim.restart()
    assert sim.services.campaign_id == 2 != old
    await sim.restart()  # the config still names the old campaign: the new one stays
    assert sim.services.campaign_id == 2
    campaigns = await sim.db.all("SELECT id, in_force, self_inspection_due FROM campaigns")
    assert [tuple(r) for r in campaigns] == [(1, 0, None), (2, 1, "2026-12-05")]

    # Same school, building and people; the building is to be walked in this campaign.
    said = await staff.send("/inspect")
    assert building_button(staff) == "⬜ 教学楼A · 未开始"
    assert "已销号 0/1 栋" in said[-1].text

    # Its phase date brings its own reminder; the old campaign's hazard is still followed.
    move_to(sim, at(date(2026, 11, 28), 10))
    await sim.plan()
    await send_all(sim)
    principal = [m.text for m in c.school.principal.new() if m.text.startswith("📋")]
    assert principal == [
        "📋 2027年春季回头看：自查报告 2026-12-05 截止，还剩 7 天。"
        "实验小学还有 1 栋建筑未完成排查，/inspect 继续排查。"
    ]
    move_to(sim, at(date(2026, 12, 17), 10))
    await sim.plan()
    await send_all(sim)
    assert any(f"/hazard_{hazard}" in m.text for m in staff.new())
    assert [m.text.splitlines()[0] for m in c.school.taskforce.new() if "📌" in m.text] == [
        "📌 2027年春季回头看：自查报告已于 2026-12-05 截止，1 所学校未完成排查（未完成栋数）："
    ]


async def test_a_campaign_name_is_used_once(sim: Simulator) -> None:
    with pytest.raises(ConfigError, match="exists already"):
        await cli.cmd_campaign_new(sim.config, new_campaign_args(sim.config.campaign_name))
    with pytest.raises(ConfigError, match="must be a date"):
        await cli.cmd_campaign_new(sim.config, new_campaign_args("x", supervision_due="soon"))
    assert await sim.db.value("SELECT COUNT(*) FROM campaigns") == 1


async def test_waiting_fixes_nudge_the_leaders(sim: Simulator) -> None:
    c = await campus(sim)
    staff = c.ids["staff"]
    hazard = await given_open_hazard(sim, c.school.school_id, staff, "2026-12-20", staff, "x")
    async with sim.db.write() as tx:  # test helper: a fix reported, as rectification leaves it
        await tx.run(
            "INSERT INTO fix_reports (hazard_id, reported_by, started_at, state, submitted_at)"
            " VALUES (?, ?, ?, 'submitted', ?)",
            (hazard, staff, tx.now(), tx.now()),
        )
        await tx.run("UPDATE hazards SET state = 'submitted' WHERE id = ?", (hazard,))
    for day, expected in (
        (29, []),
        (30, ["· /hazard_1 已等待 2 天"]),
        (1, ["· /hazard_1 已等待 3 天"]),
    ):
        moment = at(date(2026, 11 if day > 1 else 12, day))
        move_to(sim, moment)
        await sim.plan()
        await send_all(sim)
        nudges = [m.text.splitlines() for m in c.leader.new() if m.text.startswith("🔍")]
        if expected:
            assert nudges == [["🔍 实验小学有 1 项整改等待验收已超时，请尽快验收：", *expected]]
        else:
            assert nudges == []


async def test_outbox_command_lists_messages(sim: Simulator, capsys) -> None:
    c = await campus(sim)
    staff = c.ids["staff"]
    await given_open_hazard(sim, c.school.school_id, staff, "2026-11-29", staff, "x")
    await sim.plan()
    sim.api.fail("sendMessage", None, chat_id=c.school.staff.user_id)
    await send_all(sim)
    out = await cli.cmd_outbox(sim.config, "pending", 10)
    lines = out.splitlines()
    assert lines[0].startswith("id  state")
    assert len(lines) == 2
    assert "pending" in lines[1] and "remind.due" in lines[1] and "NetworkError" in lines[1]
    assert "       1" in lines[1]  # attempts
    assert await cli.cmd_outbox(sim.config, "failed", 10) == "no messages in state failed"


async def test_migration_0003_keeps_the_walks_of_an_existing_database(tmp_path, clock) -> None:
    """A database from before rounds: its walks and answers survive the rebuild, the
    campaign in the config becomes the one in force, and a building is walked once per
    campaign and round."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL)"
    )
    for number, name, sql in migrations()[:2]:
        conn.executescript(sql)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 'x')", (number, name))
    conn.executescript(
        "INSERT INTO campaigns VALUES (1, '回头看', NULL, NULL, NULL, 'x');"
        "INSERT INTO people (id, tg_user_id, chat_id, name, phone, joined_at)"
        " VALUES (1, 5, 5, '王', '1', 'x');"
        "INSERT INTO schools VALUES (1, '小学', 'primary', 'public', '', 'x', 1);"
        "INSERT INTO buildings (id, school_id, name, use, floors, created_at)"
        " VALUES (1, 1, 'A', 'teaching', 2, 'x');"
        "INSERT INTO checklist_versions VALUES (1, 'd', 'n', 'x');"
        "INSERT INTO checklist_items VALUES (1, 1, 0, 'F01', 'fire', '', NULL, '中', 'en');"
        "INSERT INTO inspections (id, campaign_id, building_id, checklist_version_id, walker_id,"
        " started_by, started_at, last_activity_at, closed_at) VALUES (7, 1, 1, 1, 1, 1, 'x', 'x',"
        " 'y');"
        "INSERT INTO answers VALUES (1, 7, 1, 'ok', 1, 'x');"
    )
    conn.commit()
    conn.close()
    async with Database(path, clock) as db:
        walk = await db.one("SELECT * FROM inspections")
        assert (walk["id"], walk["round_id"], walk["closed_at"]) == (7, None, "y")
        assert await db.value("SELECT inspection_id FROM answers") == 7
        async with db.write() as tx:
            assert await schedule.campaign_in_force(tx, "回头看", None, None, None) == 1
        assert await db.value("SELECT in_force FROM campaigns") == 1
        with pytest.raises(sqlite3.IntegrityError):
            async with db.write() as tx:
                await tx.run(
                    "INSERT INTO inspections (campaign_id, building_id, checklist_version_id,"
                    " walker_id, started_by, started_at, last_activity_at)"
                    " VALUES (1, 1, 1, 1, 1, 'x', 'x')"
                )


def test_the_command_line(tmp_path, capsys) -> None:
    """``xiaoan outbox`` and ``xiaoan campaign new`` as typed, from a fresh folder."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\ndatabase = "{tmp_path / "x.sqlite3"}"\nphotos = "{tmp_path / "p"}"\n',
        encoding="utf-8",
    )
    assert cli.main(["--config", str(config), "outbox"]) == 0
    assert capsys.readouterr().out == "no messages\n"
    argv = ["--config", str(config), "campaign", "new", "--name", "春季", "--rectification-due"]
    assert cli.main([*argv, "2027-05-31"]) == 0
    assert capsys.readouterr().out.startswith("campaign 2 started and in force: 春季\n")
    assert cli.main([*argv, "2027-05-31"]) == 2
    assert (
        capsys.readouterr().err == "xiaoan: campaign new: a campaign named '春季' exists already\n"
    )
    assert cli.main(["--config", str(config), "outbox", "--limit", "0"]) == 2
    with pytest.raises(SystemExit):
        cli.main(["--config", str(config), "outbox", "--state", "lost"])
