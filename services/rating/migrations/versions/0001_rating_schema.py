"""Create the rating schema.

The migration environment already creates it (Alembic's version table lives there); stating it as a
revision keeps the history complete for databases migrated offline with `alembic upgrade --sql`.
Tables come in later revisions, unqualified: the connection's search_path starts with this schema.

Revision ID: 0001_rating_schema
Revises:
"""

from alembic import op

from billing_runtime.migrations import quoted_current_schema

revision = "0001_rating_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted_current_schema()}")


def downgrade() -> None:
    # The schema also holds the version table; removing the service means dropping the schema.
    pass
