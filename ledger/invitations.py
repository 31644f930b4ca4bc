"""Invitations: one code, a role, an expiry and a number of uses; revocable."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from ledger.errors import InvitationInvalid
from ledger.roles import CITY_ROLES, Person, Role, invitable_roles

# Choices offered in chat when inviting.
EXPIRY_DAYS = (1, 7, 30)
USES = (1, 10, 50)


@dataclass(frozen=True)
class Invitation:
    """One code: whom it makes what (a role, at a school or the city), until when, how often."""

    id: int
    code: str
    role: Role
    school_id: int | None  # None: a city role
    school_name: str | None
    created_by: int | None  # None: the command line
    expires_at: datetime
    uses: int
    max_uses: int
    revoked: bool


def holds(person: Person, invitation: Invitation) -> bool:
    """Whether the person has the invitation's role where it invites to already."""
    return invitation.role in {
        m.role for m in person.memberships if m.school_id == invitation.school_id
    }


def new_code() -> str:
    """A code for a deep link: letters and digits only, unguessable (~62 bits)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(11))


def check_usable(
    *, expires_at: datetime, uses: int, max_uses: int, revoked: bool, now: datetime
) -> None:
    """Refuse a code that is revoked, expired or used up (in that order)."""
    if revoked:
        raise InvitationInvalid(reason="revoked")
    if now >= expires_at:
        raise InvitationInvalid(reason="expired")
    if uses >= max_uses:
        raise InvitationInvalid(reason="used_up")


def fits(role: Role, school_id: int | None) -> bool:
    """A city role is invited to no school; a school's role to one."""
    return (role in CITY_ROLES) == (school_id is None)


def may_invite(person: Person | None, role: Role, school_id: int | None) -> bool:
    """Whether this invitation may be made: by a person who may hand out the role there
    (``ledger.roles.invitable_roles``), or by the command line's operator (None)."""
    if not fits(role, school_id):
        return False
    return person is None or role in invitable_roles(person, school_id)


def deep_link(bot_username: str | None, code: str) -> str:
    """``https://t.me/<bot>?start=<code>``, or the command when the name is unknown."""
    if bot_username:
        return f"https://t.me/{bot_username}?start={code}"
    return f"/start {code}"


# A typed or pasted code: letters and digits (a mistyped one may be a little
# shorter or longer than ours), or a whole invitation link with ``start=``.
_BARE_CODE = re.compile(r"[A-Za-z0-9]{8,16}")
_LINK_CODE = re.compile(r"[?&]start=([A-Za-z0-9]{1,64})(?:[&#\s]|$)")


def code_in(text: str) -> str | None:
    """The invitation code a person who has not joined typed or pasted, if it looks like one.

    A bare code, ``/start`` is not needed; a pasted invitation link (Telegram's
    or the local chat's) gives its ``start=`` code. A building's QR payload
    (``w_…``) is no invitation code.
    """
    text = text.strip()
    if _BARE_CODE.fullmatch(text):
        return text
    found = _LINK_CODE.search(text)
    if found and " " not in text:
        return found.group(1)
    return None
