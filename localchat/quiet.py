"""An event loop error handler that says a repeated error once, then how often it recurred.

When the process runs out of sockets, asyncio reports every failed
``accept()`` (up to a hundred a tick) through the loop's exception handler:
the log grew by a gigabyte in minutes. Here the first report of a kind goes
through as usual; the same kind within ``every`` seconds is only counted,
and the count is logged in one line when the window closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object]


class QuietRepeats:
    """The loop's exception handler; ``install`` then ``uninstall``."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        every: float = 60.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.loop = loop
        self.every = every
        self.now = now
        self._previous: Handler | None = loop.get_exception_handler()
        self._windows: dict[str, tuple[float, int]] = {}  # kind -> (window start, repeats)

    @classmethod
    def install(cls, loop: asyncio.AbstractEventLoop, every: float = 60.0) -> QuietRepeats:
        """Become the loop's exception handler (the one before is kept for the first reports)."""
        quiet = cls(loop, every)
        loop.set_exception_handler(quiet)
        return quiet

    def uninstall(self) -> None:
        """Give the loop its handler back, saying what was still only counted."""
        self.flush()
        if self.loop.get_exception_handler() is self:
            self.loop.set_exception_handler(self._previous)

    def flush(self) -> None:
        """Say now what was only counted so far (the windows go on, counting from zero)."""
        for kind, (start, repeats) in list(self._windows.items()):
            if repeats:
                self._say(kind, repeats)
                self._windows[kind] = (start, 0)

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Report the first of a kind in a window; count the rest."""
        error = context.get("exception")
        kind = f"{context.get('message', '')} ({type(error).__name__ if error else '-'})"
        window = self._windows.get(kind)
        if window is not None and self.now() - window[0] < self.every:
            self._windows[kind] = (window[0], window[1] + 1)
            return
        if window is not None:
            self._close(kind)
        self._windows[kind] = (self.now(), 0)
        loop.call_later(self.every, self._close, kind)
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def _close(self, kind: str) -> None:
        """End a window: one line with the count of what was not logged in it."""
        window = self._windows.pop(kind, None)
        if window is not None and window[1]:
            self._say(kind, window[1])

    def _say(self, kind: str, repeats: int) -> None:
        """The one line for what was not logged one by one."""
        log.error("%s: %d more time(s) in %.0f s, not logged one by one", kind, repeats, self.every)
