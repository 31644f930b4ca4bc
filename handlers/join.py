"""Joining: ``/start <code>``, then name and phone, shared once."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

from cases import invitations
from handlers import inspect, menu, walls
from handlers.base import Ctx, entry, error_text
from handlers.common import help_text
from handlers.journeys import Journey, begin, journey
from ledger.buildings import NAME_MAX, clean_text, parse_phone
from ledger.errors import BadPhone, InvitationInvalid
from ledger.roles import Role
from ledger.text import normalise
from storage import people


@entry
async def start(ctx: Ctx) -> None:
    """``/start`` with an invitation code joins; without one, greets or explains."""
    args = ctx.context.args or []
    if not args:
        if ctx.person and ctx.person.memberships:
            await ctx.say(help_text(ctx))
        else:
            await ctx.reply("join.need_invitation")
        return
    code = args[0]
    if walls.is_building_code(code):  # a QR code on a building's wall
        await walls.scanned(ctx, code)
        return
    await join_with(ctx, code)


async def join_with(ctx: Ctx, code: str) -> None:
    """Join with an invitation code (from ``/start``, or typed bare by someone not yet in)."""
    try:
        invitation = await people.usable_invitation(ctx.db, code, ctx.now())
    except InvitationInvalid as refused:
        stranger = ctx.person is None or not ctx.person.memberships
        if stranger and refused.params.get("reason") == "unknown":
            # The dead end of a mistyped code: say that typing the right one is enough.
            await ctx.say(error_text(ctx, refused) + "\n" + ctx.t("friction.join.type_code"))
            return
        raise
    role = invitation.role
    where = invitation.school_name or ctx.t("join.city")
    if ctx.person is not None:
        if not await invitations.take_role(ctx.write, ctx.person, invitation):
            await ctx.reply("join.already", role=ctx.t(f"role.{role}"), where=where)
            return
        await ctx.load_person()
        await ctx.reply(
            "join.added", inspect.walk_button(ctx), role=ctx.t(f"role.{role}"), where=where
        )
        await menu.refresh(ctx)  # a new role: new commands in the menu
        return
    async with ctx.write() as tx:
        await begin(tx, ctx.user_id, Joining(code))
    await _ask_name(ctx, role, where)


async def _ask_name(ctx: Ctx, role: Role, where: str) -> None:
    """The name; the one the client already gave (the local chat's form, a Telegram
    profile) offered as a one-tap answer: a key of the reply keyboard sends it as typed."""
    given = _given_name(ctx)
    if given is None:
        await ctx.ask(ctx.t("join.ask_name", role=ctx.t(f"role.{role}"), where=where))
        return
    offer = ReplyKeyboardMarkup(
        [[KeyboardButton(given)]], resize_keyboard=True, one_time_keyboard=True
    )
    await ctx.ask(
        ctx.t("friction.join.ask_name", role=ctx.t(f"role.{role}"), where=where, name=given),
        offer,
    )


def _given_name(ctx: Ctx) -> str | None:
    """The client's first and last name, as a valid name answer, or None (a profile
    name is typed text too: normalised, and nothing offered when nothing visible is left)."""
    user = ctx.update.effective_user
    name = normalise(user.full_name if user else "", multiline=False)
    return name if 0 < len(name) <= NAME_MAX else None


async def ask_again(ctx: Ctx, joining: Joining) -> None:
    """The joining question waiting: the name, or the phone once the name is given."""
    if joining.name is not None:
        await _ask_phone(ctx, joining.name)
        return
    invitation = await people.usable_invitation(ctx.db, joining.code, ctx.now())
    await _ask_name(ctx, invitation.role, invitation.school_name or ctx.t("join.city"))


async def _ask_phone(ctx: Ctx, name: str) -> None:
    share = ReplyKeyboardMarkup(
        [[KeyboardButton(ctx.t("join.share_phone"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await ctx.ask(ctx.t("join.ask_phone", name=name), share)


async def on_input(ctx: Ctx, joining: Joining, text: str | None, phone: str | None) -> None:
    """The name, then the phone (typed or shared as a contact)."""
    if joining.name is None:
        if text is None:
            await ctx.reply("join.ask_name_again")
            return
        name = clean_text(text, NAME_MAX)
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, Joining(joining.code, name))
        await _ask_phone(ctx, name)
        return
    if phone is None and text is None:
        raise BadPhone()
    number = parse_phone(phone if phone is not None else text or "")
    try:
        await people.usable_invitation(ctx.db, joining.code, ctx.now())
    except InvitationInvalid:
        # The code ran out while they typed: start over with a new one.
        async with ctx.write() as tx:
            await people.clear_pending(tx, ctx.user_id)
        raise
    invitation = await invitations.join(
        ctx.write,
        tg_user_id=ctx.user_id,
        chat_id=ctx.chat_id,
        language=ctx.lang,
        code=joining.code,
        name=joining.name,
        phone=number,
    )
    await ctx.load_person()
    where = invitation.school_name or ctx.t("join.city")
    await ctx.reply(
        "join.done",
        ReplyKeyboardRemove(),
        name=joining.name,
        role=ctx.t(f"role.{invitation.role}"),
        where=where,
    )
    await ctx.say(help_text(ctx), inspect.walk_button(ctx))
    await menu.refresh(ctx)  # after the welcome: the person is not kept waiting for it


@journey("join")
@dataclass(frozen=True)
class Joining(Journey):
    """Joining with an invitation code: the name, then the phone (typed or shared)."""

    members_only = False
    code: str
    name: str | None = None

    async def text(self, ctx: Ctx, text: str) -> None:
        await on_input(ctx, self, text, None)

    async def contact(self, ctx: Ctx, phone: str) -> None:
        await on_input(ctx, self, None, phone)

    async def again(self, ctx: Ctx) -> None:
        await ask_again(ctx, self)
