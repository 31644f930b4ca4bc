"""Invitations as actions: make one (chat's ``/invite`` form, ``xiaoan invite``), revoke
one, join with one (somebody new) or take its role (a member).

``invite`` runs inside the caller's transaction, since the chat makes an
invitation as the last step of a form whose state ends in the same commit;
the rule (``ledger.invitations.may_invite``) is checked there. ``person``
None is the command line's operator.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from ledger.errors import NotAllowed, Stale
from ledger.invitations import Invitation, holds, may_invite
from ledger.roles import Person, Role, may_revoke
from storage import campus, people
from storage.db import Tx

Write = Callable[[], AbstractAsyncContextManager[Tx]]


async def invite(
    tx: Tx, person: Person | None, role: Role, school_id: int | None, days: int, uses: int
) -> str:
    """A new invitation's code: ``role`` at ``school_id``, for ``days``, ``uses`` times."""
    if days < 1 or uses < 1 or not may_invite(person, role, school_id):
        raise NotAllowed()
    if school_id is not None and await campus.school(tx, school_id) is None:
        raise NotAllowed()
    return await people.create_invitation(
        tx,
        role=role,
        school_id=school_id,
        created_by=person.id if person else None,
        days=days,
        max_uses=uses,
    )


async def revoke(write: Write, person: Person, invitation_id: int) -> str:
    """Revoke an invitation (its code stops working at once); the code revoked. Refused
    (``NotAllowed``) unless this person may hand out its role there; ``Stale`` when it
    was revoked already."""
    async with write() as tx:
        found = await people.invitation(tx, invitation_id)
        if found is None or not may_revoke(person, found.role, found.school_id):
            raise NotAllowed()
        if not await people.revoke_invitation(tx, found.id, person.id):
            raise Stale()
    return found.code


async def take_role(write: Write, person: Person, invitation: Invitation) -> bool:
    """A member who uses another invitation gets its role too; False (nothing stored)
    when they have it there already. The code is checked again as it is used."""
    if holds(person, invitation):
        return False
    async with write() as tx:
        used = await people.use_invitation(tx, invitation.code, person.id)
        await people.add_membership(
            tx, person_id=person.id, school_id=used.school_id, role=used.role, invitation_id=used.id
        )
    return True


async def join(
    write: Write, *, tg_user_id: int, chat_id: int, language: str, code: str, name: str, phone: str
) -> Invitation:
    """Somebody new joins with a code, their name and phone: a person with the code's role,
    and what they were typing for ends. An unusable code (``InvitationInvalid``) stores
    nothing."""
    async with write() as tx:
        person_id = await people.create_person(
            tx, tg_user_id=tg_user_id, chat_id=chat_id, name=name, phone=phone, language=language
        )
        used = await people.use_invitation(tx, code, person_id)
        await people.add_membership(
            tx, person_id=person_id, school_id=used.school_id, role=used.role, invitation_id=used.id
        )
        await people.clear_pending(tx, tg_user_id)
    return used
