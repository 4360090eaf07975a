"""Dashboard snapshots record the basis they were computed from (issued invoices, earlier usage),
so a read can tell whether a snapshot still shows what the next invoice would."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_snapshot_basis"
down_revision = "0002_rating_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dashboard_snapshots", sa.Column("basis", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("dashboard_snapshots", "basis")
