"""Raw events may have their period corrected, and nothing else changed.

A raw event's ``period`` is the month it was given at intake, in the zone ingest knew for its tenant
then. When the tenant's contract zone turns out to be another one, the tenant's aggregates are
rebuilt, and the raw events' ``period`` is corrected with them, so anything that recounts raw events
by period (invoicing's recount of a closed period) finds them where the aggregates count them.
Every other column stays immutable, and DELETE stays refused.

Revision ID: 0004_raw_event_periods
Revises: 0003_tenant_zones
"""

from alembic import op

revision = "0004_raw_event_periods"
down_revision = "0003_tenant_zones"
branch_labels = None
depends_on = None

_KEPT = "source, id, event_time, type, tenant_id, site_id, category, quantity, payload, received_at"


def _columns(row: str) -> str:
    return ", ".join(f"{row}.{name.strip()}" for name in _KEPT.split(","))


def upgrade() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION refuse_raw_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND ({_columns("OLD")}) IS NOT DISTINCT FROM ({_columns("NEW")}) THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION 'raw_events is append-only (% refused)', TG_OP;
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute(
        """
        CREATE OR REPLACE FUNCTION refuse_raw_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'raw_events is append-only (% refused)', TG_OP;
        END
        $$
        """
    )
