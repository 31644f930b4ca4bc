"""Joining: ``/start <code>``, then name and phone, shared once."""

from __future__ import annotations

from typing import Any

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove

from handlers import walls
from handlers.base import Ctx, entry
from handlers.common import help_text
from ledger.buildings import NAME_MAX, clean_text, parse_phone
from ledger.errors import BadPhone, InvitationInvalid
from ledger.roles import Role
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
    invitation = await people.usable_invitation(ctx.db, code, ctx.now())
    role = Role(invitation["role"])
    where = invitation["school_name"] or ctx.t("join.city")
    if ctx.person is not None:
        if role in {
            m.role for m in ctx.person.memberships if m.school_id == invitation["school_id"]
        }:
            await ctx.reply("join.already", role=ctx.t(f"role.{role}"), where=where)
            return
        async with ctx.write() as tx:
            used = await people.use_invitation(tx, code, ctx.person.id)
            await people.add_membership(
                tx,
                person_id=ctx.person.id,
                school_id=used["school_id"],
                role=role,
                invitation_id=used["id"],
            )
        await ctx.load_person()
        await ctx.reply("join.added", role=ctx.t(f"role.{role}"), where=where)
        return
    async with ctx.write() as tx:
        await people.set_pending(tx, ctx.user_id, "join", {"code": code})
    await ctx.ask(ctx.t("join.ask_name", role=ctx.t(f"role.{role}"), where=where))


async def ask_again(ctx: Ctx, data: dict[str, Any]) -> None:
    """The joining question waiting: the name, or the phone once the name is given."""
    if "name" in data:
        await _ask_phone(ctx, data["name"])
        return
    invitation = await people.usable_invitation(ctx.db, data["code"], ctx.now())
    where = invitation["school_name"] or ctx.t("join.city")
    await ctx.ask(ctx.t("join.ask_name", role=ctx.t(f"role.{invitation['role']}"), where=where))


async def _ask_phone(ctx: Ctx, name: str) -> None:
    share = ReplyKeyboardMarkup(
        [[KeyboardButton(ctx.t("join.share_phone"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await ctx.ask(ctx.t("join.ask_phone", name=name), share)


async def on_input(ctx: Ctx, data: dict[str, Any], text: str | None, phone: str | None) -> None:
    """The name, then the phone (typed or shared as a contact)."""
    if "name" not in data:
        if text is None:
            await ctx.reply("join.ask_name_again")
            return
        name = clean_text(text, NAME_MAX)
        async with ctx.write() as tx:
            await people.set_pending(tx, ctx.user_id, "join", {**data, "name": name})
        await _ask_phone(ctx, name)
        return
    if phone is None and text is None:
        raise BadPhone()
    number = parse_phone(phone if phone is not None else text or "")
    try:
        invitation = await people.usable_invitation(ctx.db, data["code"], ctx.now())
    except InvitationInvalid:
        # The code ran out while they typed: start over with a new one.
        async with ctx.write() as tx:
            await people.clear_pending(tx, ctx.user_id)
        raise
    async with ctx.write() as tx:
        person_id = await people.create_person(
            tx,
            tg_user_id=ctx.user_id,
            chat_id=ctx.chat_id,
            name=data["name"],
            phone=number,
            language=ctx.lang,
        )
        await people.use_invitation(tx, data["code"], person_id)
        await people.add_membership(
            tx,
            person_id=person_id,
            school_id=invitation["school_id"],
            role=Role(invitation["role"]),
            invitation_id=invitation["id"],
        )
        await people.clear_pending(tx, ctx.user_id)
    await ctx.load_person()
    where = invitation["school_name"] or ctx.t("join.city")
    await ctx.reply(
        "join.done",
        ReplyKeyboardRemove(),
        name=data["name"],
        role=ctx.t(f"role.{invitation['role']}"),
        where=where,
    )
    await ctx.say(help_text(ctx))
