"""Reading dates people type on phones.

Accepted: ``2021-05-20``, ``2021/5/20``, ``2021.5.20``, ``2021年5月20日``,
``5月20日``, ``5-20``, ``5/20``, ``20.5.`` is not (ambiguous). A date without
a year means its next occurrence from today, so ``5-20`` typed in November
means next May.
"""

from __future__ import annotations

import re
from datetime import date

from ledger.errors import BadDate, PastDate
from ledger.text import normalise

ECHO_MAX = 40  # characters of a date that does not parse, quoted back to the person

_FULL = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?\s*$")
_SHORT = re.compile(r"^\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?\s*$")


def _normalise(text: str) -> str:
    # Full-width digits and separators come from Chinese keyboards.
    table = str.maketrans("０１２３４５６７８９－／．　", "0123456789-/. ")
    return text.translate(table)


def _next_occurrence(month: int, dom: int, today: date, text: str) -> date:
    """This year's date if still ahead, else next year's (2月29日 may skip a year)."""
    for year in (today.year, today.year + 1):
        try:
            day = date(year, month, dom)
        except ValueError:  # 2月29日 outside a leap year, or no such day at all
            continue
        if day >= today:
            return day
    raise _bad(text)


def _bad(text: str) -> BadDate:
    """The refusal quotes what was typed: invisible and bidi characters gone, short."""
    return BadDate(text=text if len(text) <= ECHO_MAX else text[: ECHO_MAX - 1] + "…")


def parse_date(text: str, today: date) -> date:
    """Parse a typed date; raise ``BadDate`` or ``PastDate``."""
    text = normalise(text, multiline=False)
    raw = _normalise(text)
    full = _FULL.match(raw)
    try:
        if full:
            day = date(int(full[1]), int(full[2]), int(full[3]))
        else:
            short = _SHORT.match(raw)
            if not short:
                raise _bad(text)
            day = _next_occurrence(int(short[1]), int(short[2]), today, text)
    except ValueError as exc:  # 2月30日
        raise _bad(text) from exc
    if day < today:
        raise PastDate(date=day.isoformat())
    return day
