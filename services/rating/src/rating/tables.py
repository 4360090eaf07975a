"""The rating schema's tables (SQLAlchemy Core).

Names are unqualified: the service's engine puts its own schema (``rating`` or a
per-run prefixed name in tests) first on the search path.
Config history, closed periods and the outbox are append-only; the head row in
``tenants`` and the dashboard snapshots are derived state that may be replaced.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from billing_runtime.outbox import event_outbox_table

metadata = sa.MetaData()

tenants = sa.Table(
    "tenants",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("contract", JSONB, nullable=True),
    sa.Column("settings", JSONB, nullable=False),
    sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

config_revisions = sa.Table(
    "config_revisions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.Integer, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("site_id", sa.Text, nullable=True),
    sa.Column("effective_from", sa.Date, nullable=True),
    sa.Column("contract", JSONB, nullable=True),
    sa.Column("settings", JSONB, nullable=False),
    sa.Column("changes", JSONB, nullable=False),
)

closed_periods = sa.Table(
    "closed_periods",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_by", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("contract", JSONB, nullable=False),
    sa.Column("settings", JSONB, nullable=False),
    sa.Column("high_water", JSONB, nullable=False),
)

dashboard_snapshots = sa.Table(
    "dashboard_snapshots",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("period", sa.Text, primary_key=True),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("body", JSONB, nullable=False),
    sa.Column("basis", JSONB, nullable=True),
)

consumer_offsets = sa.Table(
    "consumer_offsets",
    metadata,
    sa.Column("group_id", sa.Text, primary_key=True),
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("partition", sa.Integer, primary_key=True),
    sa.Column("next_offset", sa.BigInteger, nullable=False),
)

outbox = event_outbox_table(metadata, unpublished_index="outbox_unpublished")
