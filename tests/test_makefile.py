"""`make pytest` on a fresh machine (issue 20): Chromium installed when it can be, else the
browser tests deselected with one line saying so, except under CI, which requires them.

make runs for real on this repository's Makefile; what it calls is fake and recorded: the
virtualenv's pytest, `id` (to be root or not) and apt-get, on a PATH holding nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MISSING = "Chromium missing: browser tests skipped; install with: sudo apt-get install -y chromium"


@dataclass
class Run:
    returncode: int
    stdout: str
    pytest_args: list[str] | None  # None: pytest did not run
    apt_calls: list[str]


def _script(path: Path, body: str) -> None:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


def make_pytest(tmp: Path, *, uid: int, apt: bool, chromium: bool, ci: bool) -> Run:
    venv, tools, browser = tmp / "venv", tmp / "tools", tmp / "chromium"
    venv.mkdir()
    tools.mkdir()
    (venv / ".installed").touch()  # newer than pyproject.toml: nothing to install
    _script(venv / "pytest", f'for arg in "$@"; do echo "$arg"; done > {tmp}/pytest.args')
    _script(tools / "id", f"echo {uid}")
    if apt:  # records each call; `install` puts an executable where Chromium goes
        chmod = shutil.which("chmod")  # the PATH make sees holds only the fakes
        install = f'case "$*" in *install*) : > {browser}; {chmod} +x {browser};; esac'
        _script(tools / "apt-get", f'echo "$*" >> {tmp}/apt.calls\n{install}')
    if chromium:
        _script(browser, "exit 0")
    env = {"PATH": str(tools), "HOME": str(tmp)} | ({"CI": "true"} if ci else {})
    make = shutil.which("make")
    assert make is not None
    command = [make, "-s", "-C", str(ROOT), "pytest", f"BIN={venv}", f"CHROMIUM={browser}"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    args, calls = tmp / "pytest.args", tmp / "apt.calls"
    return Run(
        done.returncode,
        done.stdout,
        args.read_text().splitlines() if args.exists() else None,
        calls.read_text().splitlines() if calls.exists() else [],
    )


@pytest.mark.parametrize("apt", [False, True])
def test_a_user_without_chromium_runs_the_rest_and_is_told_in_one_line(
    tmp_path: Path, apt: bool
) -> None:
    run = make_pytest(tmp_path, uid=1000, apt=apt, chromium=False, ci=False)
    assert (run.returncode, run.stdout) == (0, MISSING + "\n")
    assert run.pytest_args == ["-m", "not browser"]
    assert run.apt_calls == []


def test_root_without_apt_runs_the_rest_and_is_told_in_one_line(tmp_path: Path) -> None:
    run = make_pytest(tmp_path, uid=0, apt=False, chromium=False, ci=False)
    assert (run.returncode, run.stdout) == (0, MISSING + "\n")
    assert run.pytest_args == ["-m", "not browser"]


def test_root_with_apt_installs_chromium_and_runs_everything(tmp_path: Path) -> None:
    run = make_pytest(tmp_path, uid=0, apt=True, chromium=False, ci=False)
    assert run.returncode == 0
    assert run.apt_calls == ["update -qq", "install -y -qq chromium"]
    assert run.pytest_args == []


def test_ci_requires_the_browser_tests_even_without_chromium(tmp_path: Path) -> None:
    """They are selected, and fail for want of Chromium (tests/browser.py)."""
    run = make_pytest(tmp_path, uid=1000, apt=False, chromium=False, ci=True)
    assert run.returncode == 0  # the fake pytest passes; the real one would fail
    assert run.pytest_args == []
    assert MISSING not in run.stdout


def test_with_chromium_everything_runs(tmp_path: Path) -> None:
    run = make_pytest(tmp_path, uid=1000, apt=True, chromium=True, ci=False)
    assert (run.returncode, run.stdout, run.pytest_args, run.apt_calls) == (0, "", [], [])


def test_the_ci_entry_point_runs_make_test_with_ci_set(tmp_path: Path) -> None:
    _script(tmp_path / "make", f'echo "CI=$CI $*" > {tmp_path}/make.call')
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([ROOT / ".ci" / "run"], env=env, check=True, timeout=60)
    assert (tmp_path / "make.call").read_text() == "CI=true test\n"
