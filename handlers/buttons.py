"""Buttons as small typed records that pack and unpack their own callback data.

A button kind is a frozen dataclass registered with ``@button("code")``: its
fields (``int``, ``bool``, a ``StrEnum`` or a short ``str``) are what the tap
answers, and its async ``tap(ctx)`` does what the button does, checking the
person's rights again (whatever the data says). Its data is
``j<version>:<code>:<field>:...``, at most Telegram's 64 bytes (checked when
packed). ``bot.app`` registers one callback handler for every kind
(``on_tap``); no callback string is written or parsed anywhere else.

Buttons already in people's chats keep working or are answered as stale,
never with an error: data of this version is unpacked; data from before
typed buttons (``a:12:34:ok``, version 0) is read through the ``legacy``
prefix a kind declares, its fields in the same order; anything else (another
version, an unknown code, the wrong number of fields) is stale. A field that
is not what its type says (crafted data) is refused.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

from telegram import Update
from telegram.ext import ContextTypes

from handlers.base import Button, Ctx, Services, entry, plain, reading, turning
from ledger.errors import BadId, NotAllowed, Stale, XiaoanError
from ledger.ids import parse_id
from storage.db import Query, Row
from telegram_rules.fit import clip

VERSION = 1
PREFIX = f"j{VERSION}"
DATA_MAX = 64  # Telegram's limit on callback data, in bytes
WORD = re.compile(r"^[A-Za-z0-9_-]{1,16}$")  # what a str field (and a code) may hold
VERSIONED = re.compile(r"^j\d+:")
YES, NO = "y", "n"  # a bool field, as it always travelled


class Tap(ABC):
    """A tapped button: the base of every button kind."""

    code: ClassVar[str]
    # The prefix this kind's data had before typed buttons (version 0), if any.
    legacy: ClassVar[str | None] = None
    # A tap that only reads is marked done before it answers (``handlers.base.reading``).
    reads_only: ClassVar[bool] = False
    # A tap that only reads and edits the tapped message in place (a list turning its
    # page): answered again after a crash, it shows what the message shows already, so
    # it is marked done with others soon after, not in a commit of its own
    # (``handlers.base.turning``).
    in_place: ClassVar[bool] = False
    # A tap that shows a walk's items or counts them: the checklist in force is read with
    # its first reads, the first time (it never changes: kept for the connection's life).
    uses_checklist: ClassVar[bool] = False

    @abstractmethod
    async def tap(self, ctx: Ctx) -> None:
        """Each kind says what it does."""

    def first_reads(self) -> Sequence[Query]:
        """Reads this tap needs, known from its data alone: read with the person in one
        trip, before ``tap`` runs (``Ctx.first_reads``). None by default."""
        return ()

    def reads_in(self, services: Services, tg_user_id: int) -> Sequence[Query]:
        """``first_reads``, for a kind whose reads also name what the bot runs with (the
        campaign in force) or who taps: known before the tap runs all the same."""
        return self.first_reads()

    async def read_first(self, ctx: Ctx) -> list[list[Row]]:
        """This tap's first reads: as the guard read them with the person, or (a tap
        handled without the guard) in one trip now."""
        if ctx.first_reads:
            return ctx.first_reads
        queries = self.reads_in(ctx.services, ctx.user_id)
        found: list[list[Row]] = await ctx.db.read_many(queries) if queries else []
        return found

    def pack(self) -> str:
        """The callback data: version, code, fields."""
        values = [_pack_field(getattr(self, f.name)) for f in dataclasses.fields(self)]  # type: ignore[arg-type]
        data = ":".join([PREFIX, self.code, *values])
        if len(data.encode()) > DATA_MAX:
            raise ValueError(f"callback data over {DATA_MAX} bytes: {data}")
        return data

    def labelled(self, label: str) -> Button:
        """A button with this label (plain text, as buttons show it)."""
        return (label, self.pack())

    def as_button(self, label: str) -> Button:
        """A button labelled with our HTML text, shown as the reader sees it."""
        return (plain(label), self.pack())


KINDS: dict[str, type[Tap]] = {}
_LEGACY: dict[tuple[str, int], type[Tap]] = {}
T = TypeVar("T", bound=type[Tap])


def button(code: str, legacy: str | None = None) -> Callable[[T], T]:
    """Register a button kind under ``code`` (once); ``legacy``: its data's old prefix."""

    def register(cls: T) -> T:
        if code in KINDS or not WORD.match(code):
            raise ValueError(f"button code {code!r} taken or malformed")
        cls.code = code
        cls.legacy = legacy
        KINDS[code] = cls
        if legacy is not None:
            key = (legacy, len(dataclasses.fields(cls)))  # type: ignore[arg-type]
            if key in _LEGACY:
                raise ValueError(f"legacy prefix {legacy!r} taken")
            _LEGACY[key] = cls
        return cls

    return register


def _pack_field(value: object) -> str:
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, StrEnum):
        return value.value
    text = str(value)
    if isinstance(value, str) and not WORD.match(text):
        raise ValueError(f"button field {text!r} is not a short word")
    return text


def _field(kind: Any, raw: str) -> object:
    if kind is bool:
        if raw not in (YES, NO):
            raise NotAllowed()
        return raw == YES
    if kind is int:
        found = parse_id(raw)
        if found is None:
            raise BadId(value=clip(raw, 24))
        return found
    if isinstance(kind, type) and issubclass(kind, StrEnum):
        try:
            return kind(raw)
        except ValueError:
            raise NotAllowed() from None
    if not WORD.match(raw):
        raise NotAllowed()
    return raw


@functools.cache
def _hints(cls: type[Tap]) -> dict[str, Any]:
    """A kind's field types, worked out once (``get_type_hints`` costs a tap 0.25 ms)."""
    return typing.get_type_hints(cls)


def _build(cls: type[Tap], raw: list[str]) -> Tap:
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if len(raw) != len(fields):
        raise Stale()
    hints = _hints(cls)
    values = {f.name: _field(hints[f.name], r) for f, r in zip(fields, raw, strict=True)}
    return cls(**values)


def kind_of(data: str) -> tuple[type[Tap], list[str]]:
    """The kind a callback's data names and its raw fields; stale when none."""
    if VERSIONED.match(data):
        version, code, *raw = data.split(":")
        cls = KINDS.get(code) if version == PREFIX else None
        if cls is None:
            raise Stale()
        return cls, raw
    fields = data.split(":")
    for size in (2, 1):  # an old prefix of two parts first: ``r:fx`` before ``r``
        prefix, raw = ":".join(fields[:size]), fields[size:]
        found = _LEGACY.get((prefix, len(raw)))
        if found is not None:
            return found, raw
    raise Stale()


@functools.lru_cache(maxsize=1024)
def unpack(data: str) -> Tap:
    """The button a callback's data names; stale or refused otherwise.

    Kept for the data seen last (a button is a frozen record of its data alone): a tap
    is unpacked by the guard, by the callback handler and by its ``tap``, and a
    question's buttons are tapped again and again (a refusal is not kept: it is raised).
    """
    cls, raw = kind_of(data)
    return _build(cls, raw)


def first_reads(update: Update, services: Services) -> Sequence[Query]:
    """A tapped button's own first reads; none for another update, or when its data is
    stale or refused (``_tap`` answers that)."""
    query = update.callback_query
    if query is None:
        return ()
    try:
        user = update.effective_user
        return unpack(query.data or "").reads_in(services, user.id if user else 0)
    except XiaoanError:
        return ()


def uses_checklist(update: Update) -> bool:
    """Whether a tapped button shows or counts a walk's items (``Tap.uses_checklist``)."""
    query = update.callback_query
    if query is None:
        return False
    try:
        return unpack(query.data or "").uses_checklist
    except XiaoanError:
        return False


async def _tap_handler(ctx: Ctx) -> None:
    await unpack(ctx.tap_data).tap(ctx)


_tap = entry(_tap_handler, first_reads=first_reads)


async def _read_tap_handler(ctx: Ctx) -> None:
    await unpack(ctx.tap_data).tap(ctx)


_read_tap = reading(_read_tap_handler, first_reads=first_reads)
_turn = turning(_read_tap_handler, first_reads=first_reads)


async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any tapped button: unpacked, then it acts (a tap that only reads, marked first;
    one that turns a page in place, marked soon after)."""
    query = update.callback_query
    try:
        kind = unpack((query.data or "") if query else "")
    except XiaoanError:
        kind = None  # answered as stale or refused by ``_tap``
    handler: Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]] = _tap
    if kind is not None and kind.in_place:
        handler = _turn
    elif kind is not None and kind.reads_only:
        handler = _read_tap
    await handler(update, context)
