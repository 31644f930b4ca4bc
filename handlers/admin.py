"""Running a school: the task force adds schools; a principal or leader adds
buildings and invites staff; invitations can be listed and revoked.

Each of these is a short form: the fields are asked in order, typed or
tapped (a ``FormChoice`` button), and what is filled in so far is the
stored pending input, so a form also survives a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from cases import campus as registering
from cases import invitations
from handlers.base import Button, Ctx, entry, reading
from handlers.buttons import Tap, button
from handlers.journeys import Journey, begin, current, journey
from ledger.buildings import (
    NAME_MAX,
    OWNERSHIPS,
    SCHOOL_KINDS,
    USES,
    clean_text,
    parse_floors,
    parse_year_built,
)
from ledger.errors import Duplicate, NotAllowed, Stale
from ledger.invitations import EXPIRY_DAYS, deep_link
from ledger.invitations import USES as INVITE_USES
from ledger.roles import (
    Role,
    invitable_roles,
    managed_schools,
    may_revoke,
    require,
)
from storage import people
from storage.db import Tx
from telegram_rules.fit import fit, room_for
from texts import Html

Parse = Callable[[Ctx, str], Any]


@dataclass(frozen=True)
class Field:
    """One question of a form: typed (``parse``) or tapped (``choices``)."""

    name: str
    parse: Parse | None = None
    choices: Callable[[Ctx, dict[str, Any]], Sequence[str]] | None = None
    label: str = ""  # text key prefix for a choice's label, e.g. "use" → use.teaching


@dataclass(frozen=True)
class Form:
    name: str
    fields: tuple[Field, ...]
    finish: Callable[[Ctx, Tx, dict[str, Any]], Awaitable[dict[str, Any]]]

    def next_field(self, data: dict[str, Any]) -> Field | None:
        return next((f for f in self.fields if f.name not in data), None)


def _name(ctx: Ctx, text: str) -> str:
    return clean_text(text, NAME_MAX)


# --- the forms ---------------------------------------------------------------


async def _finish_school(ctx: Ctx, tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    new = await registering.add_school(
        tx,
        ctx.member(),
        name=data["name"],
        kind=data["kind"],
        ownership=data["ownership"],
        district=data["district"],
    )
    return {
        "school": data["name"],
        "link": deep_link(ctx.services.bot_username, new.code),
        "code": new.code,
    }


async def _finish_building(ctx: Ctx, tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    await registering.add_building(
        tx,
        ctx.member(),
        data["school"],
        name=data["name"],
        use=data["use"],
        floors=data["floors"],
        year_built=data["year"],
    )
    return {
        "name": data["name"],
        "use": ctx.t(f"use.{data['use']}"),
        "floors": data["floors"],
        "year": data["year"],
    }


async def _finish_invite(ctx: Ctx, tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    role = Role(data["role"])
    code = await invitations.invite(
        tx, ctx.member(), role, data["school"], int(data["days"]), int(data["uses"])
    )
    return {
        "role": ctx.t(f"role.{role}"),
        "days": data["days"],
        "uses": data["uses"],
        "link": deep_link(ctx.services.bot_username, code),
        "code": code,
    }


FORMS = {
    form.name: form
    for form in (
        Form(
            "school",
            (
                Field("name", parse=_name),
                Field("kind", choices=lambda ctx, data: SCHOOL_KINDS, label="kind"),
                Field("ownership", choices=lambda ctx, data: OWNERSHIPS, label="ownership"),
                Field("district", parse=_name),
            ),
            _finish_school,
        ),
        Form(
            "building",
            (
                Field("name", parse=_name),
                Field("use", choices=lambda ctx, data: USES, label="use"),
                Field("floors", parse=lambda ctx, text: parse_floors(text)),
                Field("year", parse=lambda ctx, text: parse_year_built(text, ctx.today().year)),
            ),
            _finish_building,
        ),
        Form(
            "invite",
            (
                Field(
                    "role",
                    choices=lambda ctx, data: [
                        r.value for r in invitable_roles(ctx.member(), data["school"])
                    ],
                    label="role",
                ),
                Field(
                    "days", choices=lambda ctx, data: [str(d) for d in EXPIRY_DAYS], label="days"
                ),
                Field(
                    "uses", choices=lambda ctx, data: [str(n) for n in INVITE_USES], label="uses"
                ),
            ),
            _finish_invite,
        ),
    )
}


async def _ask(ctx: Ctx, form: Form, data: dict[str, Any]) -> None:
    field = form.next_field(data)
    assert field is not None
    keyboard: list[list[Button]] | None = None
    if field.choices is not None:
        values = list(field.choices(ctx, data))
        buttons = [
            FormChoice(form.name, field.name, v).labelled(ctx.t(f"{field.label}.{v}"))
            for v in values
        ]
        keyboard = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await ctx.ask(ctx.t(f"form.{form.name}.{field.name}"), keyboard)


async def _start(ctx: Ctx, form: Form, data: dict[str, Any]) -> None:
    async with ctx.write() as tx:
        await begin(tx, ctx.user_id, FILLING[form.name](data))
    await _ask(ctx, form, data)


async def _store(ctx: Ctx, form: Form, data: dict[str, Any], note: str | None = None) -> None:
    """Keep the value; when the form is full, act on it in the same transaction.

    Only once that is stored is the tapped question settled (with ``note``) and the
    next one asked: a crash in between loses nothing, and the tap is not applied twice.
    """
    name = data.get("name")
    result: dict[str, Any] | None = None
    try:
        async with ctx.write() as tx:
            if form.next_field(data) is None:
                result = await form.finish(ctx, tx, data)
                await people.clear_pending(tx, ctx.user_id)
            else:
                await begin(tx, ctx.user_id, FILLING[form.name](data))
    except Duplicate:
        # The name is taken: keep the rest of the form and ask for another name.
        data = {k: v for k, v in data.items() if k != "name"}
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, FILLING[form.name](data))
        await ctx.settle(note)
        await ctx.reply("error.duplicate", name=name)
        await _ask(ctx, form, data)
        return
    await ctx.settle(note)
    if result is None:
        await _ask(ctx, form, data)
    else:
        await ctx.reply(f"form.{form.name}.done", **result)


async def on_text(ctx: Ctx, form_name: str, data: dict[str, Any], text: str) -> bool:
    """A typed value for the form's current field; False when a tap is expected."""
    form = FORMS[form_name]
    field = form.next_field(data)
    if field is None or field.parse is None:
        return False
    await _store(ctx, form, {**data, field.name: field.parse(ctx, text)})
    return True


async def resume(ctx: Ctx, form_name: str, data: dict[str, Any]) -> None:
    await _ask(ctx, FORMS[form_name], data)


@dataclass(frozen=True)
class Filling(Journey):
    """A form being filled in: the values so far; the next field is asked."""

    form: ClassVar[str]
    values: dict[str, Any]

    def stored(self) -> dict[str, Any]:
        return dict(self.values)

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Journey | None:
        return cls(dict(data))

    async def text(self, ctx: Ctx, text: str) -> None:
        if not await on_text(ctx, self.form, self.values, text):
            await super().text(ctx, text)

    async def again(self, ctx: Ctx) -> None:
        await resume(ctx, self.form, self.values)


@journey("form:school")
class FillingSchool(Filling):
    """``/addschool``: name, kind, ownership, district."""

    form = "school"


@journey("form:building")
class FillingBuilding(Filling):
    """``/addbuilding``: name, use, floors, year built."""

    form = "building"


@journey("form:invite")
class FillingInvite(Filling):
    """``/invite``: role, days, uses."""

    form = "invite"


FILLING: dict[str, type[Filling]] = {
    "school": FillingSchool,
    "building": FillingBuilding,
    "invite": FillingInvite,
}


@button("form", legacy="f")
@dataclass(frozen=True)
class FormChoice(Tap):
    """A tapped choice in a form: which form, which field, which value."""

    form: str
    field: str
    value: str

    async def tap(self, ctx: Ctx) -> None:
        await on_choice(ctx, self.form, self.field, self.value)


async def on_choice(ctx: Ctx, form_name: str, field_name: str, value: str) -> None:
    state = await current(ctx)
    form = FORMS.get(form_name)
    if form is None or not isinstance(state, Filling) or state.form != form_name:
        raise Stale()
    data = state.values
    field = form.next_field(data)
    if field is None or field.name != field_name or field.choices is None:
        raise Stale()
    if value not in field.choices(ctx, data):
        raise NotAllowed()
    await _store(ctx, form, {**data, field_name: value}, ctx.t(f"{field.label}.{value}"))


# --- commands ----------------------------------------------------------------


def _managed_school(ctx: Ctx) -> int:
    person = ctx.member()
    managed = managed_schools(person)
    if not managed:
        raise NotAllowed()
    return managed[0]


@entry
async def add_school(ctx: Ctx) -> None:
    """``/addschool``: the task force registers a school and gets the principal's invitation."""
    require(ctx.member().is_taskforce)
    await _start(ctx, FORMS["school"], {})


@entry
async def add_building(ctx: Ctx) -> None:
    """``/addbuilding``: a principal or leader adds a building of their school."""
    await _start(ctx, FORMS["building"], {"school": _managed_school(ctx)})


@entry
async def invite(ctx: Ctx) -> None:
    """``/invite``: an invitation with a role, an expiry and a number of uses."""
    person = ctx.member()
    school = None if person.is_taskforce else _managed_school(ctx)
    await _start(ctx, FORMS["invite"], {"school": school})


@reading
async def list_invitations(ctx: Ctx) -> None:
    """``/invitations``: the usable invitations one may revoke."""
    person = ctx.member()
    school = None if person.is_taskforce else _managed_school(ctx)
    rows = [
        r
        for r in await people.invitations_for(ctx.db, school, ctx.now())
        if may_revoke(person, r.role, school)
    ]
    if not rows:
        await ctx.reply("invitations.none")
        return
    lines: list[str] = []
    buttons: list[list[Button]] = []
    for r in rows:
        lines.append(
            ctx.t(
                "invitations.line",
                code=r.code,
                role=ctx.t(f"role.{r.role}"),
                uses=r.uses,
                max_uses=r.max_uses,
                expires=ctx.moment(r.expires_at),
            )
        )
        buttons.append([Revoke(r.id).labelled(ctx.t("invitations.revoke", code=r.code))])
    room = room_for(ctx.t("invitations.list", lines=""))
    shown = fit(lines, room, lambda count: ctx.t("visible.more", count=count))
    kept = len(shown) if len(shown) == len(lines) else len(shown) - 1
    await ctx.reply("invitations.list", buttons[:kept], lines=Html("\n".join(shown)))


@button("revoke", legacy="rv")
@dataclass(frozen=True)
class Revoke(Tap):
    """Revoke an invitation; its code stops working at once."""

    invitation_id: int

    async def tap(self, ctx: Ctx) -> None:
        await revoke(ctx, self.invitation_id)


async def revoke(ctx: Ctx, invitation_id: int) -> None:
    code = await invitations.revoke(ctx.write, ctx.member(), invitation_id)
    await ctx.settle(ctx.t("invitations.revoked", code=code))
