"""Usage ledger: event identities, month-partitioned raw events, aggregates, positions, outbox.

Deduplication needs a unique (source, id) over everything ever kept, but PostgreSQL only allows
unique indexes on a partitioned table when they contain the partition key (event_time). So the
identities live in their own unpartitioned table ``event_ids``; the raw events are partitioned by
UTC month of event_time (partitions are created on demand by the service, a default partition
catches times outside the years it creates partitions for).

Revision ID: 0002_usage_ledger
Revises: 0001_ingest_schema
"""

from alembic import op

revision = "0002_usage_ledger"
down_revision = "0001_ingest_schema"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE event_ids (
            source text NOT NULL,
            id text NOT NULL,
            event_time timestamptz NOT NULL,
            PRIMARY KEY (source, id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE raw_events (
            source text NOT NULL,
            id text NOT NULL,
            event_time timestamptz NOT NULL,
            type text NOT NULL,
            tenant_id text NOT NULL,
            site_id text NOT NULL,
            category text NOT NULL,
            period text NOT NULL,
            quantity numeric NOT NULL CHECK (quantity > 0),
            payload bytea NOT NULL,
            received_at timestamptz NOT NULL DEFAULT now()
        ) PARTITION BY RANGE (event_time)
        """
    )
    op.execute("CREATE TABLE raw_events_default PARTITION OF raw_events DEFAULT")
    op.execute("CREATE SEQUENCE aggregate_changes")
    op.execute(
        """
        CREATE TABLE usage_aggregates (
            tenant_id text NOT NULL,
            period text NOT NULL,
            site_id text NOT NULL,
            category text NOT NULL,
            quantity numeric NOT NULL,
            events bigint NOT NULL,
            last_change bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, period, site_id, category)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE consumer_positions (
            consumer_group text NOT NULL,
            topic text NOT NULL,
            partition integer NOT NULL,
            next_offset bigint NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer_group, topic, partition)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE outbox (
            id bigserial PRIMARY KEY,
            topic text NOT NULL,
            key bytea,
            value bytea,
            headers bytea NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION refuse_raw_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'raw_events is append-only (% refused)', TG_OP;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER raw_events_append_only BEFORE UPDATE OR DELETE ON raw_events "
        "FOR EACH ROW EXECUTE FUNCTION refuse_raw_event_change()"
    )


def downgrade() -> None:
    for table in ("outbox", "consumer_positions", "usage_aggregates", "raw_events", "event_ids"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    op.execute("DROP SEQUENCE IF EXISTS aggregate_changes")
    op.execute("DROP FUNCTION IF EXISTS refuse_raw_event_change()")
