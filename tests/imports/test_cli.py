"""`accountflow import` and `accountflow export` through main(), against a real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.__main__ import main
from app.db import create_engine
from tests.imports.files import accounts_file


async def _names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            from sqlalchemy import text

            rows = await connection.execute(text("SELECT name FROM accounts ORDER BY id"))
            return [r.name for r in rows]
    finally:
        await engine.dispose()


def test_import_then_export(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    path = tmp_path / "accounts.csv"
    path.write_bytes(accounts_file())
    mapping = tmp_path / "mapping.json"
    mapping.write_text('{"Name": "name"}')

    with pytest.raises(SystemExit) as failed:
        main(["import", "accounts", str(path), "--mapping", str(mapping)])
    assert failed.value.code == 1
    err = capsysbinary.readouterr().err.decode()
    assert "row 8, column countryCode: INVALID_INPUT" in err
    assert "failed, nothing written" in err
    assert asyncio.run(_names(database_url)) == []

    with pytest.raises(SystemExit):
        main(["import", "accounts", str(path), "--mode", "skip-invalid", "--dry-run"])
    assert "dry run, nothing written" in capsysbinary.readouterr().err.decode()
    assert asyncio.run(_names(database_url)) == []

    with pytest.raises(SystemExit):
        main(["import", "accounts", str(path), "--mode", "skip-invalid"])
    err = capsysbinary.readouterr().err.decode()
    assert "14/14 rows" in err
    assert "5 created, 0 updated, 0 unchanged, 9 rejected" in err
    assert len(asyncio.run(_names(database_url))) == 5

    main(["export", "accounts", "--filter", '{"search": "acme"}'])
    out = capsysbinary.readouterr().out.decode()
    lines = out.splitlines()
    assert lines[0].startswith("id,externalRef,name,classification")
    assert len(lines) == 2
    assert ",A-1,Acme GmbH,A,Farming,WEBSITE," in lines[1]

    exported = tmp_path / "exported.csv"
    main(["export", "accounts"])
    exported.write_bytes(capsysbinary.readouterr().out)
    main(["import", "accounts", str(exported)])
    assert "0 created, 0 updated, 5 unchanged, 0 rejected" in capsysbinary.readouterr().err.decode()


def test_bad_filter_is_a_message(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    with pytest.raises(SystemExit) as failed:
        main(["export", "leads", "--filter", '{"colour": 1}'])
    assert failed.value.code == "accountflow: Unknown filter 'colour'."
