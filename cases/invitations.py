"""Invitations as actions: make one (chat's ``/invite`` form, ``xiaoan invite``), revoke one.

``invite`` runs inside the caller's transaction, since the chat makes an
invitation as the last step of a form whose state ends in the same commit;
the rule (``ledger.invitations.may_invite``) is checked there. ``person``
None is the command line's operator.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from ledger.errors import NotAllowed, Stale
from ledger.invitations import may_invite
from ledger.roles import Person, Role, may_revoke
from storage import campus, people
from storage.db import Tx


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


async def revoke(
    write: Callable[[], AbstractAsyncContextManager[Tx]], person: Person, invitation_id: int
) -> str:
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
