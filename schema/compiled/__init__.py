"""The compiled read path: a query over the read model answered by one SQL statement.

PostgreSQL builds the response JSON itself; strawberry stays the schema of record and
answers everything the compiler does not cover (a query is compiled whole or not at all).
`COVERED` names, per GraphQL type, the fields the compiler turns into SQL; responses say
which path answered them in the `x-accountflow-executor` header (`compiled` or `graphql`).
"""

from __future__ import annotations

COVERED: dict[str, frozenset[str]] = {}
