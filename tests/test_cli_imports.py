"""Start-up (issue 12, item 8): ``xiaoan --help`` loads no Telegram, spreadsheet or image code.

Run in a fresh interpreter, so that what the rest of the suite imported does
not hide an import; the modules loaded are read from ``sys.modules`` after the
command line's own help path has run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Top-level packages that --help must not load: Telegram (and its HTTP client
# and scheduler), spreadsheets, images and PDFs, the database driver, the
# local chat's web server, and the project's layers built on them.
HEAVY = (
    "telegram",
    "httpx",
    "apscheduler",
    "openpyxl",
    "xlsxwriter",
    "PIL",
    "segno",
    "aiosqlite",
    "aiohttp",
    "rich",
    "handlers",
    "reports",
    "storage",
    "localchat",
)

PROBE = """
import json, sys
from bot import cli
try:
    cli.main({argv!r})
except SystemExit as done:
    code = done.code
else:
    code = 0
print(json.dumps({{"code": code, "modules": sorted({{m.split(".")[0] for m in sys.modules}})}}))
"""


def loaded_by(argv: list[str]) -> tuple[int, set[str], str]:
    """Run the command line with ``argv`` in a new interpreter: exit code, packages, output."""
    done = subprocess.run(  # noqa: S603 (this interpreter, our own probe)
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    last = json.loads(done.stdout.strip().splitlines()[-1])
    return last["code"], set(last["modules"]), done.stdout


@pytest.mark.parametrize("argv", [["--help"], ["export", "--help"], ["import", "--help"]])
def test_help_imports_no_heavy_code(argv: list[str]) -> None:
    code, modules, output = loaded_by(argv)
    assert code == 0
    assert "usage: xiaoan" in output
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_the_probe_sees_heavy_imports(tmp_path: Path) -> None:
    """The same probe sees a command that needs spreadsheet code load it: it is not blind."""
    code, modules, output = loaded_by(["import", "template", "--out", str(tmp_path)])
    assert code == 0, output
    assert "written:" in output
    assert "reports" in modules and modules & {"openpyxl", "xlsxwriter"}
