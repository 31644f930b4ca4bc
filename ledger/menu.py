"""Which commands a person is shown, by their roles: the command menu and ``/help``.

A stranger sees only how to join; every member what everyone has; school
members the walk and their tasks; managers and the task force what they run.
"""

from __future__ import annotations

from collections.abc import Collection

from ledger.roles import CITY_ROLES, SCHOOL_MANAGERS, Role

# The menu's order: what is done most first.
ORDER = (
    "start",
    "inspect",
    "tasks",
    "progress",
    "export",
    "reminders",
    "addbuilding",
    "invite",
    "invitations",
    "addschool",
    "supervise",
    "draw",
    "visits",
    "whoami",
    "cancel",
    "help",
)
STRANGER = frozenset({"start", "help"})
EVERYONE = frozenset({"progress", "reminders", "whoami", "cancel", "help"})
SCHOOL = frozenset({"inspect", "tasks"})
MANAGER = frozenset({"addbuilding", "invite", "invitations", "export"})
TASKFORCE = frozenset({"export", "addschool", "invite", "invitations", "draw", "visits"})
SUPERVISOR = frozenset({"supervise", "draw", "visits"})


def menu_for(roles: Collection[Role]) -> tuple[str, ...]:
    """The commands in this person's menu, in order (a stranger's without roles)."""
    present = set(roles)
    if not present:
        shown = set(STRANGER)
    else:
        shown = set(EVERYONE)
        if present - CITY_ROLES:
            shown |= SCHOOL
        if present & SCHOOL_MANAGERS:
            shown |= MANAGER
        if Role.TASKFORCE in present:
            shown |= TASKFORCE
        if Role.SUPERVISOR in present:
            shown |= SUPERVISOR
    return tuple(name for name in ORDER if name in shown)
