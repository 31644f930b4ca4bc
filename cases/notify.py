"""Telling other people: messages written to the outbox, in each one's language.

A notice is rendered for each recipient in their own language and stored in
the same transaction as the change that causes it, under a key made of what
happened and to whom, so it is sent once even when the change is replayed.
The sending job delivers it (``scheduler.sender``), woken by the database after the
commit (``Database.on_outbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ledger.roles import Contact
from storage import outbox
from storage.db import Tx
from texts import t

Keyboard = Sequence[Sequence[tuple[str, str]]]
# Renders one notice in a language: its text and its buttons.
Render = Callable[[str], tuple[str, Keyboard]]


def text_only(key: str, **values: object) -> Render:
    """A notice that is one text with values, no buttons."""
    return lambda lang: (t(lang, key, **values), ())


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
