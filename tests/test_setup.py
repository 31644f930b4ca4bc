"""`make run` and `make demo` install what the bot needs; `make test` and `make lint` the rest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def planned(target: str, venv: Path) -> str:
    """What ``make <target>`` would run on a machine without the virtualenv (``make -n``)."""
    done = subprocess.run(  # noqa: S603 - make, on this repository's Makefile
        ["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.mark.parametrize("target", ["run", "demo", "setup"])
def test_running_the_bot_installs_only_what_it_needs(target: str, tmp_path: Path) -> None:
    plan = planned(target, tmp_path / "venv")
    assert "-m venv" in plan
    assert f"{tmp_path / 'venv'}/bin/pip install --quiet -e .\n" in plan
    assert "[dev]" not in plan  # no pytest, ruff, mypy, zxing-cpp, Playwright


@pytest.mark.parametrize("target", ["test", "lint"])
def test_testing_installs_the_tools_too(target: str, tmp_path: Path) -> None:
    plan = planned(target, tmp_path / "venv")
    assert "pip install --quiet -e .\n" in plan
    assert "pip install --quiet -e '.[dev]'" in plan
    tool = "pytest -q" if target == "test" else "mypy"
    assert f"{tmp_path / 'venv'}/bin/{tool}" in plan


def test_the_tools_are_only_in_the_dev_extras() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = " ".join(project["dependencies"]).lower()
    for tool in ("pytest", "ruff", "mypy", "zxing", "playwright"):
        assert tool not in needed
        assert any(d.lower().startswith(tool) for d in project["optional-dependencies"]["dev"])


def test_ci_runs_the_tests_then_lint() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci.index("make test") < ci.index("make lint")
