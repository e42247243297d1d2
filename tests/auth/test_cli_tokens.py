"""The CLI's admin token: private from its first byte, printed once, shown again on demand."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.__main__ import admin_token_notice, main
from app.settings import Settings


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """With umask 0 and chmod refused, only a file created as 0600 ends up 0600."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the token file was chmod-ed after it was created")

    monkeypatch.setattr(os, "chmod", refuse)
    monkeypatch.setattr(Path, "chmod", refuse)
    old = os.umask(0)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("no_chmod")
def test_admin_token_is_written_0600_and_printed_only_when_created(
    database_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = settings.data_dir / "admin-token"
    first = admin_token_notice(settings, database_url)
    token = path.read_text().strip()
    assert token.startswith("af_")
    assert first.endswith(f": {token}")
    assert _mode(path) == 0o600
    second = admin_token_notice(settings, database_url)
    assert token not in second
    assert second == f"accountflow: admin token in {path} (`accountflow token show` prints it)"
    assert path.read_text() == token + "\n"

    monkeypatch.setenv("ACCOUNTFLOW_DATA_DIR", str(settings.data_dir))
    main(["token", "show"])
    assert capsys.readouterr().out == token + "\n"

    monkeypatch.setenv("DATABASE_URL", database_url)
    main(["token", "revoke", "--token", token])
    capsys.readouterr()
    replaced = admin_token_notice(settings, database_url)
    fresh = path.read_text().strip()
    assert fresh != token
    assert replaced.endswith(f": {fresh}")
    assert _mode(path) == 0o600
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["admin-token"]


def test_token_show_without_a_token_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCOUNTFLOW_DATA_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match="`accountflow serve` creates it"):
        main(["token", "show"])
