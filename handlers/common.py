"""Commands everyone has: ``/help``, ``/whoami``, ``/cancel``; and the fallback."""

from __future__ import annotations

from telegram import ChatMember

from handlers.base import Ctx, entry, reading
from handlers.journeys import current
from ledger.roles import CITY_ROLES, Role, managed_schools
from storage import outbox, people
from texts import Html


def help_text(ctx: Ctx) -> str:
    """The commands this person can use, by their roles, each command once."""
    person = ctx.person
    if person is None or not person.memberships:
        return ctx.t("help.guest")
    roles = {m.role for m in person.memberships}
    manager = bool(managed_schools(person))
    # A manager's /reminders and /tasks do more: their lines say so where first listed.
    sections = [ctx.t("friction.help.everyone_manager" if manager else "help.everyone")]
    if roles - CITY_ROLES:
        sections.append(ctx.t("friction.help.school_manager" if manager else "help.school"))
    if manager:
        sections.append(ctx.t("help.manager"))
    if Role.TASKFORCE in roles:
        sections.append(ctx.t("help.taskforce"))
    if roles & CITY_ROLES:
        sections.append(ctx.t("help.supervision" if Role.SUPERVISOR in roles else "help.visits"))
    return _once_each("\n\n".join(sections))


def _once_each(text: str) -> str:
    """Drop a command's line when an earlier section listed it (a principal in the task force)."""
    seen: set[str] = set()
    lines = []
    for line in text.split("\n"):
        command = line.split(" ", 1)[0] if line.startswith("/") else None
        if command in seen:
            continue
        if command:
            seen.add(command)
        lines.append(line)
    return "\n".join(lines)


@reading
async def help_command(ctx: Ctx) -> None:
    """``/help``: what this person can do."""
    await ctx.say(help_text(ctx))


@reading
async def whoami(ctx: Ctx) -> None:
    """``/whoami``: name, phone and roles."""
    person = ctx.member()
    lines = [
        ctx.t(
            "whoami.role", role=ctx.t(f"role.{m.role}"), where=m.school_name or ctx.t("join.city")
        )
        for m in person.memberships
    ]
    await ctx.reply(
        "whoami.text", name=person.name, phone=person.phone, roles=Html("\n".join(lines))
    )


@entry
async def cancel(ctx: Ctx) -> None:
    """``/cancel``: stop what is being typed, as its journey says (a walk is paused)."""
    state = await current(ctx)
    if state is None:
        await ctx.reply("cancel.nothing")
        return
    async with ctx.write() as tx:
        await people.clear_pending(tx, ctx.user_id)
        if ctx.person is not None:
            await state.cancel(ctx, tx)
    await ctx.reply(state.cancelled, await state.after_cancel(ctx))


@reading
async def unknown_command(ctx: Ctx) -> None:
    """A command the bot does not have."""
    await ctx.reply("common.unknown_command")


@entry
async def chat_status(ctx: Ctx) -> None:
    """Telegram says the person blocked the bot, or unblocked it: nothing is answered.

    Blocked, their pending messages are set aside and their reminders' escalation
    goes up the chain at the next planning pass, without waiting for a send to fail.
    """
    change = ctx.update.my_chat_member
    if change is None or ctx.person is None:
        return
    async with ctx.write() as tx:
        if change.new_chat_member.status == ChatMember.BANNED:
            await outbox.block(tx, ctx.person.id, "blocked the bot")
        else:
            await outbox.unblock(tx, ctx.person.id)
