"""Telling other people: messages written to the outbox, in each one's language.

A notice is rendered for each recipient in their own language and stored in
the same transaction as the change that causes it, under a key made of what
happened and to whom, so it is sent once even when the change is replayed.
The sending job delivers it (``scheduler.sender``), woken by the database after the
commit (``Database.on_outbox``).

A notice carries what people typed (a hazard's description, a reason, a note,
names); whatever their length as stored, it is made to fit one Telegram message
(``fitted``, through ``telegram_rules.fit``): the typed texts share the room the
rest of the message leaves, each whole when it can be.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ledger.roles import Contact
from storage import outbox
from storage.db import Tx
from telegram_rules import MAX_TEXT
from telegram_rules.fit import html_units, share
from texts import Html, t

Keyboard = Sequence[Sequence[tuple[str, str]]]
# Renders one notice in a language: its text and its buttons.
Render = Callable[[str], tuple[str, Keyboard]]


def fitted(compose: Callable[[dict[str, str]], str], typed: dict[str, str]) -> str:
    """The text ``compose`` makes of the ``typed`` texts, cut so the whole fits a message:
    measured with them empty, the room left is shared among them (``share``)."""
    room = MAX_TEXT - html_units(compose(dict.fromkeys(typed, "")))
    return compose(share(typed, room))


def typed_values(values: dict[str, object]) -> dict[str, str]:
    """The values that are text (names, reasons…), not our own HTML nor numbers."""
    return {k: v for k, v in values.items() if isinstance(v, str) and not isinstance(v, Html)}


def text_only(key: str, **values: object) -> Render:
    """A notice that is one text with values, no buttons."""

    def render(lang: str) -> tuple[str, Keyboard]:
        text = fitted(lambda typed: t(lang, key, **{**values, **typed}), typed_values(values))
        return text, ()

    return render


async def tell(
    tx: Tx,
    recipients: Iterable[Contact],
    *,
    key: str,
    kind: str,
    render: Render,
    photos: Sequence[str] = (),
    skip: int | None = None,
) -> int:
    """Store the notice for each recipient (but ``skip``, the person acting); how many new."""
    stored = 0
    seen: set[int] = set()
    for person in recipients:
        if person.id == skip or person.id in seen:
            continue
        seen.add(person.id)
        text, buttons = render(person.language)
        stored += await outbox.enqueue(
            tx,
            key=f"{key}:{person.id}",
            kind=kind,
            person_id=person.id,
            text=text,
            buttons=buttons,
            photos=photos,
        )
    return stored
