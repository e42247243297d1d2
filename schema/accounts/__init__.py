"""Accounts and contacts: their types, the accounts list, and the account mutations.

The columns, filters and orders come from the read model (app.accounts.read).
"""

from schema.accounts.inputs import (
    ADDRESS_FIELDS,
    PLAIN_FIELDS,
    AccountFilter,
    AccountOrder,
    AddressInput,
)
from schema.accounts.mutations import Mutation
from schema.accounts.queries import Query
from schema.accounts.types import (
    Account,
    AccountPayload,
    Address,
    Contact,
    ContactPayload,
    load_account,
    load_contact,
)

__all__ = [
    "ADDRESS_FIELDS",
    "PLAIN_FIELDS",
    "Account",
    "AccountFilter",
    "AccountOrder",
    "AccountPayload",
    "Address",
    "AddressInput",
    "Contact",
    "ContactPayload",
    "Mutation",
    "Query",
    "load_account",
    "load_contact",
]
