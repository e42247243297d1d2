"""Account search: PostgreSQL full-text search (configuration `simple`, every word a prefix).

The embedded server's wheel ships no pg_trgm. Accounts carry a generated, GIN-indexed vector
of name and external ref (weight A) and website (B); contacts one of name and email. A match
on a contact ranks half as much as one on the account itself.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, select, union
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.types import Float

from app.models.accounts import Account, Contact

MAX_SEARCH_WORDS = 8
_WORD = re.compile(r"\w+")
_SIMPLE = literal_column("'simple'", REGCONFIG)


def search_query(search: str | None) -> ColumnElement[Any] | None:
    """`word:* & word:*` for the words of `search`, or None when it has none."""
    words = _WORD.findall((search or "").lower())[:MAX_SEARCH_WORDS]
    if not words:
        return None
    return func.to_tsquery(_SIMPLE, " & ".join(f"{w}:*" for w in words))


def matches(query: ColumnElement[Any]) -> ColumnElement[bool]:
    # A union of two GIN index scans; an OR across the two tables would read every account.
    ids = union(
        select(Account.id).where(Account.search_vector.op("@@")(query)),
        select(Contact.account_id).where(
            Contact.search_vector.op("@@")(query), Contact.removed_at.is_(None)
        ),
    )
    return Account.id.in_(ids)


def rank(query: ColumnElement[Any]) -> ColumnElement[float]:
    on_contacts = (
        select(func.max(func.ts_rank(Contact.search_vector, query)))
        .where(
            Contact.account_id == Account.id,
            Contact.removed_at.is_(None),
            Contact.search_vector.op("@@")(query),
        )
        .scalar_subquery()
    )
    ranked = func.ts_rank(Account.search_vector, query) + func.coalesce(on_contacts, 0) * 0.5
    return ranked.cast(Float)
