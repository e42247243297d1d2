"""Accounts from CSV, a batch at a time: rows with an externalRef go through
upsertAccounts' service (app.accounts.upsert); rows with an id (an export read back) and
rows with no key at all are written here, set-based, with the same rules: only the
file's columns are set, and a row that changes nothing leaves the account alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import tags as account_tags
from app.accounts.service import clean_account_fields
from app.accounts.upsert import UNSET, UpsertItem, upsert_accounts
from app.imports import statements
from app.imports.base import BatchResult, Item, row_errors
from app.imports.csvfile import Row, RowError
from app.imports.values import CellError, parse_enum, parse_id, parse_json_object
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.accounts import AccountSource, Classification
from app.models.auth import Role
from app.territories import roundrobin

COLUMNS = (
    "id",
    "externalRef",
    "name",
    "classification",
    "industry",
    "source",
    "street",
    "city",
    "region",
    "postalCode",
    "countryCode",
    "phone",
    "email",
    "website",
    "attributes",
    "tags",
    "parentExternalRef",
)
_TEXT = {
    "name": "name",
    "industry": "industry",
    "street": "street",
    "city": "city",
    "region": "region",
    "postal_code": "postalCode",
    "country_code": "countryCode",
    "phone": "phone",
    "email": "email",
    "website": "website",
    "external_ref": "externalRef",
}


@dataclass(slots=True)
class AccountRow:
    id: int | None
    fields: dict[str, Any]
    parent_ref: str | None


async def driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction: arrays bind natively and the
    statements skip SQLAlchemy's per-row result processing (the import's hot path)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


class AccountImporter:
    columns: tuple[str, ...] = COLUMNS
    required: frozenset[str] = frozenset({"name"})

    def clean(self, row: Row) -> AccountRow:
        values = row.values
        # Only the file's columns are set: a column the file lacks is left as it is.
        fields: dict[str, Any] = {key: values[col] for key, col in _TEXT.items() if col in values}
        if "classification" in values:
            fields["classification"] = parse_enum(
                values["classification"], Classification, "classification"
            )
        if "source" in values:
            fields["source"] = parse_enum(values["source"], AccountSource, "source")
        if "attributes" in values:
            fields["attributes"] = parse_json_object(values["attributes"], "attributes")
        tags = _tags(values["tags"]) if "tags" in values else None
        parent_ref = values.get("parentExternalRef")
        parent_ref = parent_ref.strip() if parent_ref else None
        clean = clean_account_fields(fields)
        if parent_ref and parent_ref == clean.get("external_ref"):
            raise CellError("parentExternalRef", "An account cannot be its own parent.")
        if "parentExternalRef" in values:
            clean["parent_id"] = None  # resolved at write time
        if tags is not None:
            clean["tags"] = tags
        return AccountRow(parse_id(values.get("id"), "Account", "id"), clean, parent_ref)

    def key(self, data: AccountRow) -> Hashable | None:
        ref = data.fields.get("external_ref")
        return None if ref is None else ("externalRef", ref)

    async def write(
        self, session: AsyncSession, actor: Actor, items: Sequence[Item]
    ) -> BatchResult:
        conn = await driver(session)
        result = BatchResult()
        checked = await self._check_keys(conn, items, result)
        by_ref = [i for i in checked if i.data.id is None and i.data.fields.get("external_ref")]
        if by_ref:
            await self._upsert(session, actor, by_ref, result)
        own = [i for i in checked if i.data.id is not None or not i.data.fields.get("external_ref")]
        pending = list(own)
        errors_before = len(result.errors)
        touched: list[int] = []
        created: list[int] = []
        while pending:
            # Parents first: a row whose parent comes later in the same batch waits a wave.
            ready, pending, parents = await self._resolve_parents(conn, pending, result)
            if not ready:
                break
            wave_created, wave_touched = await self._write_wave(conn, actor, ready, parents)
            created += wave_created
            touched += wave_touched
        result.created += len(created)
        result.updated += len(touched) - len(created)
        written = len(own) - (len(result.errors) - errors_before)
        result.unchanged += written - len(touched)
        await self._after(conn, session, actor, created, touched)
        return result

    async def _upsert(
        self, session: AsyncSession, actor: Actor, items: list[Item], result: BatchResult
    ) -> None:
        batch = [
            UpsertItem(
                external_ref=i.data.fields["external_ref"],
                fields={
                    k: v
                    for k, v in i.data.fields.items()
                    if k not in ("external_ref", "parent_id", "tags")
                },
                parent_external_ref=i.data.parent_ref if "parent_id" in i.data.fields else UNSET,
                tags=i.data.fields.get("tags"),
            )
            for i in items
        ]
        done = await upsert_accounts(session, actor=actor, items=batch, max_batch=len(batch))
        result.created += done.created_count
        result.updated += done.updated_count
        result.unchanged += done.unchanged_count
        for index, errors in done.rejected:
            for error in errors:
                result.errors.extend(row_errors(items[index].row, error, COLUMNS))

    async def _check_keys(
        self, conn: Any, items: Sequence[Item], result: BatchResult
    ) -> list[Item]:
        by_id = [i for i in items if i.data.id is not None]
        if not by_id:
            return list(items)
        found = {
            r["id"] for r in await conn.fetch(statements.EXISTING_IDS, [i.data.id for i in by_id])
        }
        refs = [i.data.fields["external_ref"] for i in by_id if i.data.fields.get("external_ref")]
        owners = dict(await conn.fetch(statements.EXISTING_REFS, refs)) if refs else {}
        kept: list[Item] = []
        for item in items:
            data: AccountRow = item.data
            ref = data.fields.get("external_ref")
            if data.id is not None and data.id not in found:
                result.errors.append(RowError(item.row, "id", "NOT_FOUND", "Unknown account."))
            elif data.id is not None and ref is not None and owners.get(ref, data.id) != data.id:
                result.errors.append(
                    RowError(
                        item.row,
                        "externalRef",
                        "ALREADY_EXISTS",
                        "Another account has this externalRef.",
                    )
                )
            else:
                kept.append(item)
        return kept

    async def _resolve_parents(
        self, conn: Any, items: list[Item], result: BatchResult
    ) -> tuple[list[Item], list[Item], dict[str, int]]:
        wanted = sorted({i.data.parent_ref for i in items if i.data.parent_ref})
        parents = dict(await conn.fetch(statements.EXISTING_REFS, wanted)) if wanted else {}
        in_batch = {i.data.fields.get("external_ref") for i in items}
        ready: list[Item] = []
        waiting: list[Item] = []
        for item in items:
            ref = item.data.parent_ref
            if ref is None or ref in parents:
                ready.append(item)
            elif ref in in_batch:
                waiting.append(item)
            else:
                result.errors.append(
                    RowError(
                        item.row,
                        "parentExternalRef",
                        "NOT_FOUND",
                        f"No account has externalRef {ref!r}.",
                    )
                )
        if not ready and waiting:  # parents only among each other: a cycle
            for item in waiting:
                result.errors.append(
                    RowError(
                        item.row, "parentExternalRef", "INVALID_INPUT", "The parents form a cycle."
                    )
                )
            waiting = []
        return ready, waiting, parents

    async def _write_wave(
        self, conn: Any, actor: Actor, items: list[Item], parents: dict[str, int]
    ) -> tuple[list[int], list[int]]:
        created: list[int] = []
        touched: list[int] = []
        keyed = [i for i in items if i.data.id is not None]
        fresh = [i for i in items if i.data.id is None]
        columns = tuple(c for c in statements.COLUMNS if c in items[0].data.fields)
        if fresh:
            arrays = _arrays(fresh, columns, parents)
            rows = await conn.fetch(statements.upsert(columns), *arrays, actor.user_id)
            for row in rows:
                touched.append(row["id"])
                if row["created"]:
                    created.append(row["id"])
        if keyed:
            arrays = _arrays(keyed, columns, parents)
            ids = [i.data.id for i in keyed]
            updated = await conn.fetch(statements.update_by_id(columns), ids, *arrays)
            touched += [r["id"] for r in updated]
        return created, touched

    async def _after(
        self, conn: Any, session: AsyncSession, actor: Actor, created: list[int], touched: list[int]
    ) -> None:
        if created:
            owner = None if actor.role is Role.INTEGRATION else actor.user_id
            await conn.execute(statements.ENTER_DEFAULT_PIPELINE, created, owner, actor.user_id)
        updated = sorted(set(touched) - set(created))
        for action, ids in (("account.import.create", created), ("account.import.update", updated)):
            if ids:
                await conn.execute(
                    statements.AUDIT,
                    ids,
                    actor.user_id,
                    actor.token_id,
                    action,
                    "{}",
                    actor.request_id,
                )
        if touched:
            await roundrobin.apply_rules(session, actor=actor, account_ids=touched)


def _tags(value: str | None) -> list[str]:
    """Tags in one cell, separated by commas (as the export writes them)."""
    checks = Checks()
    tags = account_tags.normalise(checks, "tags", (value or "").split(",") if value else [])
    account_tags.check_count(checks, "tags", tags)
    checks.raise_if_any()
    return tags


def _arrays(
    items: Sequence[Item], columns: tuple[str, ...], parents: dict[str, int]
) -> list[list[Any]]:
    arrays: list[list[Any]] = [[] for _ in columns]
    for item in items:
        fields = item.data.fields
        for array, name in zip(arrays, columns, strict=True):
            if name == "attributes":
                array.append(orjson.dumps(fields["attributes"] or {}).decode())
            elif name == "tags":
                array.append(orjson.dumps(fields["tags"]).decode())
            elif name == "parent_id":
                ref = item.data.parent_ref
                array.append(parents.get(ref) if ref else None)
            else:
                array.append(fields[name])
    return arrays
