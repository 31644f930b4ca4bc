"""Buttons as small typed records that pack and unpack their own callback data.

A button class is a frozen dataclass of ``int`` and short ``str`` fields,
registered under a short code with ``@button("code")``; it has an async
``tap(ctx)`` that does what the button does. Its data is
``j<version>:<code>:<field>:<field>...`` (at most Telegram's 64 bytes,
checked when packed). One callback prefix (``PATTERN``) is registered once in
``bot.app``; ``on_tap`` unpacks and calls the button. Data from another
version, an unknown code or the wrong number of fields is stale; a field that
is not what its type says (crafted data) is refused. Whatever a button says,
its ``tap`` checks the person's rights again on the server.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from handlers.base import Button, Ctx, entry, plain
from ledger.errors import NotAllowed, Stale

VERSION = 1
PREFIX = f"j{VERSION}"
PATTERN = r"^j\d+:"  # every version: an old one is answered as stale, not as unknown
DATA_MAX = 64  # Telegram's limit on callback data, in bytes
WORD = re.compile(r"^[a-z0-9_]{1,16}$")  # what a str field may hold


class Tap(ABC):
    """A tapped button: the base of every button record."""

    code: ClassVar[str]

    @abstractmethod
    async def tap(self, ctx: Ctx) -> None:
        """Each kind says what it does."""

    def pack(self) -> str:
        """The callback data: version, code, fields."""
        values = [str(getattr(self, f.name)) for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        data = ":".join([PREFIX, self.code, *values])
        if len(data.encode()) > DATA_MAX:
            raise ValueError(f"callback data over {DATA_MAX} bytes: {data}")
        return data

    def as_button(self, label: str) -> Button:
        """A button with this label: our HTML text, shown as the reader sees it."""
        return (plain(label), self.pack())


_REGISTRY: dict[str, type[Tap]] = {}
T = TypeVar("T", bound=type[Tap])


def button(code: str) -> Callable[[T], T]:
    """Register a button class under ``code`` (once)."""

    def register(cls: T) -> T:
        if code in _REGISTRY or not WORD.match(code) or ":" in code:
            raise ValueError(f"button code {code!r} taken or malformed")
        cls.code = code
        _REGISTRY[code] = cls
        return cls

    return register


def _field(kind: Any, raw: str) -> object:
    if kind is int:
        if not raw.isdigit() or len(raw) > 12:
            raise NotAllowed()
        return int(raw)
    if not WORD.match(raw):
        raise NotAllowed()
    return raw


def unpack(data: str) -> Tap:
    """The button a callback's data names; stale or refused otherwise."""
    version, _, rest = data.partition(":")
    if version != PREFIX:
        raise Stale()
    code, *raw = rest.split(":")
    cls = _REGISTRY.get(code)
    if cls is None:
        raise Stale()
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if len(raw) != len(fields):
        raise Stale()
    hints = typing.get_type_hints(cls)
    values = {f.name: _field(hints[f.name], r) for f, r in zip(fields, raw, strict=True)}
    return cls(**values)


@entry
async def on_tap(ctx: Ctx) -> None:
    """A tapped typed button: unpacked, then it acts (checking rights itself)."""
    await unpack(ctx.tap_data).tap(ctx)
