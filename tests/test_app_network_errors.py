"""A Bot API out of reach is said in one line each time, without a traceback or the token.

The whole story (the local chat's process killed under a polling bot) is in
``tests/test_local_process.py``; here each kind of report, one at a time, as
python-telegram-bot and asyncio make them.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.app import PTB_LOGGERS, network_errors_in_one_line, on_error

TOKEN = "1234567890:" + "A" * 32


def raised(error: Exception) -> BaseException:
    """The error with a traceback, as it is when logged from an ``except``."""
    try:
        raise error
    except Exception as caught:
        return caught


def formatted(caplog: pytest.LogCaptureFixture) -> str:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    return "\n".join(handler.format(record) for record in caplog.records)


@pytest.mark.parametrize("logger", PTB_LOGGERS)
def test_python_telegram_bots_network_failures_are_one_line(
    caplog: pytest.LogCaptureFixture, logger: str
) -> None:
    network_errors_in_one_line()
    error = raised(NetworkError("httpx.ConnectError: All connection attempts failed"))
    with caplog.at_level(logging.ERROR):
        logging.getLogger(logger).error(
            "Task exception was never retrieved\nfuture: <Task finished>", exc_info=error
        )
    said = formatted(caplog)
    assert said == (
        f"ERROR {logger}: Task exception was never retrieved"
        " (NetworkError: httpx.ConnectError: All connection attempts failed)"
    )


def test_other_failures_keep_their_traceback(caplog: pytest.LogCaptureFixture) -> None:
    network_errors_in_one_line()
    network_errors_in_one_line()  # installed once however often the bot is built
    assert sum(len(logging.getLogger(name).filters) for name in PTB_LOGGERS) == len(PTB_LOGGERS)
    with caplog.at_level(logging.ERROR):
        logging.getLogger("telegram.ext.Updater").error(
            "polling failed", exc_info=raised(ValueError("a bug"))
        )
    assert "Traceback" in formatted(caplog) and "ValueError: a bug" in formatted(caplog)


def context_of(error: Exception) -> Any:
    return SimpleNamespace(error=error, bot=SimpleNamespace(token=TOKEN), bot_data={})


@pytest.mark.parametrize(
    "error",
    [NetworkError(f"httpx.ConnectError: https://x/bot{TOKEN}/getUpdates"), TimedOut()],
    ids=["network", "timeout"],
)
async def test_the_error_handler_says_a_network_failure_in_one_line(
    caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    """Polling's failure (no update): one warning, the cause named, the token never."""
    with caplog.at_level(logging.INFO):
        await on_error(None, context_of(raised(error)))
    said = formatted(caplog)
    assert said.startswith("WARNING bot.app: polling: the Bot API did not answer (")
    assert type(error).__name__ in said
    assert "\n" not in said and "Traceback" not in said and TOKEN not in said


async def test_the_error_handler_keeps_a_bugs_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        await on_error(None, context_of(raised(BadRequest("Message text is empty"))))
    said = formatted(caplog)
    assert said.startswith("ERROR bot.app: update failed: BadRequest")
    assert "Traceback" in said
