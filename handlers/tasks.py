"""``/tasks`` (what is mine to do) and a hazard's card (``/hazard 12``, ``/hazard_12``).

The card shows everything about one hazard — its photos, the two signatures,
every change of its deadline, its history — and exactly the actions this
person may take on it now (``ledger.rectify.actions``).
"""

from __future__ import annotations

import re
from datetime import date

from handlers import evidence
from handlers.base import MAX_TEXT, Ctx, Keyboard, entry, number, parts
from handlers.i18n import Html, has
from handlers.rectify import load, title
from ledger.rectify import Action, Facts, actions, days_left, task_order
from ledger.roles import SCHOOL_MANAGERS
from storage import rectify as store
from storage.db import Row

PAGE = 8  # tasks per screen
HISTORY = 12  # latest events on a card
CARD_COMMAND = re.compile(r"^/hazard_(\d+)(?:@\w+)?$")


# --- /tasks -------------------------------------------------------------------


async def _entries(ctx: Ctx) -> list[tuple[str, Row]]:
    """Everything on this person's list, by section, in order."""
    person = ctx.member()
    today = ctx.today()

    def by_deadline(row: Row) -> tuple[tuple[int, str], int]:
        deadline = date.fromisoformat(row["deadline"]) if row["deadline"] else None
        return task_order(deadline, today), row["id"]

    entries = [
        ("mine", r) for r in sorted(await store.tasks_of(ctx.db, person.id), key=by_deadline)
    ]
    managed = [m.school_id for m in person.memberships if m.role in SCHOOL_MANAGERS and m.school_id]
    if managed:
        # Not what this person signed: whoever confirmed a fix cannot verify it.
        waiting = await store.waiting_for_verification(ctx.db, managed, person.id)
        entries += [("verify", r) for r in waiting]
        asked = await store.extensions_waiting(ctx.db, managed, person.id)
        entries += [("extension", r) for r in asked]
        entries += [("unassigned", r) for r in await store.unassigned(ctx.db, managed)]
    if person.is_taskforce:  # fixes nobody at their school may verify
        entries += [("verify", r) for r in await store.waiting_for_taskforce(ctx.db)]
    return entries


def _due(ctx: Ctx, row: Row) -> str:
    deadline = date.fromisoformat(row["deadline"]) if row["deadline"] else None
    left = days_left(deadline, ctx.today())
    if left is None:
        return ctx.t("tasks.no_deadline")
    if left < 0:
        return ctx.t("tasks.overdue", days=-left, deadline=row["deadline"])
    if left == 0:
        return ctx.t("tasks.due_today", deadline=row["deadline"])
    return ctx.t("tasks.left", days=left, deadline=row["deadline"])


async def _page(ctx: Ctx, page: int) -> tuple[str, Keyboard]:
    """One screen of the list, with a button per hazard and page turns."""
    entries = await _entries(ctx)
    if not entries:
        return ctx.t("tasks.none"), []
    pages = (len(entries) + PAGE - 1) // PAGE
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * PAGE : page * PAGE]
    lines: list[str] = []
    section = None
    for kind, row in shown:
        if kind != section:
            section = kind
            count = sum(1 for k, _ in entries if k == kind)
            lines.append(("\n" if lines else "") + ctx.t(f"tasks.section.{kind}", count=count))
        lines.append(
            ctx.t(
                "tasks.line",
                title=Html(title(ctx.lang, row)),
                school=row["school_name"],
                due=Html(_due(ctx, row)),
            )
        )
    if pages > 1:
        lines.append("\n" + ctx.t("tasks.page", page=page, pages=pages))
    buttons = [
        (f"#{row['id']} {row['building_name'] or ''}".strip(), f"hc:{row['id']}")
        for _, row in shown
    ]
    rows: list[list[tuple[str, str]]] = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    turns = []
    if page > 1:
        turns.append((ctx.t("tasks.prev"), f"tk:{page - 1}"))
    if page < pages:
        turns.append((ctx.t("tasks.next"), f"tk:{page + 1}"))
    if turns:
        rows.append(turns)
    return "\n".join(lines), rows


@entry
async def tasks_command(ctx: Ctx) -> None:
    """``/tasks``: my hazards by deadline, overdue first; a leader's also wait for them."""
    text, rows = await _page(ctx, 1)
    await ctx.say(text, rows)


@entry
async def turn_page(ctx: Ctx) -> None:
    """``tk:<page>``: another screen of the list, in place."""
    _, raw = parts(ctx.tap_data, 2)
    text, rows = await _page(ctx, number(raw))
    await ctx.edit(text, rows)


# --- the card -----------------------------------------------------------------


def _card_text(ctx: Ctx, hazard: Row, facts: Facts, detail: dict[str, list[Row]]) -> str:
    """Everything about one hazard, in the reader's language."""
    lines = [ctx.t("card.head", title=Html(title(ctx.lang, hazard)), school=hazard["school_name"])]
    if hazard["item_code"]:
        item = hazard["item_en"] if ctx.lang == "en" else hazard["item_zh"]
        lines.append(ctx.t("card.item", code=hazard["item_code"], text=item))
    lines.append(ctx.t("card.state", state=ctx.t(f"state.{facts.state}")))
    lines.append(ctx.t("card.found", name=hazard["reporter_name"], at=hazard["reported_at"][:16]))
    lines.append(ctx.t("card.fixable_now." + ("yes" if hazard["fixable_now"] else "no")))
    if hazard["deadline"]:
        lines.append(ctx.t("card.deadline", due=Html(_due(ctx, hazard))))
    lines.append(ctx.t("card.responsible", name=hazard["responsible_name"] or "-"))
    if hazard["measures"]:
        lines.append(ctx.t("card.measures", measures=hazard["measures"]))
    if hazard["takes_out_of_use"]:
        lines.append(ctx.t("card.out_of_use"))
    if hazard["major"]:
        lines.append(
            ctx.t(
                "card.major",
                funding=hazard["funding"] or "-",
                plan=hazard["contingency_plan"] or "-",
            )
        )
    if hazard["demolition_due"]:
        lines.append(ctx.t("card.demolition", date=hazard["demolition_due"]))
    before = sum(p["kind"] == "before" for p in detail["photos"])
    lines.append(ctx.t("card.photos", before=before, after=len(detail["photos"]) - before))
    if detail["fixes"]:
        lines.append("\n" + ctx.t("card.signatures"))
    for fix in detail["fixes"]:
        lines.append(
            ctx.t(
                "card.fix",
                name=fix["reporter_name"],
                at=(fix["submitted_at"] or "")[:16],
                note=fix["note"] or "",
            )
        )
        if fix["state"] == "accepted":
            lines.append(
                ctx.t("card.verified", name=fix["decider_name"], at=fix["decided_at"][:16])
            )
        elif fix["state"] == "returned":
            lines.append(
                ctx.t(
                    "card.returned",
                    name=fix["decider_name"],
                    at=fix["decided_at"][:16],
                    reason=fix["reason"] or "",
                )
            )
    if detail["changes"]:
        lines.append("\n" + ctx.t("card.deadline_changes"))
    for change in detail["changes"][-5:]:
        outcome = ctx.t(
            f"card.change.{change['state']}",
            name=change["decider_name"] or "",
            at=(change["decided_at"] or "")[:16],
            refusal=change["refusal"] or "",
        )
        lines.append(
            ctx.t(
                "card.change.line",
                old=change["old_deadline"] or "-",
                new=change["new_deadline"],
                asker=change["asker_name"],
                at=change["asked_at"][:16],
                reason=change["reason"],
                outcome=Html(outcome),
            )
        )
    history = detail["history"][-HISTORY:]
    lines.append("\n" + ctx.t("card.history", shown=len(history), total=len(detail["history"])))
    for event in history:
        action = f"history.{event['action']}"
        lines.append(
            ctx.t(
                "card.event",
                at=event["at"][5:16].replace("T", " "),
                name=event["actor_name"] or ctx.t("card.system"),
                action=ctx.t(action) if has(ctx.lang, action) else event["action"],
            )
        )
    text = "\n".join(lines)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _card_buttons(ctx: Ctx, hazard: Row, facts: Facts) -> Keyboard:
    """The actions this person may take now."""
    hid = hazard["id"]
    rows: list[list[tuple[str, str]]] = []
    for action in actions(ctx.member(), facts):
        if action is Action.FIX:
            rows.append([(ctx.t("fix.report"), f"r:fx:{hid}")])
        elif action in (Action.VERIFY, Action.RETURN):
            label = "fix.verify" if action is Action.VERIFY else "fix.return"
            rows.append([(ctx.t(label), f"r:{action}:{hid}:{facts.fix_id}")])
        elif action is Action.DECIDE:
            change = facts.extension_id
            rows.append(
                [
                    (ctx.t("extension.approve"), f"r:dx:{hid}:{change}:y"),
                    (ctx.t("extension.refuse"), f"r:dx:{hid}:{change}:n"),
                ]
            )
        elif action in (Action.EXTEND, Action.UNFIXABLE, Action.REASSIGN):
            rows.append([(ctx.t(f"card.action.{action}"), f"r:{action}:{hid}")])
    return rows


async def show_card(ctx: Ctx, hazard_id: int) -> None:
    """The photos (before, then after), then the card with its buttons."""
    hazard, facts = await load(ctx, hazard_id)
    detail = {
        "photos": await store.photos_of(ctx.db, hazard_id),
        "fixes": await store.fix_reports_of(ctx.db, hazard_id),
        "changes": await store.deadline_changes_of(ctx.db, hazard_id),
        "history": await store.history(ctx.db, hazard_id),
    }
    query = ctx.update.callback_query
    if query is not None:
        await query.answer()
    photos = ctx.services.photos
    # A flagged photo is shown beside the photo on record it copies.
    pairs = await evidence.side_by_side(ctx.db, detail["photos"])
    shown = list(dict.fromkeys([p["sha256"] for p in detail["photos"]] + pairs))
    await ctx.show_photos([photos.path_of(sha) for sha in shown])
    marks = evidence.card_lines(ctx.lang, detail["photos"]) if detail["photos"] else []
    marks += await evidence.flag_lines(
        ctx.db, ctx.lang, hazard, detail["photos"], ctx.services.evidence.after_photo_max_age_days
    )
    text = _card_text(ctx, hazard, facts, detail)
    if marks:
        text = "\n".join([text, "", *marks])
        text = text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
    await ctx.say(text, _card_buttons(ctx, hazard, facts))


@entry
async def hazard_command(ctx: Ctx) -> None:
    """``/hazard 12`` or ``/hazard_12``: the hazard's card."""
    args = ctx.context.args or []
    message = ctx.update.effective_message
    typed = CARD_COMMAND.match((message.text or "") if message else "")
    raw = typed[1] if typed else (args[0].lstrip("#") if args else "")
    if not raw.isdigit():
        await ctx.reply("card.usage")
        return
    await show_card(ctx, int(raw))


@entry
async def card_tap(ctx: Ctx) -> None:
    """``hc:<hazard>``: the card, from a list or a notice."""
    _, raw = parts(ctx.tap_data, 2)
    await show_card(ctx, number(raw))
