"""ledger.roles, ledger.invitations and ledger.buildings: rights, codes, typed fields."""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ledger.buildings import (
    MAX_FLOORS,
    NAME_MAX,
    TEXT_MAX,
    clean_text,
    parse_floors,
    parse_phone,
    parse_year_built,
)
from ledger.errors import (
    BadNumber,
    BadPhone,
    EmptyText,
    InvitationInvalid,
    NotAllowed,
    NotMember,
    TooLong,
)
from ledger.invitations import check_usable, deep_link, new_code
from ledger.roles import (
    Membership,
    Person,
    Role,
    can_manage_school,
    can_read_school,
    can_walk,
    invitable_roles,
    require,
    require_member,
)

OWN, OTHER = 1, 2


def person(*memberships: Membership) -> Person:
    return Person(id=1, name="某人", phone="13800138000", memberships=memberships)


PEOPLE = {
    "taskforce": person(Membership(Role.TASKFORCE, None)),
    "supervisor": person(Membership(Role.SUPERVISOR, None)),
    "principal": person(Membership(Role.PRINCIPAL, OWN, "实验小学")),
    "leader": person(Membership(Role.LEADER, OWN, "实验小学")),
    "staff": person(Membership(Role.STAFF, OWN, "实验小学")),
    "nobody": person(),
}


# --- require_member -------------------------------------------------------------


@pytest.mark.parametrize("who", ["taskforce", "supervisor", "principal", "leader", "staff"])
def test_require_member_passes_members(who):
    """Anyone with a membership is let in, and returned as is."""
    assert require_member(PEOPLE[who]) is PEOPLE[who]


@pytest.mark.parametrize("who", [None, PEOPLE["nobody"]])
def test_require_member_refuses_strangers(who):
    """No person, or a person without any membership, sees nothing."""
    with pytest.raises(NotMember):
        require_member(who)


def test_require():
    require(True)
    with pytest.raises(NotAllowed):
        require(False)


# --- rights per role -----------------------------------------------------------------

# who: (read own, read other, walk own, walk other, manage own, manage other)
RIGHTS = {
    "taskforce": (True, True, False, False, False, False),
    "supervisor": (True, True, False, False, False, False),
    "principal": (True, False, True, False, True, False),
    "leader": (True, False, True, False, True, False),
    "staff": (True, False, True, False, False, False),
    "nobody": (False, False, False, False, False, False),
}


@pytest.mark.parametrize("who", list(RIGHTS))
def test_rights(who):
    """City roles read every school; school roles act only inside their own school."""
    p = PEOPLE[who]
    got = (
        can_read_school(p, OWN),
        can_read_school(p, OTHER),
        can_walk(p, OWN),
        can_walk(p, OTHER),
        can_manage_school(p, OWN),
        can_manage_school(p, OTHER),
    )
    assert got == RIGHTS[who]


def test_member_of_two_schools():
    """A person in two schools acts in each with the role held there."""
    p = person(Membership(Role.STAFF, OWN), Membership(Role.PRINCIPAL, OTHER))
    assert can_walk(p, OWN) and can_walk(p, OTHER)
    assert not can_manage_school(p, OWN)
    assert can_manage_school(p, OTHER)
    assert not can_read_school(p, 3)
    assert p.school_ids == [OWN, OTHER]
    assert p.roles_in(OTHER) == {Role.PRINCIPAL}


def test_school_ids_in_join_order_without_repeats_or_city_roles():
    p = person(
        Membership(Role.TASKFORCE, None),
        Membership(Role.STAFF, 5),
        Membership(Role.LEADER, 3),
        Membership(Role.PRINCIPAL, 5),
    )
    assert p.school_ids == [5, 3]
    assert p.is_taskforce
    assert not PEOPLE["supervisor"].is_taskforce


# --- invitable_roles -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "school", "expected"),
    [
        ("taskforce", None, [Role.TASKFORCE, Role.SUPERVISOR]),
        ("taskforce", OWN, [Role.PRINCIPAL, Role.LEADER, Role.STAFF]),
        ("taskforce", OTHER, [Role.PRINCIPAL, Role.LEADER, Role.STAFF]),
        ("supervisor", None, []),
        ("supervisor", OWN, []),
        ("principal", None, []),
        ("principal", OWN, [Role.LEADER, Role.STAFF]),
        ("principal", OTHER, []),
        ("leader", None, []),
        ("leader", OWN, [Role.STAFF]),
        ("leader", OTHER, []),
        ("staff", None, []),
        ("staff", OWN, []),
        ("staff", OTHER, []),
        ("nobody", None, []),
        ("nobody", OWN, []),
    ],
)
def test_invitable_roles(who, school, expected):
    """Task force invites city colleagues and any school role; a principal leaders and staff;
    a leader staff only."""
    assert invitable_roles(PEOPLE[who], school) == expected


def test_nobody_invites_a_principal_but_the_taskforce():
    """A principal cannot appoint another principal, even in their own school."""
    for who in ("supervisor", "principal", "leader", "staff"):
        assert Role.PRINCIPAL not in invitable_roles(PEOPLE[who], OWN)


# --- invitations --------------------------------------------------------------------

NOW = datetime(2027, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
LATER = NOW + timedelta(days=7)


@pytest.mark.parametrize(
    ("expires_at", "uses", "max_uses", "revoked", "reason"),
    [
        (LATER, 0, 1, True, "revoked"),
        (NOW - timedelta(days=1), 1, 1, True, "revoked"),  # revoked beats expired, used up
        (NOW, 1, 1, True, "revoked"),
        (NOW - timedelta(seconds=1), 5, 1, False, "expired"),  # expired beats used up
        (NOW, 0, 1, False, "expired"),  # expiring right now counts as expired
        (LATER, 1, 1, False, "used_up"),
        (LATER, 10, 10, False, "used_up"),
        (LATER, 11, 10, False, "used_up"),
    ],
)
def test_check_usable_refuses(expires_at, uses, max_uses, revoked, reason):
    """Revoked, then expired, then used up: the first that applies is the reason."""
    with pytest.raises(InvitationInvalid) as caught:
        check_usable(expires_at=expires_at, uses=uses, max_uses=max_uses, revoked=revoked, now=NOW)
    assert caught.value.params == {"reason": reason}


@pytest.mark.parametrize(
    ("expires_at", "uses", "max_uses"),
    [
        (LATER, 0, 1),
        (LATER, 9, 10),
        (NOW + timedelta(seconds=1), 0, 1),
    ],
)
def test_check_usable_accepts(expires_at, uses, max_uses):
    """A code neither revoked, expired nor used up passes silently."""
    check_usable(expires_at=expires_at, uses=uses, max_uses=max_uses, revoked=False, now=NOW)


ALNUM = set(string.ascii_letters + string.digits)


def test_new_code_shape():
    """Eleven ASCII letters and digits, safe in a /start deep link."""
    for _ in range(200):
        code = new_code()
        assert len(code) == 11
        assert set(code) <= ALNUM


def test_new_code_avoids_look_alikes():
    """No 0/O, 1/l/I: people may read a code aloud or type it."""
    letters = set("".join(new_code() for _ in range(500)))
    assert not letters & set("0O1lI")


def test_new_codes_are_unique():
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("xiaoan_bot", "https://t.me/xiaoan_bot?start=AbC23456789"),
        (None, "/start AbC23456789"),
        ("", "/start AbC23456789"),
    ],
)
def test_deep_link(username, expected):
    """With the bot's username a t.me link; without it the command to type."""
    assert deep_link(username, "AbC23456789") == expected


def test_deep_link_fits_telegram_start_parameter():
    """Telegram allows up to 64 characters A-Z a-z 0-9 _ - in a start parameter."""
    code = new_code()
    start = deep_link("xiaoan_bot", code).split("start=", 1)[1]
    assert start == code
    assert len(start) <= 64


# --- typed fields: clean_text ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("  教学楼A  ", NAME_MAX, "教学楼A"),
        ("教学楼   A\t座", NAME_MAX, "教学楼 A 座"),  # names: runs of whitespace fold
        ("第一行\n第二行", NAME_MAX, "第一行 第二行"),
        ("  第一行\n\n第二行  ", TEXT_MAX, "第一行\n\n第二行"),  # long text keeps its lines
        ("a" * NAME_MAX, NAME_MAX, "a" * NAME_MAX),
        ("x" * TEXT_MAX, TEXT_MAX, "x" * TEXT_MAX),
        ("a" + " " * 100 + "b", NAME_MAX, "a b"),  # folding happens before the length check
    ],
)
def test_clean_text(text, limit, expected):
    assert clean_text(text, limit) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\u3000"])
def test_clean_text_refuses_blank(text):
    """Blank text (full-width space included) is refused."""
    with pytest.raises(EmptyText):
        clean_text(text)


@pytest.mark.parametrize(
    ("text", "limit"),
    [("a" * (NAME_MAX + 1), NAME_MAX), ("x" * (TEXT_MAX + 1), TEXT_MAX), ("x" * 10_000, TEXT_MAX)],
)
def test_clean_text_refuses_too_long(text, limit):
    """Too long text names the limit and the length for the user's message."""
    with pytest.raises(TooLong) as caught:
        clean_text(text, limit)
    assert caught.value.params == {"limit": limit, "length": len(text)}


# --- parse_floors, parse_year_built, parse_phone ---------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", 1), (" 4 ", 4), ("200", MAX_FLOORS), ("04", 4), ("１２", 12)],
)
def test_parse_floors(text, expected):
    assert parse_floors(text) == expected


@pytest.mark.parametrize("text", ["0", "201", "-1", "abc", "", "3.5", "四", "1e2", "²", "3层"])
def test_parse_floors_refuses(text):
    """Out of range or not a whole number: BadNumber with the range (never a ValueError)."""
    with pytest.raises(BadNumber) as caught:
        parse_floors(text)
    assert caught.value.params == {"low": 1, "high": MAX_FLOORS}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1995", 1995), ("1995年", 1995), (" 2026 ", 2026), ("1800", 1800), ("１９９５", 1995)],
)
def test_parse_year_built(text, expected):
    assert parse_year_built(text, 2026) == expected


@pytest.mark.parametrize("text", ["2027", "1799", "95", "nineteen", "", "年", "¹⁹⁹⁵", "1995.0"])
def test_parse_year_built_refuses(text):
    """A future year, a year before 1800 or not a year: BadNumber with the range."""
    with pytest.raises(BadNumber) as caught:
        parse_year_built(text, 2026)
    assert caught.value.params == {"low": 1800, "high": 2026}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "+8613800138000"),
        ("138-0013-8000", "13800138000"),
        ("(010) 6552 9988", "01065529988"),
        ("12345", "12345"),
        ("123456789012345", "123456789012345"),
        ("１３８００１３８０００", "13800138000"),  # full-width keyboard
        ("＋８６ １３８００１３８０００", "+8613800138000"),
    ],
)
def test_parse_phone(text, expected):
    """Digits kept, a leading + kept, separators dropped."""
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text", ["", "1234", "1234567890123456", "call me", "138.0013.8000", "13800138000x", "²³⁴⁵⁶"]
)
def test_parse_phone_refuses(text):
    with pytest.raises(BadPhone):
        parse_phone(text)
