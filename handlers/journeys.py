"""What a person is in the middle of: one table of typed journeys.

A journey is a conversation that waits for input (joining, a walk's hazard
questions, a quick report, a fix report, a date and a reason, a form…). Its
pending state is a frozen dataclass registered with ``@journey("name")`` in
the module of the journey, and stored as the person's row in
``pending_inputs`` (``kind`` the name, ``data`` its fields as JSON). The
journey declares how it takes text, a photo, a document and a contact, how
it asks again, and what ``/cancel`` does; the defaults answer "not now" and
ask again. The router and ``/cancel`` look the journey up in ``TABLE``:
adding a journey is one module and its ``@journey`` line.

A stored state no journey reads any more (an older version's, or a row whose
fields no longer fit) is forgotten and the person told, never an error.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from telegram import Document, PhotoSize

from handlers.base import Ctx, Keyboard
from storage import people
from storage.db import Reader, Tx


class Journey(ABC):
    """The base of every journey's pending state."""

    kind: ClassVar[str]  # the name it is stored under (``pending_inputs.kind``)
    # Joining is the one journey of somebody not yet a member.
    members_only: ClassVar[bool] = True
    # What /cancel says once the journey is stopped.
    cancelled: ClassVar[str] = "cancel.done"
    # A typed text counts only for the question on screen (``storage.journeys``).
    checks_shown: ClassVar[bool] = True

    # --- stored ---------------------------------------------------------------------
    def stored(self) -> dict[str, Any]:
        """The fields as stored; an unset optional field is left out."""
        values = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> Journey | None:
        """The state from its stored fields, or None when they do not fit this journey."""
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        try:
            return cls(**{f.name: data[f.name] for f in fields if f.name in data})
        except TypeError:  # a field missing: a state from another version
            return None

    # --- what the person sends --------------------------------------------------------
    async def text(self, ctx: Ctx, text: str) -> None:
        await ctx.reply("common.use_buttons")
        await self.again(ctx)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        await ctx.reply("common.photo_not_now")
        await self.again(ctx)

    async def document(self, ctx: Ctx, document: Document) -> None:
        """A file that is neither a picture nor a spreadsheet to import."""
        await ctx.reply("error.photo.not_image")
        await self.again(ctx)

    async def contact(self, ctx: Ctx, phone: str) -> None:
        await ctx.reply("common.not_understood")

    async def other(self, ctx: Ctx) -> None:
        """A sticker, a voice message, a location…"""
        await ctx.reply("common.not_understood")
        await self.again(ctx)

    @abstractmethod
    async def again(self, ctx: Ctx) -> None:
        """Ask again what the journey waits for."""

    async def still_theirs(self, ctx: Ctx) -> bool:
        """Whether asking again unasked (after a stale tap) still makes sense."""
        return True

    # --- /cancel ------------------------------------------------------------------------
    async def cancel(self, ctx: Ctx, tx: Tx) -> None:
        """Undo, in the transaction that ends the journey, what it left half done."""
        return None  # most journeys leave nothing half done

    async def after_cancel(self, ctx: Ctx) -> Keyboard | None:
        """The buttons shown with the "cancelled" answer (e.g. to resume a walk)."""
        return None


TABLE: dict[str, type[Journey]] = {}
J = TypeVar("J", bound=type[Journey])


def journey(name: str) -> Callable[[J], J]:
    """Register a journey's state under ``name``, the ``kind`` it is stored as (once)."""

    def register(cls: J) -> J:
        if name in TABLE:
            raise ValueError(f"journey {name!r} registered twice")
        cls.kind = name
        TABLE[name] = cls
        return cls

    return register


async def begin(tx: Tx, tg_user_id: int, state: Journey) -> None:
    """Store what the person is in the middle of now (replacing whatever was pending)."""
    await people.set_pending(tx, tg_user_id, state.kind, state.stored())


def load(kind: str, data: dict[str, Any]) -> Journey | None:
    """The journey of a stored pending input, or None when no journey reads it."""
    cls = TABLE.get(kind)
    return None if cls is None else cls.restore(data)


async def current(ctx: Ctx, db: Reader | None = None) -> Journey | None:
    """What this person is in the middle of; a state no journey reads is forgotten."""
    waiting = await people.pending(db or ctx.db, ctx.user_id)
    if waiting is None:
        return None
    state = load(*waiting)
    if state is None:
        async with ctx.write() as tx:
            await people.clear_pending(tx, ctx.user_id)
        await ctx.reply("journeys.forgotten")
    return state
