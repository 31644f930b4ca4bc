"""The walk (自查): ``/inspect``, a building, one question at a time, close it.

Every tap names what it answers (``a:<walk>:<item>:<choice>``), so a tap on
an old message is recognised as stale, and the walk goes on from what is
stored after any restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers import hazard as hazard_questions
from handlers import when
from handlers.base import Button, Ctx, entry, number, parts, plain, reading
from handlers.i18n import Html
from ledger.errors import AlreadyClosed, NotAllowed, Stale, WalkLocked
from ledger.roles import can_walk, require
from ledger.walk import Choice, Where, can_take_over, coverage, progress_bar
from storage import campus, people, walks
from storage.db import Row
from telegram_rules.fit import fit, room_for

STATE_ICON = {"not_started": "⬜", "in_progress": "🟡", "closed": "✅"}


@reading
async def inspect_command(ctx: Ctx) -> None:
    """``/inspect``: the school's buildings, their states and the coverage."""
    await _start(ctx)


async def _start(ctx: Ctx) -> None:
    """The buildings of one's school, or first which school (people in more than one)."""
    person = ctx.member()
    schools = person.school_ids
    if not schools:
        raise NotAllowed()
    if len(schools) > 1:
        names = {m.school_id: m.school_name for m in person.memberships}
        await ctx.reply("inspect.pick_school", [[(str(names[s]), f"s:{s}")] for s in schools])
        return
    await show_buildings(ctx, schools[0])


@reading
async def inspect_tap(ctx: Ctx) -> None:
    """``in:0``: the button after joining, doing what ``/inspect`` does."""
    await ctx.settle()
    await _start(ctx)


def walk_button(ctx: Ctx) -> list[list[Button]] | None:
    """A button to start walking, for a member of a school (none for city roles)."""
    if ctx.person is None or not ctx.person.school_ids:
        return None  # no markup at all rather than an empty keyboard
    return [[(ctx.t("friction.walk.start"), "in:0")]]


def resume_button(ctx: Ctx, walk: Row) -> list[list[Button]]:
    """A button to go on with a paused walk, where it stopped."""
    return [[(ctx.t("inspect.resume", building=walk["building_name"]), f"b:{walk['building_id']}")]]


@reading
async def pick_school(ctx: Ctx) -> None:
    """A school chosen from the list (people in more than one school)."""
    _, school = parts(ctx.tap_data, 2)
    school_id = number(school)
    require(can_walk(ctx.member(), school_id))
    await ctx.settle()
    await show_buildings(ctx, school_id)


async def show_buildings(ctx: Ctx, school_id: int) -> None:
    person = ctx.member()
    rows = await campus.buildings_with_state(ctx.db, school_id, ctx.services.campaign_id)
    school = await campus.school(ctx.db, school_id)
    assert school is not None
    if not rows:
        await ctx.reply("inspect.no_buildings", school=school["name"])
        return
    cov = coverage([campus.state_of(r) for r in rows])
    buttons: list[list[Button]] = []
    mine = [r for r in rows if r["state"] == "in_progress" and r["walker_id"] == person.id]
    for r in mine:
        buttons.append([(plain(ctx.t("inspect.resume", building=r["name"])), f"b:{r['id']}")])
    for r in rows:
        label = ctx.t(
            f"inspect.state.{r['state']}",
            name=r["name"],
            done=r["answered"],
            total=await _item_count(ctx, r),
        )
        if r["missed_visit_id"] is not None:  # 遗漏建筑: added by a supervision visit
            label = ctx.t("inspect.missed", label=label)
        buttons.append([(f"{STATE_ICON[r['state']]} {plain(label)}", f"b:{r['id']}")])
    await ctx.reply(
        "inspect.list",
        buttons,
        school=school["name"],
        closed=cov.closed,
        total=cov.total,
        in_progress=cov.in_progress,
        bar=progress_bar(cov.closed, cov.total),
    )


async def _item_count(ctx: Ctx, building: Row) -> int:
    version = ctx.services.checklist_version_id
    if building["inspection_id"] is not None:
        walk = await walks.inspection(ctx.db, building["inspection_id"])
        assert walk is not None
        version = walk["checklist_version_id"]
    return len(await campus.items_for_building(ctx.db, version, building))


@entry
async def open_building(ctx: Ctx) -> None:
    """A building tapped: start its walk, go on with one's own, or meet the lock."""
    _, raw = parts(ctx.tap_data, 2)
    await open_walk(ctx, number(raw))


async def open_walk(ctx: Ctx, building_id: int) -> None:
    person = ctx.member()
    building = await campus.building(ctx.db, building_id)
    if building is None or not can_walk(person, building["school_id"]):
        raise NotAllowed()
    campaign = ctx.services.campaign_id
    query = ctx.update.callback_query
    try:
        async with ctx.write() as tx:
            walk = await walks.inspection_of(tx, campaign, building_id)
            if walk is None:
                walk_id = await walks.start_inspection(
                    tx,
                    campaign_id=campaign,
                    building_id=building_id,
                    version_id=ctx.services.checklist_version_id,
                    walker_id=person.id,
                )
            else:
                _check_walkable(ctx, walk)
                walk_id = walk["id"]
            await people.set_pending(tx, ctx.user_id, "walk", {"inspection_id": walk_id})
    except WalkLocked as locked:
        await _tell_locked(ctx, locked)
        return
    if query:
        await ctx.answer_tap()
    await ask_current(ctx, walk_id)


async def _tell_locked(ctx: Ctx, locked: WalkLocked) -> None:
    """Who is walking the building; a take-over button once their walk is idle."""
    walker = await people.person_by_id(ctx.db, locked.params["walker"])
    reason = locked.params["reason"]
    keyboard = (
        [[(ctx.t("walk.take_over"), f"t:{locked.params['walk']}")]] if reason == "idle" else None
    )
    if ctx.update.callback_query:
        await ctx.answer_tap()
    last = when.local(locked.params["last"], ctx.services.clock.tz)
    free_at = last + timedelta(minutes=ctx.services.takeover_after_minutes)
    minutes = int(locked.params["minutes"])
    await ctx.reply(
        f"friction.walk.locked_{reason}",
        keyboard,
        building=locked.params["building"],
        walker=walker.name if walker else "?",
        last=ctx.moment(last),
        ago=ctx.t("friction.walk.just_now")
        if minutes < 1
        else ctx.t("friction.walk.ago", minutes=minutes),
        free_at=ctx.moment(free_at)
        if free_at.date() != last.date()
        else when.time_text(free_at, ctx.services.clock.tz),
    )


def _check_walkable(ctx: Ctx, walk: Row) -> None:
    """Refuse a closed building, or one somebody else is walking (unless idle)."""
    person = ctx.member()
    if walk["closed_at"] is not None:
        raise AlreadyClosed(building=walk["building_name"], date=ctx.moment(walk["closed_at"]))
    if walk["walker_id"] == person.id:
        return
    last = datetime.fromisoformat(walk["last_activity_at"])
    minutes = int((ctx.now() - last).total_seconds() // 60)
    reason = (
        "idle" if can_take_over(last, ctx.now(), ctx.services.takeover_after_minutes) else "busy"
    )
    raise WalkLocked(
        reason=reason,
        building=walk["building_name"],
        walk=walk["id"],
        walker=walk["walker_id"],
        minutes=minutes,
        last=walk["last_activity_at"],
    )


@entry
async def take_over(ctx: Ctx) -> None:
    """``t:<walk>``: take over a walk left idle long enough."""
    _, raw = parts(ctx.tap_data, 2)
    person = ctx.member()
    walk = await walks.inspection(ctx.db, number(raw))
    if walk is None or not can_walk(person, walk["school_id"]):
        raise NotAllowed()
    try:
        async with ctx.write() as tx:
            walk = await walks.inspection(tx, walk["id"])
            assert walk is not None
            try:
                _check_walkable(ctx, walk)
            except WalkLocked as locked:
                if locked.params["reason"] != "idle":
                    raise
                await walks.take_over(tx, walk["id"], walk["walker_id"], person.id)
            await people.set_pending(tx, ctx.user_id, "walk", {"inspection_id": walk["id"]})
    except WalkLocked as locked:  # busy again since the button was shown: who, and until when
        await _tell_locked(ctx, locked)
        return
    await ctx.settle()
    await ask_current(ctx, walk["id"])


async def ask_current(ctx: Ctx, walk_id: int) -> None:
    """Ask whatever the walk waits for now."""
    walk = await walks.inspection(ctx.db, walk_id)
    assert walk is not None
    where, items = await walks.walk_position(ctx.db, walk)
    building = walk["building_name"]
    if where.where is Where.HAZARD:
        assert where.hazard_id is not None
        hazard = await walks.hazard(ctx.db, where.hazard_id)
        assert hazard is not None
        await hazard_questions.ask(ctx, hazard)
    elif where.where is Where.ITEM:
        item = items[where.index]
        data = f"a:{walk_id}:{item['id']}"
        await ctx.ask(
            ctx.t(
                "walk.question",
                building=building,
                n=where.index + 1,
                total=len(items),
                code=item["code"],
                text=item["text_en"] if ctx.lang == "en" else item["text_zh"],
            ),
            [
                [(ctx.t("walk.ok"), f"{data}:ok"), (ctx.t("walk.hazard"), f"{data}:hz")],
                [(ctx.t("walk.na"), f"{data}:na"), (ctx.t("walk.pause"), f"p:{walk_id}")],
            ],
        )
    elif where.where is Where.EXTRA:
        await ctx.ask(
            ctx.t("walk.extra", building=building),
            [[(ctx.t("button.yes"), f"x:{walk_id}:y"), (ctx.t("button.no"), f"x:{walk_id}:n")]],
        )
    elif where.where is Where.SUMMARY:
        await _summary(ctx, walk, len(items))
    else:
        await ctx.reply("walk.closed", building=building)


async def _summary(ctx: Ctx, walk: Row, total: int) -> None:
    """The building's summary with its close button: every hazard listed (clipped) as far as
    one message holds, the rest counted, so that the close button is always sent."""
    given = list((await walks.answers(ctx.db, walk["id"])).values())
    found = await walks.hazards_of_inspection(ctx.db, walk["id"])
    lines = [
        f"{n}. {hazard_questions.summary(ctx, h, listed=True)}"
        for n, h in enumerate(found, start=1)
    ]

    def text(listed: list[str]) -> str:
        return ctx.t(
            "walk.summary",
            building=walk["building_name"],
            total=total,
            ok=given.count(Choice.OK.value),
            na=given.count(Choice.NA.value),
            hazards=len(found),
            lines=Html("\n".join(listed) if listed else ctx.t("walk.no_hazards")),
        )

    def more(count: int) -> str:
        return ctx.t("visible.more_hazards", count=count)

    await ctx.ask(
        text(fit(lines, room_for(text([])), more)),
        [[(ctx.t("walk.close"), f"c:{walk['id']}")]],
    )


async def _my_walk(ctx: Ctx, walk_id: int) -> Row:
    """The walk a tap names, which must be this person's and still open.

    A colleague's walk is not theirs to answer (not allowed, even once closed); one
    they held until someone took it over says so; their own closed walk is stale.
    """
    person = ctx.member()
    walk = await walks.inspection(ctx.db, walk_id)
    if walk is None or not can_walk(person, walk["school_id"]):
        raise NotAllowed()
    if walk["walker_id"] != person.id:
        if not await walks.ever_walked_by(ctx.db, walk["id"], person.id):
            raise NotAllowed()
        if walk["closed_at"] is None:
            raise WalkLocked(reason="taken", building=walk["building_name"])
    if walk["closed_at"] is not None:
        raise Stale()
    return walk


@entry
async def answer(ctx: Ctx) -> None:
    """``a:<walk>:<item>:<choice>``: no hazard, hazard or not applicable."""
    _, raw_walk, raw_item, raw_choice = parts(ctx.tap_data, 4)
    walk = await _my_walk(ctx, number(raw_walk))
    item_id = number(raw_item)
    if raw_choice not in {c.value for c in Choice}:
        raise NotAllowed()
    choice = Choice(raw_choice)
    where, items = await walks.walk_position(ctx.db, walk)
    if item_id not in {i["id"] for i in items}:
        raise NotAllowed()
    if where.where is not Where.ITEM or items[where.index]["id"] != item_id:
        raise Stale()  # one question at a time: only the current one is answered
    person = ctx.member()
    async with ctx.write() as tx:
        if not await walks.record_answer(tx, walk["id"], item_id, choice, person.id):
            raise Stale()
        if choice is Choice.HAZARD:
            await walks.create_walk_hazard(tx, walk, item_id, person.id)
        await people.set_pending(tx, ctx.user_id, "walk", {"inspection_id": walk["id"]})
    await ctx.settle(ctx.t(f"walk.{choice.name.lower()}"))
    await ask_current(ctx, walk["id"])


@entry
async def pause(ctx: Ctx) -> None:
    """``p:<walk>``: stop for now; ``/inspect`` goes on at the same question."""
    _, raw = parts(ctx.tap_data, 2)
    walk = await _my_walk(ctx, number(raw))
    async with ctx.write() as tx:
        await people.clear_pending(tx, ctx.user_id)
    await ctx.settle(ctx.t("walk.pause"))
    await ctx.reply("walk.paused", resume_button(ctx, walk), building=walk["building_name"])


@entry
async def other_hazard(ctx: Ctx) -> None:
    """``x:<walk>:y|n``: any other hazard in this building?"""
    _, raw, yes_no = parts(ctx.tap_data, 3)
    walk = await _my_walk(ctx, number(raw))
    where, _ = await walks.walk_position(ctx.db, walk)
    if where.where is not Where.EXTRA or yes_no not in ("y", "n"):
        raise Stale()
    person = ctx.member()
    async with ctx.write() as tx:
        if yes_no == "y":
            await walks.create_walk_hazard(tx, walk, None, person.id)
        else:
            await walks.set_extra_done(tx, walk["id"], person.id)
        await people.set_pending(tx, ctx.user_id, "walk", {"inspection_id": walk["id"]})
    await ctx.settle(ctx.t("button.yes" if yes_no == "y" else "button.no"))
    await ask_current(ctx, walk["id"])


@entry
async def close_building(ctx: Ctx) -> None:
    """``c:<walk>``: close the building (销号) after the summary."""
    _, raw = parts(ctx.tap_data, 2)
    walk = await _my_walk(ctx, number(raw))
    where, _ = await walks.walk_position(ctx.db, walk)
    if where.where is not Where.SUMMARY:
        raise Stale()
    person = ctx.member()
    async with ctx.write() as tx:
        if not await walks.close_inspection(tx, walk["id"], person.id):
            raise Stale()
        await people.clear_pending(tx, ctx.user_id)
    await ctx.settle(ctx.t("walk.close"))
    rows = await campus.buildings_with_state(ctx.db, walk["school_id"], walk["campaign_id"])
    cov = coverage([campus.state_of(r) for r in rows])
    await ctx.reply(
        "walk.closed_now",
        building=walk["building_name"],
        closed=cov.closed,
        total=cov.total,
        bar=progress_bar(cov.closed, cov.total),
    )
