"""What a person is in the middle of, as typed records stored in the database.

A journey's state is a frozen dataclass registered with ``@journey("name")``
and stored as the person's pending input (kind ``KIND``, its fields as JSON
with the name and a version). Its methods answer what the person sends next:
``text``, ``photo`` and ``again`` (ask the question again). The router hands
typed text and photos to ``on_text`` and ``on_photo`` when the pending input
is a journey; everything else about it lives with the journey itself.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from telegram import Document, PhotoSize

from handlers.base import Ctx
from storage import people
from storage.db import Tx

KIND = "journey"
VERSION = 1


class Journey(ABC):
    """The base of every journey state."""

    name: ClassVar[str]

    async def text(self, ctx: Ctx, text: str) -> None:
        await ctx.reply("common.use_buttons")
        await self.again(ctx)

    async def photo(self, ctx: Ctx, picture: PhotoSize | Document) -> None:
        await ctx.reply("common.photo_not_now")
        await self.again(ctx)

    @abstractmethod
    async def again(self, ctx: Ctx) -> None:
        """Each kind says what it does."""

    def data(self) -> dict[str, Any]:
        fields = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {"journey": self.name, "v": VERSION, **fields}


_REGISTRY: dict[str, type[Journey]] = {}
J = TypeVar("J", bound=type[Journey])


def journey(name: str) -> Callable[[J], J]:
    def register(cls: J) -> J:
        if name in _REGISTRY:
            raise ValueError(f"journey {name!r} registered twice")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return register


async def begin(tx: Tx, tg_user_id: int, state: Journey) -> None:
    """Store what the person is in the middle of now (replacing whatever was pending)."""
    await people.set_pending(tx, tg_user_id, KIND, state.data())


def load(data: dict[str, Any]) -> Journey | None:
    """The stored state, or None when it is of another version or journey."""
    cls = _REGISTRY.get(data.get("journey", ""))
    if cls is None or data.get("v") != VERSION:
        return None
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        return None


async def _current(ctx: Ctx, data: dict[str, Any]) -> Journey | None:
    state = load(data)
    if state is None:  # left by an older version: forgotten, the person starts again
        async with ctx.write() as tx:
            await people.clear_pending(tx, ctx.user_id)
        await ctx.reply("journey.forgotten")
    return state


async def on_text(ctx: Ctx, data: dict[str, Any], text: str) -> None:
    state = await _current(ctx, data)
    if state is not None:
        await state.text(ctx, text)


async def on_photo(ctx: Ctx, data: dict[str, Any], picture: PhotoSize | Document) -> None:
    state = await _current(ctx, data)
    if state is not None:
        await state.photo(ctx, picture)


async def again(ctx: Ctx, data: dict[str, Any]) -> None:
    state = await _current(ctx, data)
    if state is not None:
        await state.again(ctx)
