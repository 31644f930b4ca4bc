"""Rectifying (整改): report a fix with after-photos, verify or return it, change deadlines.

Every button is a typed record naming its hazard (``VerifyFix(hazard, fix)``);
the action's rules live in
``ledger.rectify`` and are checked twice: when the button is tapped, and again
when what it asks for (a photo, a note, a reason, a date) arrives, since the
hazard may have moved on in between. What the person is typing for is a
stored pending input, so a restart loses nothing.

People told on the bot's own initiative (the verifiers, the responsible
person, the principal and the task force) are told through the outbox.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from telegram import Document, PhotoSize

from handlers import evidence, named, notify
from handlers.base import ALBUM_MAX, Button, Ctx, Keyboard
from handlers.buttons import Tap, button
from handlers.hazard import Camera, camera_row, fetch_photo
from handlers.i18n import DEFAULT, LANGUAGES, Html, t
from handlers.journeys import Journey, begin, journey
from handlers.named import Card
from ledger.buildings import TEXT_MAX, clean_text
from ledger.dates import parse_date
from ledger.errors import NeedPhoto, NotAllowed, Stale
from ledger.evidence import after_photo_flag
from ledger.rectify import (
    Action,
    Facts,
    check_extension,
    entitled,
    may_see,
    taskforce_verifies,
    transition,
    verifiers,
)
from ledger.roles import Role
from storage import evidence as evidence_store
from storage import people, walks
from storage import rectify as store
from storage.db import Row, Tx
from storage.photos import StoredPhoto
from telegram_rules.fit import clip


async def load(ctx: Ctx, hazard_id: int) -> tuple[Row, Facts]:
    """The hazard and its facts; refused when it does not exist or is not theirs to see."""
    found = await store.facts(ctx.db, hazard_id)
    if found is None or not may_see(ctx.member(), found[1]):
        raise NotAllowed()
    return found


def title(lang: str, hazard: Row, description_units: int | None = None) -> str:
    """``#12【教学楼A】`` and the description, as every message names a hazard; in a list
    the description is clipped to ``description_units`` (UTF-16 units)."""
    description = hazard["description"] or ""
    if description_units is not None:
        description = clip(description, description_units)
    return t(
        lang,
        "rectify.title",
        id=hazard["id"],
        building=hazard["building_name"] or "?",
        description=description,
    )


def about(hazard: Row, key: str, buttons: Keyboard = (), **values: Any) -> notify.Render:
    """A notice about a hazard: the text ``key`` with the hazard's title, and buttons
    given as (text key, callback data), all in the recipient's language."""

    def render(lang: str) -> tuple[str, Keyboard]:
        text = t(lang, key, title=Html(title(lang, hazard)), **values)
        return text, [[(t(lang, label), data) for label, data in row] for row in buttons]

    return render


# --- buttons ------------------------------------------------------------------


async def _entitled(ctx: Ctx, hazard_id: int, action: Action) -> tuple[Row, Facts]:
    """The hazard a button names; someone else's action is refused as such, before
    any "already answered"."""
    hazard, facts = await load(ctx, hazard_id)
    if not entitled(ctx.member(), action, facts):
        raise NotAllowed()
    return hazard, facts


async def _acting(ctx: Ctx, hazard_id: int, action: Action) -> tuple[Row, Facts]:
    """The hazard a button names, and the person allowed to take this action on it now."""
    hazard, facts = await _entitled(ctx, hazard_id, action)
    transition(ctx.member(), action, facts)
    return hazard, facts


@button("fix", legacy="r:fx")
@dataclass(frozen=True)
class ReportFix(Tap):
    """The responsible person starts reporting the fix (after-photos, then a note)."""

    hazard_id: int

    async def tap(self, ctx: Ctx) -> None:
        hazard, facts = await _entitled(ctx, self.hazard_id, Action.FIX)
        await _start_fix(ctx, hazard, facts)


@button("fix_photos_done", legacy="r:fd")
@dataclass(frozen=True)
class FixPhotosDone(Tap):
    """``照片已发完``: the after-photos are all sent."""

    hazard_id: int
    fix_id: int

    async def tap(self, ctx: Ctx) -> None:
        hazard, _ = await load(ctx, self.hazard_id)
        await _photos_done(ctx, hazard, self.fix_id)


@button("verify", legacy="r:vf")
@dataclass(frozen=True)
class VerifyFix(Tap):
    """A leader accepts the reported fix: closed (销号)."""

    hazard_id: int
    fix_id: int

    async def tap(self, ctx: Ctx) -> None:
        hazard, facts = await _entitled(ctx, self.hazard_id, Action.VERIFY)
        await _decide_fix(ctx, hazard, facts, Action.VERIFY, self.fix_id)


@button("return", legacy="r:rt")
@dataclass(frozen=True)
class ReturnFix(Tap):
    """A leader sends the reported fix back, with a reason asked next."""

    hazard_id: int
    fix_id: int

    async def tap(self, ctx: Ctx) -> None:
        hazard, facts = await _entitled(ctx, self.hazard_id, Action.RETURN)
        await _decide_fix(ctx, hazard, facts, Action.RETURN, self.fix_id)


@button("extend", legacy="r:ex")
@dataclass(frozen=True)
class AskExtension(Tap):
    """The responsible person asks for a later deadline: the date is asked next."""

    hazard_id: int

    async def tap(self, ctx: Ctx) -> None:
        await _acting(ctx, self.hazard_id, Action.EXTEND)
        await _wait_for(ctx, ExtensionRequest(self.hazard_id))


@button("decide_extension", legacy="r:dx")
@dataclass(frozen=True)
class DecideExtension(Tap):
    """A leader approves or refuses a later deadline asked for."""

    hazard_id: int
    change_id: int
    approve: bool

    async def tap(self, ctx: Ctx) -> None:
        hazard, facts = await _entitled(ctx, self.hazard_id, Action.DECIDE)
        await _decide_extension(ctx, hazard, facts, self.change_id, self.approve)


@button("unfixable", legacy="r:uf")
@dataclass(frozen=True)
class MarkUnfixable(Tap):
    """A leader: cannot be fixed; the demolition date and the reason are asked next."""

    hazard_id: int

    async def tap(self, ctx: Ctx) -> None:
        await _acting(ctx, self.hazard_id, Action.UNFIXABLE)
        await _wait_for(ctx, UnfixableReport(self.hazard_id))


@button("reassign", legacy="r:ra")
@dataclass(frozen=True)
class Reassign(Tap):
    """A leader gives the hazard to another colleague: the list to pick from."""

    hazard_id: int

    async def tap(self, ctx: Ctx) -> None:
        hazard, facts = await _entitled(ctx, self.hazard_id, Action.REASSIGN)
        await _reassign(ctx, hazard, facts, None)


@button("reassign_to", legacy="r:ra")
@dataclass(frozen=True)
class ReassignTo(Tap):
    """The colleague picked as the new responsible person."""

    hazard_id: int
    person_id: int

    async def tap(self, ctx: Ctx) -> None:
        hazard, facts = await _entitled(ctx, self.hazard_id, Action.REASSIGN)
        await _reassign(ctx, hazard, facts, self.person_id)


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


async def _wait_for(ctx: Ctx, state: Journey) -> None:
    """Store what the person is about to type, and ask for it."""
    async with ctx.write() as tx:
        await begin(tx, ctx.user_id, state)
    await ctx.settle()
    await state.again(ctx)


async def ask_again(ctx: Ctx, kind: str, data: dict[str, Any]) -> None:
    """The question for a pending input of this module (after a restart, or bad input)."""
    hazard = await walks.hazard(ctx.db, data["hazard_id"])
    if hazard is None:
        raise Stale()
    head = title(ctx.lang, hazard) + "\n"
    if kind == "fix":
        count = len(await store.after_photos(ctx.db, data["fix_id"]))
        if data.get("stage") == "note":
            await ctx.ask(head + ctx.t("fix.ask_note"))
        elif count:
            done = [
                [FixPhotosDone(hazard["id"], data["fix_id"]).labelled(ctx.t("fix.photos_done"))]
            ]
            await ctx.ask(head + ctx.t("fix.more_photos", count=count), done)
        else:
            await ctx.ask(
                head + ctx.t("fix.ask_photos") + "\n" + ctx.t("friction.photo.why_fix"),
                [camera_row(ctx, Camera("f", hazard["id"]))],
            )
    elif kind == "return":
        await ctx.ask(head + ctx.t("fix.ask_reason"))
    elif kind == "refuse":
        await ctx.ask(head + ctx.t("extension.ask_refusal"))
    elif "date" in data:  # extend, unfixable: the date is given, the reason is next
        await ctx.ask(head + ctx.t(f"{_TOPIC[kind]}.ask_reason"))
    else:
        deadline = ctx.day(hazard["deadline"]) if hazard["deadline"] else "-"
        text = head + ctx.t(f"{_TOPIC[kind]}.ask_date", deadline=deadline)
        await ctx.ask_typed(f"{kind}:{hazard['id']}", text)


_TOPIC = {"extend": "extension", "unfixable": "unfixable"}


# --- reporting a fix ----------------------------------------------------------


async def _start_fix(ctx: Ctx, hazard: Row, facts: Facts) -> None:
    """The responsible person starts a fix report: after-photos first."""
    person = ctx.member()
    transition(person, Action.FIX, facts)
    hid = hazard["id"]
    async with ctx.write() as tx:
        fix_id, dropped = await store.start_fix(tx, hid, person.id)
        state = FixReport(hid, fix_id, "photos")
        await begin(tx, ctx.user_id, state)
        if dropped is not None:
            # Their draft is gone: their next message must not feed it, and they are told.
            await people.drop_pending(tx, dropped["reported_by"], "fix", "fix_id", dropped["id"])
            await notify.tell(
                tx,
                await people.by_ids(tx, dropped["reported_by"]),
                key=f"fix_dropped:{dropped['id']}",
                kind="fix_dropped",
                render=about(
                    hazard,
                    "fix_dropped.notice",
                    [[("card.open", Card(hid).pack())]],
                    name=person.name,
                ),
            )
    await ctx.settle()
    if dropped is not None:
        other = await people.person_by_id(ctx.db, dropped["reported_by"])
        await ctx.reply("fix_dropped.replaced", name=other.name if other else "?")
    await state.again(ctx)


async def _draft_gone(ctx: Ctx, data: dict[str, Any]) -> bool:
    """Whether the person's fix report was dropped meanwhile (another one replaced it):
    then their pending input ends here, they are told, and nothing else happens."""
    report = await store.fix_report(ctx.db, data["fix_id"])
    if report is not None and report["state"] == "draft":
        return False
    async with ctx.write() as tx:
        await people.drop_pending(tx, ctx.member().id, "fix", "fix_id", data["fix_id"])
    await ctx.reply("fix_dropped.gone", id=data["hazard_id"])
    return True


async def on_photo(ctx: Ctx, data: dict[str, Any], picture: PhotoSize | Document) -> None:
    """An after-photo for the fix being reported; one that copies a photo on record waits."""
    if await _draft_gone(ctx, data):
        return
    person = ctx.member()
    hazard, facts = await load(ctx, data["hazard_id"])
    transition(person, Action.FIX, facts)
    stored = await fetch_photo(ctx, picture)
    if await evidence.screen(
        ctx, hazard, stored, picture.file_unique_id, "after", fix_report_id=data["fix_id"]
    ):
        await _store_after(ctx, hazard, data["fix_id"], stored, picture.file_unique_id, None)
    await ask_again(ctx, "fix", data)


async def _store_after(
    ctx: Ctx,
    hazard: Row,
    fix_id: int,
    stored: StoredPhoto,
    file_unique_id: str | None,
    reused_of: int | None,
) -> None:
    """Attach an after-photo, flagged by what its capture time says (ledger.evidence)."""
    clock = ctx.services.clock
    flag = after_photo_flag(
        stored.taken_at, hazard["reported_at"], clock.now(), ctx.services.evidence, clock.tz
    )
    async with ctx.write() as tx:
        added = await walks.add_photo(
            tx,
            hazard["id"],
            stored,
            ctx.member().id,
            file_unique_id,
            kind="after",
            fix_report_id=fix_id,
            reused_of=reused_of,
            time_flag=flag,
        )
        await evidence_store.release(tx, ctx.user_id)
    if not added:
        await ctx.reply("fix.same_photo")
    elif reused_of:
        await ctx.reply("evidence.kept")


async def keep_flagged(ctx: Ctx, held: evidence_store.Suspect) -> None:
    """The sender keeps an after-photo that matches one on record: stored flagged."""
    waiting = await people.pending(ctx.db, ctx.user_id)
    if (
        waiting is None
        or waiting[0] != "fix"
        or waiting[1]["fix_id"] != held.fix_report_id
        or waiting[1].get("stage") == "note"
    ):
        raise Stale()
    hazard, facts = await load(ctx, held.hazard_id)
    transition(ctx.member(), Action.FIX, facts)
    assert held.fix_report_id is not None  # an after-photo is held with its fix report
    await ctx.settle(ctx.t("evidence.keep"))
    await _store_after(
        ctx, hazard, held.fix_report_id, held.photo, held.file_unique_id, held.matches
    )
    await ask_again(ctx, "fix", waiting[1])


async def _photos_done(ctx: Ctx, hazard: Row, fix_id: int) -> None:
    """``照片已发完``: at least one after-photo, then the note."""
    fix = await store.fix_report(ctx.db, fix_id)
    if fix is None or fix["hazard_id"] != hazard["id"] or fix["reported_by"] != ctx.member().id:
        raise NotAllowed()
    waiting = await people.pending(ctx.db, ctx.user_id)
    if waiting is None or waiting[0] != "fix" or waiting[1]["fix_id"] != fix_id:
        raise Stale()
    if not await store.after_photos(ctx.db, fix_id):
        raise NeedPhoto()
    await _wait_for(ctx, FixReport(hazard["id"], fix_id, "note"))


async def _submit_fix(ctx: Ctx, data: dict[str, Any], text: str) -> None:
    """The note: the fix is reported (the responsible person's signature)."""
    person = ctx.member()
    hazard, facts = await load(ctx, data["hazard_id"])
    transition(person, Action.FIX, facts)
    note = clean_text(text, TEXT_MAX)
    after = await store.after_photos(ctx.db, data["fix_id"])
    if not after:
        raise NeedPhoto()
    before = [p for p in await store.photos_of(ctx.db, hazard["id"]) if p["kind"] == "before"]
    # The album: a flagged photo beside the one on record it copies, then before and
    # after side by side, at most five of each; ten in all (Telegram's limit).
    pairs = await evidence.side_by_side(ctx.db, after)
    plain = [p["sha256"] for p in before[:5]] + [p["sha256"] for p in after[:5]]
    album = list(dict.fromkeys(pairs + plain))[:ALBUM_MAX]
    hid, fid = hazard["id"], data["fix_id"]
    flags = {
        lang: await evidence.flag_lines(
            ctx.db, lang, hazard, after, ctx.services.evidence.after_photo_max_age_days
        )
        for lang in LANGUAGES
    }
    base = about(
        hazard,
        "fix.to_verifier",
        [
            [
                ("fix.verify", VerifyFix(hid, fid).pack()),
                ("fix.return", ReturnFix(hid, fid).pack()),
            ],
            [("card.open", Card(hid).pack())],
        ],
        fixer=person.name,
        note=note,
        before=len(before),
        after=len(after),
    )

    def flagged(lang: str) -> tuple[str, Keyboard]:
        text, buttons = base(lang)
        lines = flags.get(lang, flags[DEFAULT])
        return ("\n".join([text, *lines]) if lines else text), buttons

    render: notify.Render = flagged
    by_taskforce = taskforce_verifies(person.id, facts.managers)
    if by_taskforce:  # nobody at the school may verify: the task force is asked, and says so
        render = _to_taskforce(hazard, render, "verify_by_taskforce.to_taskforce")
    async with ctx.write() as tx:
        await store.submit_fix(tx, hid, fid, person.id, note)
        await people.clear_pending(tx, ctx.user_id)
        await notify.tell(
            tx,
            await _second_signers(tx, person.id, facts),
            key=f"fix:{fid}",
            kind="fix_submitted",
            render=render,
            photos=album,
            skip=person.id,
        )
    submitted = "verify_by_taskforce.submitted" if by_taskforce else "fix.submitted"
    await ctx.reply(submitted, title=Html(title(ctx.lang, hazard)))


def _to_taskforce(hazard: Row, render: notify.Render, why_key: str) -> notify.Render:
    """A notice for the verifiers, headed for the task force with why it comes to them."""

    def headed(lang: str) -> tuple[str, Keyboard]:
        text, buttons = render(lang)
        return t(lang, why_key, school=hazard["school_name"]) + "\n" + text, buttons

    return headed


async def _second_signers(tx: Tx, author_id: int, facts: Facts) -> list[Row]:
    """Who verifies a fix, or decides a request, by ``author_id``: the school's principal
    and leaders but the author (``ledger.rectify.verifiers``); the task force when none."""
    if taskforce_verifies(author_id, facts.managers):
        return await store.people_with_role(tx, Role.TASKFORCE)
    return await people.by_ids(tx, *sorted(verifiers(author_id, facts.managers)))


# --- verifying ----------------------------------------------------------------


async def _decide_fix(ctx: Ctx, hazard: Row, facts: Facts, action: Action, fix_id: int) -> None:
    """Verify (销号) at once, or ask the reason for returning it."""
    fix = await store.fix_report(ctx.db, fix_id)
    if fix is None or fix["hazard_id"] != hazard["id"]:
        raise NotAllowed()
    if facts.fix_id != fix_id:
        raise Stale()
    person = ctx.member()
    transition(person, action, facts)
    if action is Action.RETURN:
        await _wait_for(ctx, ReturnReason(hazard["id"], fix_id))
        return
    async with ctx.write() as tx:
        await store.verify(tx, hazard["id"], fix_id, person.id)
        await notify.tell(
            tx,
            await people.by_ids(tx, facts.fix_reporter_id, hazard["responsible_id"]),
            key=f"verified:{fix_id}",
            kind="fix_verified",
            render=about(hazard, "fix.verified_notice", verifier=person.name),
            skip=person.id,
        )
        await _report_up(tx, hazard)
    await ctx.settle(ctx.t("fix.verified_label"))
    await ctx.reply("fix.verified", title=Html(title(ctx.lang, hazard)))


async def _return_fix(ctx: Ctx, data: dict[str, Any], text: str) -> None:
    """The reason: the fix goes back to the responsible person as a task again."""
    person = ctx.member()
    hazard, facts = await load(ctx, data["hazard_id"])
    if facts.fix_id != data["fix_id"]:
        raise Stale()
    transition(person, Action.RETURN, facts)
    fix_id, fixer_id = data["fix_id"], facts.fix_reporter_id
    reason = clean_text(text, TEXT_MAX)
    hid = hazard["id"]
    async with ctx.write() as tx:
        await store.return_fix(tx, hid, fix_id, person.id, reason)
        await people.clear_pending(tx, ctx.user_id)
        await notify.tell(
            tx,
            await people.by_ids(tx, hazard["responsible_id"], fixer_id),
            key=f"returned:{fix_id}",
            kind="fix_returned",
            render=about(
                hazard,
                "fix.returned_notice",
                [[("fix.report", ReportFix(hid).pack()), ("card.open", Card(hid).pack())]],
                verifier=person.name,
                reason=reason,
            ),
            skip=person.id,
        )
    fixer = await people.person_by_id(ctx.db, fixer_id) if fixer_id else None
    await ctx.reply("fix.returned", id=hid, fixer=fixer.name if fixer else "?")


async def _report_up(tx: Tx, hazard: Row) -> None:
    """整改一栋上报一栋, 销号清零: the principal and the task force are told."""
    if hazard["building_id"] is None or await store.pending_in_building(tx, hazard["building_id"]):
        return
    told = [
        *await store.people_with_role(tx, Role.PRINCIPAL, hazard["school_id"]),
        *await store.people_with_role(tx, Role.TASKFORCE),
    ]
    counts = await store.settled_in_building(tx, hazard["building_id"])
    await notify.tell(
        tx,
        told,
        key=f"building_done:{hazard['building_id']}:{hazard['id']}",
        kind="building_done",
        render=lambda lang: (
            t(
                lang,
                "report_up.building",
                school=hazard["school_name"],
                building=hazard["building_name"] or "?",
                closed=counts["closed"] or 0,
            )
            + (
                t(lang, "report_up.unfixable", count=counts["unfixable"])
                if counts["unfixable"]
                else ""
            ),
            (),
        ),
    )
    if await store.pending_in_school(tx, hazard["school_id"]):
        return
    totals = await store.closed_in_school(tx, hazard["school_id"])
    await notify.tell(
        tx,
        told,
        key=f"school_done:{hazard['school_id']}:{hazard['id']}",
        kind="school_done",
        render=notify.text_only(
            "report_up.school",
            school=hazard["school_name"],
            closed=totals["closed"],
            buildings=totals["buildings"],
        ),
    )


# --- deadlines ----------------------------------------------------------------


async def _ask_extension(ctx: Ctx, data: dict[str, Any], text: str) -> None:
    """A date, then a reason: the request goes to the leaders."""
    person = ctx.member()
    hazard, facts = await load(ctx, data["hazard_id"])
    transition(person, Action.EXTEND, facts)
    current = walks.draft_of(hazard).deadline
    if "date" not in data:
        wanted = check_extension(current, parse_date(text, ctx.today()))
        await ctx.confirm_typed(f"extend:{hazard['id']}", ctx.day(wanted))
        await _wait_for(ctx, ExtensionRequest(data["hazard_id"], wanted.isoformat()))
        return
    reason = clean_text(text, TEXT_MAX)
    new = check_extension(current, parse_date(data["date"], ctx.today()))
    hid = hazard["id"]
    by_taskforce = taskforce_verifies(person.id, facts.managers)
    async with ctx.write() as tx:
        change_id = await store.ask_extension(tx, hid, person.id, hazard["deadline"], new, reason)
        await people.clear_pending(tx, ctx.user_id)
        render = about(
            hazard,
            "extension.to_manager",
            [
                [
                    ("extension.approve", DecideExtension(hid, change_id, True).pack()),
                    ("extension.refuse", DecideExtension(hid, change_id, False).pack()),
                ]
            ],
            asker=person.name,
            old=hazard["deadline"] or "-",
            new=new.isoformat(),
            reason=reason,
        )
        if by_taskforce:
            render = _to_taskforce(hazard, render, "verify_by_taskforce.extension_to_taskforce")
        await notify.tell(
            tx,
            await _second_signers(tx, person.id, facts),
            key=f"extension:{change_id}",
            kind="extension_asked",
            render=render,
            skip=person.id,
        )
    asked = "verify_by_taskforce.extension_asked" if by_taskforce else "extension.asked"
    await ctx.reply(asked, old=hazard["deadline"] or "-", new=new.isoformat())


async def _decide_extension(
    ctx: Ctx, hazard: Row, facts: Facts, change_id: int, approve: bool
) -> None:
    """Approve at once, or ask why not."""
    asked = await store.deadline_change(ctx.db, change_id)
    if asked is None or asked["hazard_id"] != hazard["id"]:
        raise NotAllowed()
    change = await store.asked_extension(ctx.db, hazard["id"])
    if change is None or change["id"] != change_id:
        raise Stale()
    transition(ctx.member(), Action.DECIDE, facts)
    if not approve:
        await _wait_for(ctx, ExtensionRefusal(hazard["id"], change_id))
        return
    await _settle_extension(ctx, hazard, change, None)
    await ctx.settle(ctx.t("extension.approve"))


async def _refuse_extension(ctx: Ctx, data: dict[str, Any], text: str) -> None:
    hazard, facts = await load(ctx, data["hazard_id"])
    change = await store.asked_extension(ctx.db, hazard["id"])
    if change is None or change["id"] != data["change_id"]:
        raise Stale()
    transition(ctx.member(), Action.DECIDE, facts)
    await _settle_extension(ctx, hazard, change, clean_text(text, TEXT_MAX))


async def _settle_extension(ctx: Ctx, hazard: Row, change: Row, refusal: str | None) -> None:
    """Store the decision (a refusal has its reason) and tell the person who asked."""
    person = ctx.member()
    key = "extension.approved" if refusal is None else "extension.refused"
    values = {
        "id": hazard["id"],
        "old": change["old_deadline"] or "-",
        "new": change["new_deadline"],
        "decider": person.name,
        "refusal": refusal or "",
    }
    async with ctx.write() as tx:
        await store.decide_extension(tx, change, person.id, refusal is None, refusal)
        await people.clear_pending(tx, ctx.user_id)
        await notify.tell(
            tx,
            await people.by_ids(tx, change["asked_by"]),
            key=f"extension_decided:{change['id']}",
            kind="extension_decided",
            render=notify.text_only(f"{key}_notice", **values),
        )
    await ctx.reply(key, **values)


# --- cannot be fixed, reassigning ---------------------------------------------


async def _mark_unfixable(ctx: Ctx, data: dict[str, Any], text: str) -> None:
    """A demolition date, then the reason: out of use, the task force is told."""
    person = ctx.member()
    hazard, facts = await load(ctx, data["hazard_id"])
    transition(person, Action.UNFIXABLE, facts)
    if "date" not in data:
        due = parse_date(text, ctx.today())
        await ctx.confirm_typed(f"unfixable:{hazard['id']}", ctx.day(due))
        await _wait_for(ctx, UnfixableReport(data["hazard_id"], due.isoformat()))
        return
    reason = clean_text(text, TEXT_MAX)
    due = parse_date(data["date"], ctx.today())
    values = {
        "school": hazard["school_name"],
        "building": hazard["building_name"] or "?",
        "date": due.isoformat(),
        "reason": reason,
        "leader": person.name,
    }
    async with ctx.write() as tx:
        await store.mark_unfixable(tx, hazard, person.id, due, reason)
        await people.clear_pending(tx, ctx.user_id)
        await notify.tell(
            tx,
            [
                *await store.people_with_role(tx, Role.TASKFORCE),
                *await people.by_ids(tx, hazard["responsible_id"]),
            ],
            key=f"unfixable:{hazard['id']}",
            kind="unfixable",
            render=about(hazard, "unfixable.notice", **values),
            skip=person.id,
        )
    await ctx.reply("unfixable.done", title=Html(title(ctx.lang, hazard)), **values)


async def _reassign(ctx: Ctx, hazard: Row, facts: Facts, new_id: int | None) -> None:
    """Pick a colleague; the new responsible person and the old one are told."""
    person = ctx.member()
    transition(person, Action.REASSIGN, facts)
    mates = {m["id"]: m["name"] for m in await people.colleagues(ctx.db, hazard["school_id"])}
    hid = hazard["id"]
    if new_id is None:
        rows = [[ReassignTo(hid, mid).labelled(name)] for mid, name in list(mates.items())[:12]]
        await ctx.settle()
        await ctx.say(title(ctx.lang, hazard) + "\n" + ctx.t("reassign.pick"), rows)
        return
    if new_id not in mates:
        raise NotAllowed()
    if new_id == hazard["responsible_id"]:
        await ctx.toast("reassign.same", name=mates[new_id])
        return
    values = {"name": mates[new_id], "leader": person.name, "deadline": hazard["deadline"] or "-"}
    async with ctx.write() as tx:
        await store.reassign(tx, hazard, person.id, new_id, mates[new_id])
        await notify.tell(
            tx,
            await people.by_ids(tx, new_id),
            key=f"assigned:{hid}:{new_id}:{tx.now()}",
            kind="reassigned",
            render=about(hazard, "reassign.to_new", [[("card.open", Card(hid).pack())]], **values),
            skip=person.id,
        )
        await notify.tell(
            tx,
            await people.by_ids(tx, hazard["responsible_id"]),
            key=f"unassigned:{hid}:{new_id}:{tx.now()}",
            kind="reassigned",
            render=about(hazard, "reassign.to_old", **values),
            skip=person.id,
        )
        await named.warn_sole_manager(tx, hazard, new_id, facts.managers)
    await ctx.settle(html.escape(mates[new_id], quote=False))
    await ctx.reply("reassign.done", id=hid, name=mates[new_id])


# --- journeys: what the person is typing or sending for ----------------------------


@journey("fix")
@dataclass(frozen=True)
class FixReport(Journey):
    """Reporting a fix: after-photos, then (``stage`` "note") the note that signs it."""

    cancelled = "cancel.fix"
    hazard_id: int
    fix_id: int
    stage: str | None = None

    async def text(self, ctx: Ctx, text: str) -> None:
        data = self.stored()
        if await _draft_gone(ctx, data):
            return
        if self.stage != "note":
            await ctx.reply("fix.photos_first")
            await self.again(ctx)
            return
        await _submit_fix(ctx, data, text)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        await on_photo(ctx, self.stored(), picture)

    async def again(self, ctx: Ctx) -> None:
        await ask_again(ctx, self.kind, self.stored())

    async def cancel(self, ctx: Ctx, tx: Tx) -> None:
        await store.drop_fix(tx, self.fix_id, ctx.member().id)


@journey("return")
@dataclass(frozen=True)
class ReturnReason(Journey):
    """Why a reported fix goes back (the verifier types it)."""

    hazard_id: int
    fix_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        await _return_fix(ctx, self.stored(), text)

    async def again(self, ctx: Ctx) -> None:
        await ask_again(ctx, self.kind, self.stored())


@journey("extend")
@dataclass(frozen=True)
class ExtensionRequest(Journey):
    """A later deadline asked for: the date, then (``date`` set) the reason."""

    hazard_id: int
    date: str | None = None

    async def text(self, ctx: Ctx, text: str) -> None:
        await _ask_extension(ctx, self.stored(), text)

    async def again(self, ctx: Ctx) -> None:
        await ask_again(ctx, self.kind, self.stored())


@journey("refuse")
@dataclass(frozen=True)
class ExtensionRefusal(Journey):
    """Why a later deadline is refused (the leader types it)."""

    hazard_id: int
    change_id: int

    async def text(self, ctx: Ctx, text: str) -> None:
        await _refuse_extension(ctx, self.stored(), text)

    async def again(self, ctx: Ctx) -> None:
        await ask_again(ctx, self.kind, self.stored())


@journey("unfixable")
@dataclass(frozen=True)
class UnfixableReport(Journey):
    """A hazard that cannot be fixed: the demolition date, then (``date`` set) the reason."""

    hazard_id: int
    date: str | None = None

    async def text(self, ctx: Ctx, text: str) -> None:
        await _mark_unfixable(ctx, self.stored(), text)

    async def again(self, ctx: Ctx) -> None:
        await ask_again(ctx, self.kind, self.stored())
