"""Create the invoice schema; tables follow in later revisions, with unqualified names."""

from billing_runtime.migrations import create_current_schema

revision = "0001_invoice_schema"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_current_schema()


def downgrade() -> None:
    pass
