"""records: search, tags, merge pointer, removed contacts, voided activities, frequency defaults

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _words(column: str) -> str:
    spaced = f"regexp_replace(coalesce({column}, ''), '[^[:alnum:]]+', ' ', 'g')"
    return f"to_tsvector('simple', {spaced})"


ACCOUNT_SEARCH = (
    f"setweight({_words('name')}, 'A') || setweight({_words('external_ref')}, 'A')"
    f" || setweight({_words('website')}, 'B')"
)
CONTACT_SEARCH = f"{_words('name')} || {_words('email')}"

REVENUE_KINDS = "kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')"

# The revenue trigger of 0005, now blind to voided events: voiding (an UPDATE setting
# voided_at) takes the event's amount out of its year, as a delete would.
UPSERT = """
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM ({rows}) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;"""


def _revenue_function(voided_filter: bool) -> str:
    where = " WHERE voided_at IS NULL" if voided_filter else ""
    new = f"SELECT account_id, occurred_at, kind, amount FROM new_rows{where}"
    old = f"SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows{where}"
    return f"""
CREATE OR REPLACE FUNCTION planning_account_revenue_years() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{UPSERT.format(rows=new)}
    ELSIF TG_OP = 'UPDATE' THEN{UPSERT.format(rows=new + " UNION ALL " + old)}
    ELSE{UPSERT.format(rows=old)}
    END IF;
    RETURN NULL;
END $$;
"""


# updated_at follows every change of an account: every writer bumps its version.
UPDATED_AT_FUNCTION = """
CREATE FUNCTION accounts_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version IS DISTINCT FROM OLD.version
       AND NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;
"""


def _revenue_indexes(where: str) -> None:
    op.create_index(
        "ix_activities_revenue_account",
        "activities",
        ["account_id", "occurred_at"],
        postgresql_include=["amount"],
        postgresql_where=sa.text(where),
    )
    op.create_index(
        "ix_activities_revenue_time",
        "activities",
        ["occurred_at"],
        postgresql_include=["account_id", "amount"],
        postgresql_where=sa.text(where),
    )


def _drop_revenue_indexes() -> None:
    op.drop_index("ix_activities_revenue_time", table_name="activities")
    op.drop_index("ix_activities_revenue_account", table_name="activities")


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column(
            "tags", postgresql.ARRAY(sa.String(length=40)), server_default="{}", nullable=False
        ),
    )
    op.add_column("accounts", sa.Column("merged_into_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_accounts_merged_into_id_accounts"),
        "accounts",
        "accounts",
        ["merged_into_id"],
        ["id"],
    )
    op.add_column(
        "accounts",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(ACCOUNT_SEARCH, persisted=True),
            nullable=True,
        ),
    )
    op.create_index("ix_accounts_search", "accounts", ["search_vector"], postgresql_using="gin")
    op.create_index("ix_accounts_tags", "accounts", ["tags"], postgresql_using="gin")
    op.create_index(op.f("ix_accounts_created_at_id"), "accounts", ["created_at", "id"])
    op.create_index(op.f("ix_accounts_updated_at_id"), "accounts", ["updated_at", "id"])
    op.create_index(op.f("ix_accounts_source"), "accounts", ["source"])
    op.execute(UPDATED_AT_FUNCTION)
    op.execute(
        "CREATE TRIGGER accounts_updated_at BEFORE UPDATE ON accounts "
        "FOR EACH ROW EXECUTE FUNCTION accounts_updated_at()"
    )

    op.add_column("contacts", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "contacts",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            sa.Computed(CONTACT_SEARCH, persisted=True),
            nullable=True,
        ),
    )
    op.create_index("ix_contacts_search", "contacts", ["search_vector"], postgresql_using="gin")
    op.create_index(op.f("ix_contacts_name_id"), "contacts", ["name", "id"])

    op.add_column("activities", sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("activities", sa.Column("void_reason", sa.Text(), nullable=True))
    op.add_column("activities", sa.Column("voided_by_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_activities_voided_by_id_users"), "activities", "users", ["voided_by_id"], ["id"]
    )
    op.create_index(op.f("ix_activities_occurred_at_id"), "activities", ["occurred_at", "id"])
    _drop_revenue_indexes()
    _revenue_indexes(f"{REVENUE_KINDS} AND voided_at IS NULL")
    op.execute(_revenue_function(voided_filter=True))

    op.add_column("plan_goals", sa.Column("actual", sa.Numeric(14, 2), nullable=True))
    op.add_column("plan_actions", sa.Column("cancel_reason", sa.Text(), nullable=True))

    op.create_table(
        "contact_frequency_defaults",
        sa.Column(
            "manager_type",
            sa.Enum(
                "SALES",
                "WHOLE_GOODS",
                "PARTS",
                "SERVICE",
                "MARKETING",
                "EXECUTIVE",
                name="manager_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "classification",
            sa.Enum(
                "A",
                "B",
                "C",
                "D",
                name="classification",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("contact_frequency_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "manager_type", "classification", name=op.f("pk_contact_frequency_defaults")
        ),
    )


def downgrade() -> None:
    op.drop_table("contact_frequency_defaults")
    op.drop_column("plan_actions", "cancel_reason")
    op.drop_column("plan_goals", "actual")

    op.execute(_revenue_function(voided_filter=False))
    _drop_revenue_indexes()
    _revenue_indexes(REVENUE_KINDS)
    op.drop_index(op.f("ix_activities_occurred_at_id"), table_name="activities")
    op.drop_constraint(op.f("fk_activities_voided_by_id_users"), "activities", type_="foreignkey")
    op.drop_column("activities", "voided_by_id")
    op.drop_column("activities", "void_reason")
    op.drop_column("activities", "voided_at")

    op.drop_index(op.f("ix_contacts_name_id"), table_name="contacts")
    op.drop_index("ix_contacts_search", table_name="contacts")
    op.drop_column("contacts", "search_vector")
    op.drop_column("contacts", "removed_at")

    op.execute("DROP TRIGGER accounts_updated_at ON accounts")
    op.execute("DROP FUNCTION accounts_updated_at()")
    op.drop_index(op.f("ix_accounts_source"), table_name="accounts")
    op.drop_index(op.f("ix_accounts_updated_at_id"), table_name="accounts")
    op.drop_index(op.f("ix_accounts_created_at_id"), table_name="accounts")
    op.drop_index("ix_accounts_tags", table_name="accounts")
    op.drop_index("ix_accounts_search", table_name="accounts")
    op.drop_column("accounts", "search_vector")
    op.drop_constraint(op.f("fk_accounts_merged_into_id_accounts"), "accounts", type_="foreignkey")
    op.drop_column("accounts", "merged_into_id")
    op.drop_column("accounts", "tags")
