"""Running a school: the task force adds schools; a principal or leader adds
buildings and invites staff; invitations can be listed and revoked.

Each of these is a short form: the fields are asked in order, typed or
tapped (a ``FormChoice`` button). A form being filled in is a journey whose
state is a frozen dataclass of typed fields, ``None`` until given
(``SchoolForm``, ``BuildingForm``, ``InviteForm``), stored as the person's
pending input, so a form also survives a restart; its ``finish`` calls the
use case with the typed values.
"""

from __future__ import annotations

import dataclasses
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self, TypeVar

from cases import campus as registering
from cases import invitations
from handlers.base import Button, Ctx, Services, entry, reading
from handlers.buttons import Tap, button
from handlers.journeys import Journey, begin, current, journey
from handlers.pages import page_line, page_of
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
from storage.db import Query, Row, Tx
from telegram_rules.fit import fit, room_for
from texts import Html

V = TypeVar("V")


@dataclass(frozen=True)
class Field:
    """One question of a form: typed (``read``) or tapped (``choices``).

    ``value`` turns a tapped choice, or a value stored by an older version (whose
    choices were kept as text: ``"7"`` days), into the field's type.
    """

    name: str  # as asked (``form.<form>.<name>``), tapped and stored
    read: Callable[[Ctx, str], object] | None = None
    choices: Callable[[Ctx, Any], Sequence[str]] | None = None
    label: str = ""  # text key prefix for a choice's label, e.g. "use" → use.teaching
    value: Callable[[Any], object] = str
    attr: str = ""  # the form's attribute, when not ``name`` (a journey's ``kind`` is taken)

    @property
    def attribute(self) -> str:
        return self.attr or self.name


def _name(ctx: Ctx, text: str) -> str:
    return clean_text(text, NAME_MAX)


def _given(value: V | None) -> V:
    """A field of a full form (``finish`` runs only once none is missing)."""
    if value is None:
        raise Stale()
    return value


class Filling(Journey):
    """A form being filled in: its typed fields so far; the first one missing is asked.

    Each form is a frozen dataclass of this kind: the fields it asks (``asks``, in
    order), anything known from the start (the school), and ``finish``, which acts on
    the full form in the transaction that ends it.
    """

    form: ClassVar[str]
    asks: ClassVar[tuple[Field, ...]]
    # Fields known from the start, not asked (the school's id): stored as numbers.
    context: ClassVar[tuple[str, ...]] = ()

    def next_field(self) -> Field | None:
        return next((f for f in self.asks if getattr(self, f.attribute) is None), None)

    def filled(self, field: Field, value: object) -> Self:
        return dataclasses.replace(self, **{field.attribute: value})  # type: ignore[type-var]

    def stored(self) -> dict[str, Any]:
        """Each field under its name; one not given yet left out."""
        values = {name: getattr(self, name) for name in self.context}
        values |= {f.name: getattr(self, f.attribute) for f in self.asks}
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Journey | None:
        """The form from its stored fields, typed; a form stored before forms were typed
        (the same names, a tapped choice kept as its text) is read the same way."""
        given: list[tuple[str, str, Callable[[Any], object]]]
        given = [(name, name, int) for name in cls.context]
        given += [(f.name, f.attribute, f.value) for f in cls.asks]
        try:
            values = {
                attribute: None if data[name] is None else read(data[name])
                for name, attribute, read in given
                if name in data
            }
            return cls(**values)
        except (TypeError, ValueError):  # a field missing or unreadable: another version's
            return None

    @abstractmethod
    async def finish(self, ctx: Ctx, tx: Tx) -> dict[str, object]:
        """Act on the full form; the blanks of its ``form.<name>.done`` text."""

    async def text(self, ctx: Ctx, text: str) -> None:
        field = self.next_field()
        if field is None or field.read is None:  # a tap is expected
            await super().text(ctx, text)
            return
        await _store(ctx, self.filled(field, field.read(ctx, text)))

    async def again(self, ctx: Ctx) -> None:
        await _ask(ctx, self)


# --- the forms ---------------------------------------------------------------


@journey("form:school")
@dataclass(frozen=True)
class SchoolForm(Filling):
    """``/addschool``: name, kind, ownership, district."""

    form = "school"
    asks = (
        Field("name", read=_name),
        Field("kind", choices=lambda ctx, form: SCHOOL_KINDS, label="kind", attr="school_kind"),
        Field("ownership", choices=lambda ctx, form: OWNERSHIPS, label="ownership"),
        Field("district", read=_name),
    )
    name: str | None = None
    school_kind: str | None = None
    ownership: str | None = None
    district: str | None = None

    async def finish(self, ctx: Ctx, tx: Tx) -> dict[str, object]:
        name = _given(self.name)
        new = await registering.add_school(
            tx,
            ctx.member(),
            name=name,
            kind=_given(self.school_kind),
            ownership=_given(self.ownership),
            district=_given(self.district),
        )
        return {
            "school": name,
            "link": deep_link(ctx.services.bot_username, new.code),
            "code": new.code,
        }


@journey("form:building")
@dataclass(frozen=True)
class BuildingForm(Filling):
    """``/addbuilding``: name, use, floors, year built, for the school one runs."""

    form = "building"
    asks = (
        Field("name", read=_name),
        Field("use", choices=lambda ctx, form: USES, label="use"),
        Field("floors", read=lambda ctx, text: parse_floors(text), value=int),
        Field("year", read=lambda ctx, text: parse_year_built(text, ctx.today().year), value=int),
    )
    context = ("school",)
    school: int
    name: str | None = None
    use: str | None = None
    floors: int | None = None
    year: int | None = None

    async def finish(self, ctx: Ctx, tx: Tx) -> dict[str, object]:
        name, use = _given(self.name), _given(self.use)
        floors, year = _given(self.floors), _given(self.year)
        await registering.add_building(
            tx, ctx.member(), self.school, name=name, use=use, floors=floors, year_built=year
        )
        return {"name": name, "use": ctx.t(f"use.{use}"), "floors": floors, "year": year}


def _roles(ctx: Ctx, form: InviteForm) -> list[str]:
    return [r.value for r in invitable_roles(ctx.member(), form.school)]


@journey("form:invite")
@dataclass(frozen=True)
class InviteForm(Filling):
    """``/invite``: role, days, uses (school None: the task force's city-wide invitation)."""

    form = "invite"
    asks = (
        Field("role", choices=_roles, label="role", value=Role),
        Field(
            "days", choices=lambda ctx, form: [str(d) for d in EXPIRY_DAYS], label="days", value=int
        ),
        Field(
            "uses", choices=lambda ctx, form: [str(n) for n in INVITE_USES], label="uses", value=int
        ),
    )
    context = ("school",)
    school: int | None = None
    role: Role | None = None
    days: int | None = None
    uses: int | None = None

    async def finish(self, ctx: Ctx, tx: Tx) -> dict[str, object]:
        role, days, uses = _given(self.role), _given(self.days), _given(self.uses)
        code = await invitations.invite(tx, ctx.member(), role, self.school, days, uses)
        return {
            "role": ctx.t(f"role.{role}"),
            "days": days,
            "uses": uses,
            "link": deep_link(ctx.services.bot_username, code),
            "code": code,
        }


# --- filling them in -----------------------------------------------------------


async def _ask(ctx: Ctx, form: Filling) -> None:
    field = form.next_field()
    assert field is not None
    keyboard: list[list[Button]] | None = None
    if field.choices is not None:
        buttons = [
            FormChoice(form.form, field.name, v).labelled(ctx.t(f"{field.label}.{v}"))
            for v in field.choices(ctx, form)
        ]
        keyboard = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await ctx.ask(ctx.t(f"form.{form.form}.{field.name}"), keyboard)


async def _start(ctx: Ctx, form: Filling) -> None:
    async with ctx.write() as tx:
        await begin(tx, ctx.user_id, form)
    await _ask(ctx, form)


async def _store(ctx: Ctx, form: Filling, note: str | None = None) -> None:
    """Keep the value; when the form is full, act on it in the same transaction.

    Only once that is stored is the tapped question settled (with ``note``) and the
    next one asked: a crash in between loses nothing, and the tap is not applied twice.
    """
    result: dict[str, object] | None = None
    try:
        async with ctx.write() as tx:
            if form.next_field() is None:
                result = await form.finish(ctx, tx)
                await people.clear_pending(tx, ctx.user_id)
            else:
                await begin(tx, ctx.user_id, form)
    except Duplicate as taken:
        # The name is taken: keep the rest of the form and ask for another name.
        form = form.filled(next(f for f in form.asks if f.name == "name"), None)
        async with ctx.write() as tx:
            await begin(tx, ctx.user_id, form)
        await ctx.settle(note)
        await ctx.reply("error.duplicate", name=taken.params.get("name", ""))
        await _ask(ctx, form)
        return
    await ctx.settle(note)
    if result is None:
        await _ask(ctx, form)
    else:
        await ctx.say(ctx.t(f"form.{form.form}.done", **result))


@button("form", legacy="f")
@dataclass(frozen=True)
class FormChoice(Tap):
    """A tapped choice in a form: which form, which field, which value."""

    form: str
    field: str
    value: str

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return [people.pending_query(tg_user_id)]

    async def tap(self, ctx: Ctx) -> None:
        state = await current(ctx, ctx.reads)
        if not isinstance(state, Filling) or state.form != self.form:
            raise Stale()
        field = state.next_field()
        if field is None or field.name != self.field or field.choices is None:
            raise Stale()
        if self.value not in field.choices(ctx, state):
            raise NotAllowed()
        note = ctx.t(f"{field.label}.{self.value}")
        await _store(ctx, state.filled(field, field.value(self.value)), note)


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
    await _start(ctx, SchoolForm())


@entry
async def add_building(ctx: Ctx) -> None:
    """``/addbuilding``: a principal or leader adds a building of their school."""
    await _start(ctx, BuildingForm(_managed_school(ctx)))


@entry
async def invite(ctx: Ctx) -> None:
    """``/invite``: an invitation with a role, an expiry and a number of uses."""
    person = ctx.member()
    school = None if person.is_taskforce else _managed_school(ctx)
    await _start(ctx, InviteForm(school))


@reading
async def list_invitations(ctx: Ctx) -> None:
    """``/invitations``: the usable invitations one may revoke, a page at a time."""
    text, rows = await _invitations_page(ctx, 1)
    await ctx.say(text, rows)


@button("invitations_page")
@dataclass(frozen=True)
class InvitationsPage(Tap):
    """Another page of the invitations one may revoke, in place."""

    reads_only = in_place = True
    page: int

    def reads_in(self, services: Services, tg_user_id: int) -> list[Query]:
        return [people.invitations_seen_query(tg_user_id)]

    async def tap(self, ctx: Ctx) -> None:
        seen = (await self.read_first(ctx))[0]
        text, rows = await _invitations_page(ctx, self.page, seen)
        await ctx.edit(text, rows)


async def _invitations_page(
    ctx: Ctx, number: int, seen: list[Row] | None = None
) -> tuple[str, list[list[Button]]]:
    """One page of the list: a line and a revoke button for each invitation on it.
    ``seen``: the invitations the person may see, read ahead (``InvitationsPage``)."""
    person = ctx.member()
    school = None if person.is_taskforce else _managed_school(ctx)
    usable = (
        people.invitations_in(seen, school, ctx.now())
        if seen is not None
        else await people.invitations_for(ctx.db, school, ctx.now())
    )
    found = [r for r in usable if may_revoke(person, r.role, school)]
    if not found:
        return ctx.t("invitations.none"), []
    buttons = [Revoke(r.id).labelled(ctx.t("invitations.revoke", code=r.code)) for r in found]
    page = page_of(ctx, buttons, number, InvitationsPage)
    lines = [
        ctx.t(
            "invitations.line",
            code=r.code,
            role=ctx.t(f"role.{r.role}"),
            uses=r.uses,
            max_uses=r.max_uses,
            expires=ctx.moment(r.expires_at),
        )
        for r in (found[i] for i in page.shown)
    ]
    footer = page_line(ctx, page)
    room = room_for(ctx.t("invitations.list", lines="") + "\n" + footer)
    shown = fit(lines, room, lambda count: ctx.t("visible.more", count=count))
    if len(shown) < len(lines):  # a line left out: so is its button (turns kept)
        kept = len(shown) - 1
        turns = page.rows[len(lines) :]
        rows = page.rows[:kept] + turns
    else:
        rows = page.rows
    text = ctx.t("invitations.list", lines=Html("\n".join(shown)))
    return (text + "\n" + footer if footer else text), rows


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
