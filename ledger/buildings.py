"""Schools and buildings: the fields people type and their limits."""

from __future__ import annotations

from ledger.errors import BadNumber, BadPhone, EmptyText, InvisibleText, TooLong
from ledger.text import normalise

USES = ("teaching", "dormitory", "canteen", "laboratory", "library", "gym", "office", "other")
SCHOOL_KINDS = (
    "kindergarten",
    "primary",
    "middle",
    "vocational",
    "training",
    "university",
    "other",
)
OWNERSHIPS = ("public", "private")

NAME_MAX = 60
TEXT_MAX = 500
MAX_FLOORS = 200
EARLIEST_YEAR = 1800

_FULL_WIDTH = str.maketrans("０１２３４５６７８９＋－（）　", "0123456789+-() ")


def clean_text(text: str, limit: int = TEXT_MAX) -> str:
    """A typed answer as stored (``ledger.text.normalise``: names on one line, longer
    texts keep their line breaks); blank, invisible or over ``limit`` characters: refused."""
    value = normalise(text, multiline=limit > NAME_MAX)
    if not value:
        raise InvisibleText() if text.strip() else EmptyText()
    if len(value) > limit:
        raise TooLong(limit=limit, length=len(value))
    return value


def parse_floors(text: str) -> int:
    value = text.strip()
    if not value.isdecimal() or not 1 <= int(value) <= MAX_FLOORS:
        raise BadNumber(low=1, high=MAX_FLOORS)
    return int(value)


def parse_year_built(text: str, this_year: int) -> int:
    value = text.strip().removesuffix("年")
    if not value.isdecimal() or not EARLIEST_YEAR <= int(value) <= this_year:
        raise BadNumber(low=EARLIEST_YEAR, high=this_year)
    return int(value)


def parse_phone(text: str) -> str:
    """Keep digits and a leading +; a phone has 5 to 15 digits."""
    value = text.translate(_FULL_WIDTH).strip()  # a Chinese keyboard in full-width mode
    digits = "".join(ch for ch in value if ch.isdigit())
    if not 5 <= len(digits) <= 15 or any(ch not in "+-() 0123456789" for ch in value):
        raise BadPhone()
    return ("+" if value.startswith("+") else "") + digits
