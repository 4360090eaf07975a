"""Tenant time zones: the zone each tenant's periods are assigned in, fed by rating's contracts.

A row appears the first time ingest records usage of a tenant (with the fallback zone of the
settings) or when the tenant's contract is first seen on billing.config.changed.v1, whichever comes
first. ``revision`` is the tenant's configuration revision the zone came from (0: the fallback), so
an older revision replayed from the topic cannot undo a newer one.

Revision ID: 0003_tenant_zones
Revises: 0002_usage_ledger
"""

from alembic import op

revision = "0003_tenant_zones"
down_revision = "0002_usage_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE tenant_zones (
            tenant_id text PRIMARY KEY,
            timezone text NOT NULL,
            revision bigint NOT NULL DEFAULT 0,
            updated_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS tenant_zones")
