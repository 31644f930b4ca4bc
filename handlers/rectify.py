"""Rectifying (整改) in chat: the buttons and journeys of reporting a fix with after-photos,
verifying or returning it, asking for a later deadline and deciding it, marking a hazard
unfixable and giving it to another colleague.

Every button is a typed record naming its hazard (``VerifyFix(hazard, fix)``); what it
does is a use case in ``cases.rectify``, which checks ``ledger.rectify``'s rules, writes
and queues the notices in one transaction. Here: read the tap or the text, call the case,
say how it went. The rules are checked twice: when the button is tapped, and again when
what it asks for (a photo, a note, a reason, a date) arrives. What the person is typing
for is a stored journey, so a restart loses nothing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from telegram import Document, PhotoSize

from cases import rectify as case
from handlers import evidence
from handlers.base import Button, Ctx, Keyboard, Services
from handlers.buttons import Tap, button
from handlers.hazard import Camera, camera_row, fetch_photo
from handlers.journeys import Journey, begin, journey
from handlers.journeys import load as load_journey
from handlers.named import Card
from handlers.pages import page_line, page_of
from ledger.errors import Stale
from ledger.hazards import Hazard, Photo
from ledger.rectify import Action, Facts
from storage import evidence as evidence_store
from storage import hazards, people
from storage import rectify as store
from storage.ahead import ahead_of
from storage.db import Query, Row, Tx
from storage.photos import StoredPhoto
from texts import LANGUAGES, Html

title = case.title


async def load(ctx: Ctx, hazard_id: int) -> tuple[Hazard, Facts]:
    """The hazard and its facts; refused when it does not exist or is not theirs to see."""
    return await case.load(ctx.reads, ctx.member(), hazard_id)


class _Links:
    """The buttons of rectification's notices, packed as the chat's typed buttons."""

    def card(self, hazard_id: int) -> str:
        return Card(hazard_id).pack()

    def report_fix(self, hazard_id: int) -> str:
        return ReportFix(hazard_id).pack()

    def verify(self, hazard_id: int, fix_id: int) -> str:
        return VerifyFix(hazard_id, fix_id).pack()

    def return_fix(self, hazard_id: int, fix_id: int) -> str:
        return ReturnFix(hazard_id, fix_id).pack()

    def decide(self, hazard_id: int, change_id: int, approve: bool) -> str:
        return DecideExtension(hazard_id, change_id, approve).pack()


LINKS = _Links()


# --- buttons ------------------------------------------------------------------


@button("fix", legacy="r:fx")
@dataclass(frozen=True)
class ReportFix(Tap):
    """The responsible person starts reporting the fix (after-photos, then a note)."""

    hazard_id: int

    def first_reads(self) -> list[Query]:
        return store.facts_queries(self.hazard_id)

    async def tap(self, ctx: Ctx) -> None:
        asked: dict[Query, list[Row]] = {}

        async def waiting(tx: Tx, fix_id: int) -> None:
            state = FixReport(self.hazard_id, fix_id, "photos")
            await begin(tx, ctx.user_id, state)
            asked.update(await _question_reads(tx, state))

        started = await case.start_fix(ctx.actor(), self.hazard_id, LINKS, waiting)
        ctx.ahead.update(asked)
        await ctx.settle()
        if started.replaced is not None:
            await ctx.reply("fix_dropped.replaced", name=started.replaced)
        await FixReport(self.hazard_id, started.fix_id, "photos").again(ctx)


@button("fix_photos_done", legacy="r:fd")
@dataclass(frozen=True)
class FixPhotosDone(Tap):
    """``照片已发完``: the after-photos are all sent; the note is asked next."""

    hazard_id: int
    fix_id: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return [
            *store.facts_queries(self.hazard_id),
            store.fix_report_query(self.fix_id),
            people.pending_query(tg_user_id),
            store.after_photos_query(self.fix_id),
        ]

    async def tap(self, ctx: Ctx) -> None:
        await case.load(ctx.reads, ctx.member(), self.hazard_id)
        fix = await store.fix_report(ctx.reads, self.fix_id)
        waiting = await _waiting_fix(ctx)
        if (
            fix is not None
            and fix.hazard_id == self.hazard_id
            and fix.reported_by == ctx.member().id
            and (waiting is None or waiting.fix_id != self.fix_id)
        ):
            raise Stale()  # their own report, but not the one they are sending photos for
        await _wait_for(
            ctx,
            FixReport(self.hazard_id, self.fix_id, "note"),
            lambda a, w: case.fix_photos_done(a, self.hazard_id, self.fix_id, w),
        )


@button("verify", legacy="r:vf")
@dataclass(frozen=True)
class VerifyFix(Tap):
    """A leader accepts the reported fix: closed (销号)."""

    hazard_id: int
    fix_id: int

    def first_reads(self) -> list[Query]:
        return [*store.facts_queries(self.hazard_id), store.fix_report_query(self.fix_id)]

    async def tap(self, ctx: Ctx) -> None:
        hazard = await case.verify(ctx.actor(), self.hazard_id, self.fix_id)
        await ctx.settle(ctx.t("fix.verified_label"))
        await ctx.reply("fix.verified", title=Html(title(ctx.lang, hazard)))


@button("return", legacy="r:rt")
@dataclass(frozen=True)
class ReturnFix(Tap):
    """A leader sends the reported fix back, with a reason asked next."""

    hazard_id: int
    fix_id: int

    def first_reads(self) -> list[Query]:
        return [*store.facts_queries(self.hazard_id), store.fix_report_query(self.fix_id)]

    async def tap(self, ctx: Ctx) -> None:
        await case.deciding_fix(ctx.actor(), self.hazard_id, self.fix_id, Action.RETURN)
        await _wait_for(ctx, ReturnReason(self.hazard_id, self.fix_id))


@button("extend", legacy="r:ex")
@dataclass(frozen=True)
class AskExtension(Tap):
    """The responsible person asks for a later deadline: the date is asked next."""

    hazard_id: int

    def first_reads(self) -> list[Query]:
        return store.facts_queries(self.hazard_id)

    async def tap(self, ctx: Ctx) -> None:
        await case.acting(ctx.reads, ctx.member(), self.hazard_id, Action.EXTEND)
        await _wait_for(ctx, ExtensionRequest(self.hazard_id))


@button("decide_extension", legacy="r:dx")
@dataclass(frozen=True)
class DecideExtension(Tap):
    """A leader approves or refuses a later deadline asked for."""

    hazard_id: int
    change_id: int
    approve: bool

    def first_reads(self) -> list[Query]:
        return [
            *store.facts_queries(self.hazard_id),
            store.deadline_change_query(self.change_id),
        ]

    async def tap(self, ctx: Ctx) -> None:
        acting = ctx.actor()
        await case.deciding_extension(acting, self.hazard_id, self.change_id)
        if not self.approve:
            await _wait_for(ctx, ExtensionRefusal(self.hazard_id, self.change_id))
            return
        decided = await case.decide_extension(acting, self.hazard_id, self.change_id, None)
        await ctx.reply("extension.approved", **decided.values)
        await ctx.settle(ctx.t("extension.approve"))


@button("unfixable", legacy="r:uf")
@dataclass(frozen=True)
class MarkUnfixable(Tap):
    """A leader: cannot be fixed; the demolition date and the reason are asked next."""

    hazard_id: int

    def first_reads(self) -> list[Query]:
        return store.facts_queries(self.hazard_id)

    async def tap(self, ctx: Ctx) -> None:
        await case.acting(ctx.reads, ctx.member(), self.hazard_id, Action.UNFIXABLE)
        await _wait_for(ctx, UnfixableReport(self.hazard_id))


@button("reassign", legacy="r:ra")
@dataclass(frozen=True)
class Reassign(Tap):
    """A leader gives the hazard to another colleague: the list to pick from."""

    hazard_id: int

    def first_reads(self) -> list[Query]:
        return _reassign_reads(self.hazard_id)

    async def tap(self, ctx: Ctx) -> None:
        text, rows = await _colleagues_page(ctx, self.hazard_id, 1)
        await ctx.settle()
        await ctx.say(text, rows)


@button("reassign_page")
@dataclass(frozen=True)
class ReassignPage(Tap):
    """Another page of the colleagues to give the hazard to, in place."""

    reads_only = in_place = True
    hazard_id: int
    page: int

    def first_reads(self) -> list[Query]:
        return _reassign_reads(self.hazard_id)

    async def tap(self, ctx: Ctx) -> None:
        text, rows = await _colleagues_page(ctx, self.hazard_id, self.page)
        await ctx.edit(text, rows)


def _reassign_reads(hazard_id: int) -> list[Query]:
    """The hazard's facts and its school's colleagues, read ahead with the person."""
    return [*store.facts_queries(hazard_id), people.hazard_colleagues_query(hazard_id)]


async def _colleagues_page(ctx: Ctx, hazard_id: int, number: int) -> tuple[str, Keyboard]:
    """The question and one page of the school's colleagues, a button each."""
    hazard, mates = await case.reassign_choices(ctx.actor(), hazard_id)
    entries = [ReassignTo(hazard.id, mid).labelled(name) for mid, name in mates.items()]
    page = page_of(ctx, entries, number, lambda n: ReassignPage(hazard.id, n))
    lines = [title(ctx.lang, hazard), ctx.t("reassign.pick"), page_line(ctx, page)]
    return "\n".join(filter(None, lines)), page.rows


@button("reassign_to", legacy="r:ra")
@dataclass(frozen=True)
class ReassignTo(Tap):
    """The colleague picked as the new responsible person."""

    hazard_id: int
    person_id: int

    def first_reads(self) -> list[Query]:
        return _reassign_reads(self.hazard_id)

    async def tap(self, ctx: Ctx) -> None:
        done = await case.reassign(ctx.actor(), self.hazard_id, self.person_id, LINKS)
        if not done.changed:
            await ctx.toast("reassign.same", name=done.name)
            return
        await ctx.settle(html.escape(done.name, quote=False))
        await ctx.reply("reassign.done", id=done.hazard.id, name=done.name)


def action_buttons(ctx: Ctx, action: Action, hazard_id: int, facts: Facts) -> list[Button]:
    """The buttons of one action on a hazard's card, as this person reads them."""
    if action is Action.FIX:
        return [ReportFix(hazard_id).labelled(ctx.t("fix.report"))]
    if action in (Action.VERIFY, Action.RETURN):
        assert facts.fix_id is not None
        kind = VerifyFix if action is Action.VERIFY else ReturnFix
        label = "fix.verify" if action is Action.VERIFY else "fix.return"
        return [kind(hazard_id, facts.fix_id).labelled(ctx.t(label))]
    if action is Action.DECIDE:
        assert facts.extension_id is not None
        change = facts.extension_id
        return [
            DecideExtension(hazard_id, change, True).labelled(ctx.t("extension.approve")),
            DecideExtension(hazard_id, change, False).labelled(ctx.t("extension.refuse")),
        ]
    single = {Action.EXTEND: AskExtension, Action.UNFIXABLE: MarkUnfixable}
    kind_of_action = single.get(action, Reassign)
    return [kind_of_action(hazard_id).labelled(ctx.t(f"card.action.{action}"))]


async def _wait_for(ctx: Ctx, state: Journey, check: Any = None) -> None:
    """Store what the person is about to type, and ask for it; ``check`` (a case taking
    the actor and the write of the state) stores it when its rule allows."""

    asked: dict[Query, list[Row]] = {}

    async def waiting(tx: Tx) -> None:
        await begin(tx, ctx.user_id, state)
        # What the question shows, as this transaction leaves it: no read after it.
        asked.update(await _question_reads(tx, state))

    if check is None:
        async with ctx.write() as tx:
            await waiting(tx)
    else:
        await check(ctx.actor(), waiting)
    ctx.ahead.update(asked)
    await ctx.settle()
    await state.again(ctx)


async def _question_reads(tx: Tx, state: Journey) -> dict[Query, list[Row]]:
    """What a rectification question reads (its hazard; a fix's after-photos), read in the
    transaction that starts waiting for its answer."""
    hazard_id = getattr(state, "hazard_id", None)
    if not isinstance(hazard_id, int):
        return {}
    queries = [hazards.hazard_query(hazard_id)]
    if isinstance(state, FixReport):
        queries.append(store.after_photos_query(state.fix_id))
    return ahead_of(queries, await tx.read_many(queries))


async def _head(ctx: Ctx, hazard_id: int) -> Hazard:
    """The hazard a pending question names (gone: the question is stale)."""
    hazard = await hazards.hazard(ctx.reads, hazard_id)
    if hazard is None:
        raise Stale()
    return hazard


async def _waiting_fix(ctx: Ctx) -> FixReport | None:
    """The fix report this person is sending photos or a note for, if any."""
    waiting = await people.pending(ctx.reads, ctx.user_id)
    state = None if waiting is None else load_journey(*waiting)
    return state if isinstance(state, FixReport) else None


# --- reporting a fix ----------------------------------------------------------


async def _store_after(
    ctx: Ctx,
    hazard: Hazard,
    fix_id: int,
    stored: StoredPhoto,
    file_unique_id: str | None,
    reused_of: int | None,
    next_question: FixReport | None = None,
) -> None:
    """Attach an after-photo (``cases.rectify.add_after_photo``) and say so; what
    ``next_question`` shows is read in the same transaction."""
    asked: dict[Query, list[Row]] = {}

    async def reading(tx: Tx) -> None:
        if next_question is not None:
            asked.update(await _question_reads(tx, next_question))

    added = await case.add_after_photo(
        ctx.actor(),
        hazard.id,
        fix_id,
        stored,
        file_unique_id,
        ctx.services.evidence,
        reused_of,
        reading,
    )
    ctx.ahead.update(asked)
    if not added:
        await ctx.reply("fix.same_photo")
    elif reused_of:
        await ctx.reply("evidence.kept")


async def keep_flagged(ctx: Ctx, held: evidence_store.Suspect) -> None:
    """The sender keeps an after-photo that matches one on record: stored flagged."""
    waiting = await _waiting_fix(ctx)
    if waiting is None or waiting.fix_id != held.fix_report_id or waiting.stage == "note":
        raise Stale()
    hazard, _ = await case.acting(ctx.reads, ctx.member(), held.hazard_id, Action.FIX)
    assert held.fix_report_id is not None  # an after-photo is held with its fix report
    await ctx.settle(ctx.t("evidence.keep"))
    await _store_after(
        ctx, hazard, held.fix_report_id, held.photo, held.file_unique_id, held.matches, waiting
    )
    await waiting.again(ctx)


async def _evidence(
    ctx: Ctx, hazard: Hazard, after: list[Photo]
) -> tuple[list[str], dict[str, list[str]]]:
    """What the verifiers see of the after-photos: pairs with photos on record, flags."""
    pairs = await evidence.side_by_side(ctx.db, after)
    days = ctx.services.evidence.after_photo_max_age_days
    flags = {
        lang: await evidence.flag_lines(ctx.db, lang, hazard, after, days) for lang in LANGUAGES
    }
    return pairs, flags


# --- journeys: what the person is typing or sending for ----------------------------


@journey("fix")
@dataclass(frozen=True)
class FixReport(Journey):
    """Reporting a fix: after-photos, then (``stage`` "note") the note that signs it."""

    cancelled = "cancel.fix"
    hazard_id: int
    fix_id: int
    stage: str | None = None

    async def _gone(self, ctx: Ctx) -> bool:
        """Whether the report was dropped meanwhile (another one replaced it): then this
        journey ends here, the person is told, and nothing else happens."""
        if await case.fix_in_making(ctx.db, self.fix_id):
            return False
        async with ctx.write() as tx:
            await people.drop_pending(tx, ctx.member().id, "fix", "fix_id", self.fix_id)
        await ctx.reply("fix_dropped.gone", id=self.hazard_id)
        return True

    async def text(self, ctx: Ctx, text: str) -> None:
        """The note, once the photos are done; before that, photos are asked for."""
        if await self._gone(ctx):
            return
        if self.stage != "note":
            await ctx.reply("fix.photos_first")
            await self.again(ctx)
            return
        submitted = await case.submit_fix(
            ctx.actor(),
            self.hazard_id,
            self.fix_id,
            text,
            LINKS,
            lambda hazard, after: _evidence(ctx, hazard, after),
        )
        key = "verify_by_taskforce.submitted" if submitted.by_taskforce else "fix.submitted"
        await ctx.reply(key, title=Html(title(ctx.lang, submitted.hazard)))

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        """An after-photo; one that copies a photo on record waits (``handlers.evidence``)."""
        if await self._gone(ctx):
            return
        hazard, _ = await case.acting(ctx.db, ctx.member(), self.hazard_id, Action.FIX)
        stored = await fetch_photo(ctx, picture)
        if await evidence.screen(
            ctx, hazard, stored, picture.file_unique_id, "after", fix_report_id=self.fix_id
        ):
            await _store_after(ctx, hazard, self.fix_id, stored, picture.file_unique_id, None, self)
        await self.again(ctx)

    async def again(self, ctx: Ctx) -> None:
        hazard = await _head(ctx, self.hazard_id)
        head = title(ctx.lang, hazard) + "\n"
        count = len(await store.after_photos(ctx.reads, self.fix_id))
        if self.stage == "note":
            await ctx.ask(head + ctx.t("fix.ask_note"))
        elif count:
            done = [[FixPhotosDone(hazard.id, self.fix_id).labelled(ctx.t("fix.photos_done"))]]
            await ctx.ask(head + ctx.t("fix.more_photos", count=count), done)
        else:
            await ctx.ask(
                head + ctx.t("fix.ask_photos") + "\n" + ctx.t("friction.photo.why_fix"),
                [camera_row(ctx, Camera("f", hazard.id))],
            )

    async def cancel(self, ctx: Ctx, tx: Tx) -> None:
        await case.drop_fix(tx, self.fix_id, ctx.member())


@journey("return")
@dataclass(frozen=True)
class ReturnReason(Journey):
    """Why a reported fix goes back (the verifier types it)."""

    hazard_id: int
    fix_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        """The reason: the fix goes back to the responsible person as a task again."""
        returned = await case.return_fix(ctx.actor(), self.hazard_id, self.fix_id, text, LINKS)
        await ctx.reply("fix.returned", id=returned.hazard.id, fixer=returned.fixer)

    async def again(self, ctx: Ctx) -> None:
        hazard = await _head(ctx, self.hazard_id)
        await ctx.ask(title(ctx.lang, hazard) + "\n" + ctx.t("fix.ask_reason"))


@journey("extend")
@dataclass(frozen=True)
class ExtensionRequest(Journey):
    """A later deadline asked for: the date, then (``date`` set) the reason."""

    hazard_id: int
    date: str | None = None

    async def text(self, ctx: Ctx, text: str) -> None:
        """The date (later than the deadline), then the reason: the request goes out."""
        hid = self.hazard_id
        if self.date is None:
            wanted = await case.extension_date(ctx.actor(), hid, text)
            await ctx.confirm_typed(f"extend:{hid}", ctx.day(wanted))
            await _wait_for(ctx, ExtensionRequest(hid, wanted.isoformat()))
            return
        old = await hazards.hazard(ctx.db, hid)
        asked = await case.ask_extension(ctx.actor(), hid, self.date, text, LINKS)
        key = "verify_by_taskforce.extension_asked" if asked.by_taskforce else "extension.asked"
        await ctx.reply(key, old=case.day(old.deadline if old else None), new=asked.new.isoformat())

    async def again(self, ctx: Ctx) -> None:
        await _ask_date_or_reason(ctx, self.kind, self.hazard_id, self.date, "extension")


@journey("refuse")
@dataclass(frozen=True)
class ExtensionRefusal(Journey):
    """Why a later deadline is refused (the leader types it)."""

    hazard_id: int
    change_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        """The reason a later deadline is refused; the asker is told."""
        decided = await case.decide_extension(ctx.actor(), self.hazard_id, self.change_id, text)
        await ctx.reply("extension.refused", **decided.values)

    async def again(self, ctx: Ctx) -> None:
        hazard = await _head(ctx, self.hazard_id)
        await ctx.ask(title(ctx.lang, hazard) + "\n" + ctx.t("extension.ask_refusal"))


@journey("unfixable")
@dataclass(frozen=True)
class UnfixableReport(Journey):
    """A hazard that cannot be fixed: the demolition date, then (``date`` set) the reason."""

    hazard_id: int
    date: str | None = None

    async def text(self, ctx: Ctx, text: str) -> None:
        """A demolition date, then the reason: out of use, the task force is told."""
        hid = self.hazard_id
        if self.date is None:
            due = await case.demolition_date(ctx.actor(), hid, text)
            await ctx.confirm_typed(f"unfixable:{hid}", ctx.day(due))
            await _wait_for(ctx, UnfixableReport(hid, due.isoformat()))
            return
        marked = await case.mark_unfixable(ctx.actor(), hid, self.date, text)
        await ctx.reply(
            "unfixable.done", title=Html(title(ctx.lang, marked.hazard)), **marked.values
        )

    async def again(self, ctx: Ctx) -> None:
        await _ask_date_or_reason(ctx, self.kind, self.hazard_id, self.date, "unfixable")


async def _ask_date_or_reason(
    ctx: Ctx, kind: str, hazard_id: int, date: str | None, topic: str
) -> None:
    """A later deadline's or a demolition's date (typed, confirmed under the question),
    then its reason."""
    hazard = await _head(ctx, hazard_id)
    head = title(ctx.lang, hazard) + "\n"
    if date is not None:
        await ctx.ask(head + ctx.t(f"{topic}.ask_reason"))
        return
    deadline = ctx.day(hazard.deadline) if hazard.deadline else "-"
    await ctx.ask_typed(f"{kind}:{hazard.id}", head + ctx.t(f"{topic}.ask_date", deadline=deadline))
