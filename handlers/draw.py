"""``/draw`` in chat: the task force or a supervisor draws schools and supervisors (双随机).

How many schools, which district and kind, how many supervisors per visit;
then the draw is made as ``xiaoan draw`` makes it, with a new random seed,
and shown with its id so that ``xiaoan draw --verify ID`` can check it.
Nothing is said to any school.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from html import escape

from cases import supervision as case
from handlers.base import Button, Ctx, Services, entry
from handlers.buttons import Tap, button
from handlers.journeys import Journey, begin, journey, load
from handlers.pages import page_line, page_of
from ledger.buildings import SCHOOL_KINDS
from ledger.errors import BadNumber, NotAllowed, Stale
from ledger.supervision import DRAW_MAX, can_draw
from storage import campus, people
from storage.db import Query
from texts import Html


def _count(text: str) -> int:
    value = text.strip()
    if not value.isdecimal() or not 1 <= int(value) <= DRAW_MAX:
        raise BadNumber(low=1, high=DRAW_MAX)
    return int(value)


async def _districts(ctx: Ctx) -> list[str]:
    return await campus.districts(ctx.reads)


def _draw_reads(tg_user_id: int) -> list[Query]:
    """The draw being asked for and the districts, read ahead with the person."""
    return [people.pending_query(tg_user_id), campus.districts_query()]


@entry
async def draw_command(ctx: Ctx) -> None:
    """``/draw``: start the draw's questions."""
    if not can_draw(ctx.member()):
        raise NotAllowed()
    async with ctx.write() as tx:
        await begin(tx, ctx.user_id, DrawForm())
    await DrawForm().again(ctx)


@journey("draw")
@dataclass(frozen=True)
class DrawForm(Journey):
    """The draw's answers so far: schools, then district and kind, then supervisors."""

    schools: int = 0
    district: int = -1  # -1: not answered; 0: every district; n: the n-th, sorted
    school_kind: str = ""  # "": not answered; "all": every kind

    async def text(self, ctx: Ctx, text: str) -> None:
        if not can_draw(ctx.member()):
            raise NotAllowed()
        if not self.schools:
            fresh = replace(self, schools=_count(text))
            async with ctx.write() as tx:
                await begin(tx, ctx.user_id, fresh)
            await fresh.again(ctx)
        elif self.district < 0 or not self.school_kind:
            await super().text(ctx, text)
        else:
            await self.make(ctx, _count(text))

    async def again(self, ctx: Ctx) -> None:
        if not self.schools:
            await ctx.ask(ctx.t("draw.ask_schools"))
        elif self.district < 0:
            await ctx.ask(*await _district_page(ctx, 1))
        elif not self.school_kind:
            rows: list[list[Button]] = [[DrawKind("all").as_button(ctx.t("draw.every_kind"))]]
            rows += [[DrawKind(kind).as_button(ctx.t(f"kind.{kind}"))] for kind in SCHOOL_KINDS]
            await ctx.ask(ctx.t("draw.ask_kind"), rows)
        else:
            await ctx.ask(ctx.t("draw.ask_supervisors"))

    async def make(self, ctx: Ctx, per_visit: int) -> None:
        names = await _districts(ctx)
        districts = [] if self.district == 0 else [names[self.district - 1]]
        kinds = () if self.school_kind == "all" else (self.school_kind,)
        asked = case.DrawAsked(
            ctx.services.campaign_id,
            secrets.token_hex(8),
            self.schools,
            per_visit,
            tuple(districts),
            kinds,
        )
        draw_id, made = await case.draw(ctx.actor(), asked)
        schools = {s.id: s.name for s in made.school_candidates}
        pool = {s.id: s.name for s in made.supervisor_pool}
        lines = [
            ctx.t(
                "draw.line",
                school=schools[v.school_id],
                who="、".join(pool[p] for p in v.supervisor_ids),
            )
            for v in made.visits
        ]
        await ctx.reply(
            "draw.done",
            id=draw_id,
            seed=made.seed,
            candidates=len(made.school_candidates),
            pool=len(made.supervisor_pool),
            lines=Html("\n".join(lines)),
        )


async def _district_page(ctx: Ctx, number: int) -> tuple[str, list[list[Button]]]:
    """The district question: "every district", then a page of the city's districts
    (``handlers.pages``: however many the schools name, each can be chosen)."""
    names = await _districts(ctx)
    entries = [DrawDistrict(n).as_button(escape(name)) for n, name in enumerate(names, 1)]
    page = page_of(ctx, entries, number, DistrictPage, above=1)
    rows = [[DrawDistrict(0).as_button(ctx.t("draw.every_district"))], *page.rows]
    text = "\n".join(filter(None, [ctx.t("draw.ask_district"), page_line(ctx, page)]))
    return text, rows


@button("dr_districts")
@dataclass(frozen=True)
class DistrictPage(Tap):
    """Another page of the districts to draw in, in place."""

    reads_only = in_place = True
    page: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return _draw_reads(tg_user_id)

    async def tap(self, ctx: Ctx) -> None:
        state = await _form(ctx)
        if state.district >= 0:
            raise Stale()
        await ctx.edit(*await _district_page(ctx, self.page))


async def _form(ctx: Ctx) -> DrawForm:
    """The draw being asked for; a tap on an old question is stale."""
    if not can_draw(ctx.member()):
        raise NotAllowed()
    waiting = await people.pending(ctx.reads, ctx.user_id)
    state = load(*waiting) if waiting else None
    if not isinstance(state, DrawForm) or not state.schools:
        raise Stale()
    return state


@button("dr_district")
@dataclass(frozen=True)
class DrawDistrict(Tap):
    index: int  # 0: every district

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return _draw_reads(tg_user_id)

    async def tap(self, ctx: Ctx) -> None:
        form = await _form(ctx)
        names = await _districts(ctx)
        if form.district >= 0:
            raise Stale()
        if self.index > len(names):
            raise NotAllowed()
        fresh = replace(form, district=self.index)
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, fresh)
        await ctx.settle(
            escape(names[self.index - 1]) if self.index else ctx.t("draw.every_district")
        )
        await fresh.again(ctx)


@button("dr_kind")
@dataclass(frozen=True)
class DrawKind(Tap):
    kind: str  # "all": every kind

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return _draw_reads(tg_user_id)

    async def tap(self, ctx: Ctx) -> None:
        form = await _form(ctx)
        if form.district < 0 or form.school_kind:
            raise Stale()
        if self.kind != "all" and self.kind not in SCHOOL_KINDS:
            raise NotAllowed()
        fresh = replace(form, school_kind=self.kind)
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, fresh)
        label = ctx.t("draw.every_kind") if self.kind == "all" else ctx.t(f"kind.{self.kind}")
        await ctx.settle(label)
        await fresh.again(ctx)
