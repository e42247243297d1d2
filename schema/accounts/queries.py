"""The accounts list: keyset pages in the read model's orders, filtered by its filters."""

from __future__ import annotations

import strawberry

from app.accounts import read, service
from app.accounts.read import AccountFilter as AccountFilterArgs
from app.accounts.search import search_query
from app.kit.pagination import count, sorted_page, window
from schema import permissions, visibility
from schema.accounts.inputs import AccountFilter, AccountOrder
from schema.accounts.types import Account
from schema.context import Info
from schema.relay import Connection, connection, selects


@strawberry.type
class Query:
    @strawberry.field
    @permissions.query("account.read")
    async def accounts(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: AccountFilter | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: AccountOrder | None = None,
    ) -> Connection[Account]:
        limits = info.context.settings.limits
        pages = window(
            first,
            after,
            last,
            before,
            default=limits.default_page_size,
            maximum=limits.max_page_size,
        )
        args = filter.to_args() if filter else AccountFilterArgs()
        field, descending = order_by.to_args() if order_by else (None, False)
        order = read.account_order(field, descending, search=args.search)
        now = info.context.now
        query = read.accounts_query(args, now=now, columns=service.ACCOUNT_COLUMNS)
        visible = await visibility.account_clause(info.context)
        if visible is not None:
            query = query.where(visible)
        with_total = selects(info, "totalCount")
        async with info.context.db() as session:
            page = await sorted_page(
                session,
                query,
                order=order,
                window=pages,
                with_total=with_total,
                total_over_rows=search_query(args.search) is not None,
            )

        async def total() -> int:
            if page.total is not None:
                return page.total
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, Account.from_model, total)
