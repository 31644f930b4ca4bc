"""Small named exceptions for refused actions.

Each carries a ``code`` that the handlers map to a text in the user's
language (``error.<code>`` in the locale files), plus the values that text
needs. The mapping lives in one place: ``handlers.base``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class XiaoanError(Exception):
    """Base class: an action refused for a reason the user should be told."""

    code = "generic"

    def __init__(self, **params: Any) -> None:
        super().__init__(self.code, params)
        self.params = params

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its values when it crosses a process boundary (a refusal
        # raised in a worker process, such as a photo refused as a bomb).
        return (functools.partial(type(self), **self.params), ())


class NotAllowed(XiaoanError):
    """The person has no right to do this (or to see this object)."""

    code = "not_allowed"


class NotMember(XiaoanError):
    """The person has not joined with an invitation yet."""

    code = "not_member"


class InvitationInvalid(XiaoanError):
    """The invitation code is unknown, expired, used up or revoked (see ``reason``)."""

    code = "invitation"


class BadDate(XiaoanError):
    """A typed date that does not parse."""

    code = "bad_date"


class PastDate(XiaoanError):
    """A deadline that lies before today."""

    code = "past_date"


class BadNumber(XiaoanError):
    """A number out of range or not a number (floors, year built)."""

    code = "bad_number"


class TooLong(XiaoanError):
    """Text longer than the field allows."""

    code = "too_long"


class EmptyText(XiaoanError):
    """Text that is blank once stripped."""

    code = "empty_text"


class InvisibleText(EmptyText):
    """Text with nothing visible once invisible and control characters are removed."""

    code = "invisible_text"


class BadPhone(XiaoanError):
    """A phone number that does not look like one."""

    code = "bad_phone"


class Duplicate(XiaoanError):
    """A name already used where names must be unique (a building in a school)."""

    code = "duplicate"


@dataclass(frozen=True)
class Holder:
    """Who holds a walk another person asked for, and since when."""

    walk_id: int
    walker_id: int
    last_step: datetime  # the holder's last step, as stored
    minutes: int  # whole minutes from that step to the refusal


class WalkLocked(XiaoanError):
    """Somebody else walks this building: ``busy`` (in use) or ``idle`` (theirs to take
    over, with ``holder``), or ``taken`` (the asker's own walk, taken over since)."""

    code = "walk_locked"

    def __init__(self, *, reason: str, building: str, holder: Holder | None = None) -> None:
        if (holder is None) != (reason == "taken"):
            raise ValueError(f"a walk locked as {reason!r} names its holder exactly when held")
        Exception.__init__(self, self.code, reason, building)
        self.reason = reason
        self.building = building
        self.holder = holder

    @property
    def params(self) -> dict[str, Any]:  # type: ignore[override]
        """The values the refusal's text takes (``handlers.base.error_text``)."""
        found: dict[str, Any] = {"reason": self.reason, "building": self.building}
        if self.holder is not None:
            found["minutes"] = self.holder.minutes
        return found

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            functools.partial(
                type(self), reason=self.reason, building=self.building, holder=self.holder
            ),
            (),
        )


class AlreadyClosed(XiaoanError):
    """The building's inspection in this campaign is already closed."""

    code = "already_closed"


class Stale(XiaoanError):
    """A button from an old message: its question is already answered."""

    code = "stale"


class PhotoRejected(XiaoanError):
    """A photo that is not an image, too large, a decompression bomb or corrupt."""

    code = "photo"


class ConfigError(Exception):
    """A wrong setting; the message names the key and fits on one line."""


class WrongState(XiaoanError):
    """The hazard is not in a state where this action applies (``state`` says which)."""

    code = "wrong_state"


class OwnFix(XiaoanError):
    """Separation of duties: the person who reported a fix cannot verify it."""

    code = "own_fix"


class NeedPhoto(XiaoanError):
    """A fix report needs at least one after-photo (no paper rectification)."""

    code = "need_photo"


class NotLater(XiaoanError):
    """A deadline extension must ask for a date after the current deadline."""

    code = "not_later"


class BadId(XiaoanError):
    """A number that cannot name anything: not ASCII digits, or past SQLite's integers."""

    code = "bad_id"
