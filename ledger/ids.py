"""Numbers that name a stored row (a hazard, a school, a walk...), typed or carried by a button.

Only ASCII digits are an id: ``str.isdigit`` also takes ``²`` and ``٣``, and
``int`` turns some of them into numbers nobody typed. An id must also fit
SQLite's INTEGER (a signed 64-bit number); a bigger one cannot name a row and
would make the database driver fail.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # SQLite's largest INTEGER


def parse_id(text: str) -> int | None:
    """The id written in ``text`` (ASCII digits, at most SQLite's largest INTEGER), or None."""
    if not text or not text.isascii() or not text.isdigit():
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_ID)):  # also keeps int() far from its own digit limit
        return None
    value = int(digits)
    return value if value <= MAX_ID else None
