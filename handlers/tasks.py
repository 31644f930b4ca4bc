"""``/tasks`` (what is mine to do) and a hazard's card (``/hazard 12``, ``/hazard_12``).

The card shows everything about one hazard — its photos, the two signatures,
every change of its deadline, its history — and exactly the actions this
person may take on it now (``ledger.rectify.actions``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from cases.rectify import day, heading, title
from handlers import evidence
from handlers.base import Ctx, Keyboard, Services, reading
from handlers.buttons import Tap, button
from handlers.named import Card
from handlers.rectify import action_buttons, load
from handlers.when import local, time_text
from ledger.hazards import Hazard, Photo
from ledger.ids import parse_id
from ledger.rectify import (
    DeadlineChange,
    Facts,
    FixReport,
    FixState,
    HistoryEvent,
    Listed,
    actions,
    days_left,
    my_tasks_order,
)
from ledger.roles import managed_schools
from storage import hazards
from storage import rectify as store
from storage.db import Query
from telegram_rules import MAX_TEXT
from telegram_rules.fit import clip, fit, html_units
from telegram_rules.fit import pages as screens_of
from texts import Html, has

PAGE = 8  # tasks per screen, at most (fewer when their texts are long)
LIST_DESCRIPTION = 120  # UTF-16 units of a description in the list (the card has it whole)
HISTORY = 12  # latest events on a card
CARD_FIELD = 600  # UTF-16 units of the measures on a card (the description is whole)
CARD_NOTE = 300  # ... of funding, the contingency plan, a fix's note or a return's reason
CARD_REASON = 200  # ... of a deadline change's reason and its refusal
CARD_COMMAND = re.compile(r"^/hazard_(\d+)(?:@\w+)?$")


# --- /tasks -------------------------------------------------------------------


async def _entries(ctx: Ctx) -> list[tuple[str, Listed]]:
    """Everything on this person's list, by section, in order: read in one trip (with the
    person, for a page turned), those of the schools they manage kept."""
    person = ctx.member()
    today = ctx.today()
    mine, verify, asked, unassigned = await ctx.reads.read_many(store.task_queries(ctx.user_id))
    entries = [
        ("mine", r) for r in sorted(store.listed_in(mine), key=lambda h: my_tasks_order(h, today))
    ]
    managed = managed_schools(person)
    if managed:
        # Not what this person signed: whoever confirmed a fix cannot verify it.
        entries += [("verify", r) for r in store.listed_in(verify, managed)]
        entries += [("extension", r) for r in store.listed_in(asked, managed)]
        entries += [("unassigned", r) for r in store.listed_in(unassigned, managed)]
    if person.is_taskforce:  # fixes nobody at their school may verify
        entries += [("verify", r) for r in await store.waiting_for_taskforce(ctx.db)]
    return entries


def _due(ctx: Ctx, deadline: date | None) -> str:
    """How long is left until the deadline, as this person reads it."""
    left = days_left(deadline, ctx.today())
    if left is None or deadline is None:
        return ctx.t("tasks.no_deadline")
    day = ctx.day(deadline, weekday=False)
    if left < 0:
        return ctx.t("tasks.overdue", days=-left, deadline=day)
    if left == 0:
        return ctx.t("tasks.due_today", deadline=day)
    return ctx.t("tasks.left", days=left, deadline=day)


def _line(ctx: Ctx, row: Listed) -> str:
    """One hazard of the list: its title (description clipped), school and deadline."""
    return ctx.t(
        "tasks.line",
        title=Html(
            heading(
                ctx.lang,
                row.id,
                row.building_name,
                clip(row.description or "", LIST_DESCRIPTION),
            )
        ),
        school=row.school_name,
        due=Html(_due(ctx, row.deadline)),
    )


def _screens(ctx: Ctx, entries: list[tuple[str, Listed]]) -> list[range]:
    """The list cut into screens of at most ``PAGE`` hazards that fit one message, each
    hazard measured as if it opened its section (a screen never holds more than that)."""
    sections = {kind: sum(1 for k, _ in entries if k == kind) for kind, _ in entries}
    blocks = [
        "\n" + ctx.t(f"tasks.section.{kind}", count=sections[kind]) + "\n" + _line(ctx, row)
        for kind, row in entries
    ]
    footer = "\n\n" + ctx.t("tasks.page", page=len(entries), pages=len(entries))
    return screens_of(blocks, MAX_TEXT - html_units(footer), PAGE)


async def _page(ctx: Ctx, page: int) -> tuple[str, Keyboard]:
    """One screen of the list, with a button per hazard and page turns."""
    entries = await _entries(ctx)
    if not entries:
        return ctx.t("tasks.none"), []
    screens = _screens(ctx, entries)
    pages = len(screens)
    page = min(max(page, 1), pages)
    shown = [entries[i] for i in screens[page - 1]]
    lines: list[str] = []
    section = None
    for kind, row in shown:
        if kind != section:
            section = kind
            count = sum(1 for k, _ in entries if k == kind)
            lines.append(("\n" if lines else "") + ctx.t(f"tasks.section.{kind}", count=count))
        lines.append(_line(ctx, row))
    if pages > 1:
        lines.append("\n" + ctx.t("tasks.page", page=page, pages=pages))
    buttons = [
        Card(row.id).labelled(f"#{row.id} {row.building_name or ''}".strip()) for _, row in shown
    ]
    rows: list[list[tuple[str, str]]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    turns = []
    if page > 1:
        turns.append(TasksPage(page - 1).labelled(ctx.t("tasks.prev")))
    if page < pages:
        turns.append(TasksPage(page + 1).labelled(ctx.t("tasks.next")))
    if turns:
        rows.append(turns)
    return "\n".join(lines), rows


@reading
async def tasks_command(ctx: Ctx) -> None:
    """``/tasks``: my hazards by deadline, overdue first; a leader's also wait for them."""
    text, rows = await _page(ctx, 1)
    await ctx.say(text, rows)


@button("tasks_page", legacy="tk")
@dataclass(frozen=True)
class TasksPage(Tap):
    """Another screen of the list, in place."""

    reads_only = in_place = True
    page: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return store.task_queries(tg_user_id)

    async def tap(self, ctx: Ctx) -> None:
        text, rows = await _page(ctx, self.page)
        await ctx.edit(text, rows)


# --- the card -----------------------------------------------------------------


@dataclass(frozen=True)
class CardDetail:
    """What a card shows besides the hazard: photos, fix reports, deadline changes, history."""

    photos: list[Photo]
    fixes: list[FixReport]
    changes: list[DeadlineChange]
    history: list[HistoryEvent]


def _card_text(
    ctx: Ctx,
    hazard: Hazard,
    facts: Facts,
    detail: CardDetail,
    marks: Sequence[str] = (),
) -> str:
    """Everything about one hazard, in the reader's language, within one message: long
    typed texts are clipped (the ledger keeps them whole) and the oldest of the rest give
    way to a line that counts them. ``marks``: each photo's capture time and its flags
    (handlers.evidence), right under the photo count."""
    lines = [ctx.t("card.head", title=Html(title(ctx.lang, hazard)), school=hazard.school_name)]
    if hazard.item_code:
        item = hazard.item_en if ctx.lang == "en" else hazard.item_zh
        lines.append(ctx.t("card.item", code=hazard.item_code, text=item))
    lines.append(ctx.t("card.state", state=ctx.t(f"state.{facts.state}")))
    lines.append(ctx.t("card.found", name=hazard.reporter_name, at=ctx.moment(hazard.reported_at)))
    if hazard.visit_id is not None:  # found off the school's list by a supervision visit
        lines.append(ctx.t("card.accident" if hazard.accident_grade else "card.off_list"))
    lines.append(ctx.t("card.fixable_now." + ("yes" if hazard.fixable_now else "no")))
    if hazard.deadline:
        lines.append(ctx.t("card.deadline", due=Html(_due(ctx, hazard.deadline))))
    lines.append(ctx.t("card.responsible", name=hazard.responsible_name or "-"))
    if hazard.measures:
        lines.append(ctx.t("card.measures", measures=clip(hazard.measures, CARD_FIELD)))
    if hazard.takes_out_of_use:
        lines.append(ctx.t("card.out_of_use"))
    if hazard.major:
        lines.append(
            ctx.t(
                "card.major",
                funding=clip(hazard.funding or "-", CARD_NOTE),
                plan=clip(hazard.contingency_plan or "-", CARD_NOTE),
            )
        )
    if hazard.demolition_due:
        lines.append(ctx.t("card.demolition", date=ctx.day(hazard.demolition_due)))
    before = sum(p.kind == "before" for p in detail.photos)
    lines.append(ctx.t("card.photos", before=before, after=len(detail.photos) - before))
    lines += marks
    if detail.fixes:
        lines.append("\n" + ctx.t("card.signatures"))
    for fix in detail.fixes:
        lines.append(
            ctx.t(
                "card.fix",
                name=fix.reporter_name,
                at=ctx.moment(fix.submitted_at) if fix.submitted_at else "",
                note=clip(fix.note or "", CARD_NOTE),
            )
        )
        if fix.state is FixState.ACCEPTED:
            lines.append(
                ctx.t(
                    "card.verified",
                    name=fix.decider_name,
                    at=ctx.moment(fix.decided_at) if fix.decided_at else "",
                )
            )
        elif fix.state is FixState.RETURNED:
            lines.append(
                ctx.t(
                    "card.returned",
                    name=fix.decider_name,
                    at=ctx.moment(fix.decided_at) if fix.decided_at else "",
                    reason=clip(fix.reason or "", CARD_NOTE),
                )
            )
    if detail.changes:
        lines.append("\n" + ctx.t("card.deadline_changes"))
    for change in detail.changes[-5:]:
        outcome = ctx.t(
            f"card.change.{change.state}",
            name=change.decider_name or "",
            at=ctx.moment(change.decided_at) if change.decided_at else "",
            refusal=clip(change.refusal or "", CARD_REASON),
        )
        lines.append(
            ctx.t(
                "card.change.line",
                old=day(change.old_deadline),
                new=change.new_deadline.isoformat(),
                asker=change.asker_name,
                at=ctx.moment(change.asked_at),
                reason=clip(change.reason, CARD_REASON),
                outcome=Html(outcome),
            )
        )
    groups = _grouped(detail.history)
    shown = groups[-HISTORY:]
    lines.append("\n" + ctx.t("card.history", shown=len(shown), total=len(groups)))
    lines += [_history_line(ctx, group) for group in shown]
    return "\n".join(fit(lines, MAX_TEXT, lambda count: ctx.t("visible.card_more", count=count)))


def _grouped(history: list[HistoryEvent]) -> list[list[HistoryEvent]]:
    """Events in runs: one person doing the same thing several times in a row is one line."""
    groups: list[list[HistoryEvent]] = []
    for event in history:
        last = groups[-1][-1] if groups else None
        if last is not None and (last.actor_name, last.action) == (event.actor_name, event.action):
            groups[-1].append(event)
        else:
            groups.append([event])
    return groups


def _history_line(ctx: Ctx, group: list[HistoryEvent]) -> str:
    """A run of events: when (from–to), who, what, and how many times."""
    first, last = group[0], group[-1]
    action = f"history.{first.action}"
    name = first.actor_name or ctx.t("card.system")
    what = ctx.t(action) if has(ctx.lang, action) else first.action
    at = ctx.moment(first.at)
    if len(group) == 1:
        return ctx.t("card.event", at=at, name=name, action=what)
    start, end = local(first.at, ctx.services.clock.tz), local(last.at, ctx.services.clock.tz)
    if start.replace(second=0) == end.replace(second=0):  # within one minute: one time
        return ctx.t("friction.card.events_at", at=at, name=name, action=what, count=len(group))
    until = time_text(end, ctx.services.clock.tz) if start.date() == end.date() else ctx.moment(end)
    return ctx.t(
        "friction.card.events", start=at, end=until, name=name, action=what, count=len(group)
    )


def _card_buttons(ctx: Ctx, hazard: Hazard, facts: Facts) -> Keyboard:
    """The actions this person may take now."""
    return [
        action_buttons(ctx, action, hazard.id, facts) for action in actions(ctx.member(), facts)
    ]


async def show_card(ctx: Ctx, hazard_id: int) -> None:
    """The photos (before, then after), then the card with its buttons."""
    hazard, facts = await load(ctx, hazard_id)
    reads = ctx.reads  # a card's tap read all these with the person (``Card``)
    detail = CardDetail(
        photos=await hazards.photos_of(reads, hazard_id),
        fixes=await store.fix_reports_of(reads, hazard_id),
        changes=await store.deadline_changes_of(reads, hazard_id),
        history=await store.history(reads, hazard_id),
    )
    query = ctx.update.callback_query
    if query is not None:
        await ctx.answer_tap()
    photos = ctx.services.photos
    # A flagged photo is shown beside the photo on record it copies.
    pairs = await evidence.side_by_side(ctx.db, detail.photos)
    shown = list(dict.fromkeys([p.sha256 for p in detail.photos] + pairs))
    await ctx.show_photos([photos.path_of(sha) for sha in shown])
    marks = evidence.card_lines(ctx.lang, detail.photos) if detail.photos else []
    marks += await evidence.flag_lines(
        ctx.db, ctx.lang, hazard, detail.photos, ctx.services.evidence.after_photo_max_age_days
    )
    await ctx.say(_card_text(ctx, hazard, facts, detail, marks), _card_buttons(ctx, hazard, facts))


@reading
async def hazard_command(ctx: Ctx) -> None:
    """``/hazard 12`` or ``/hazard_12``: the hazard's card."""
    args = ctx.context.args or []
    message = ctx.update.effective_message
    typed = CARD_COMMAND.match((message.text or "") if message else "")
    raw = typed[1] if typed else (args[0].lstrip("#") if args else "")
    if not raw:
        await ctx.reply("card.usage")
        return
    hazard_id = parse_id(raw)
    if hazard_id is None:
        await ctx.reply("visible.bad_hazard_id", value=clip(raw, 24))
        return
    await show_card(ctx, hazard_id)
