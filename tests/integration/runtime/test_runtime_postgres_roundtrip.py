"""A row through real PostgreSQL with SQLAlchemy async + asyncpg, inside this run's own schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import sqlalchemy as sa

from billing_runtime.db import create_engine, create_session_factory, ensure_schema
from billing_runtime.settings import ServiceSettings

metadata = sa.MetaData()
charges = sa.Table(
    "runtime_charges",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("amount", sa.Numeric(20, 6), nullable=False),
)


async def test_row_round_trips_in_the_run_schema(
    settings_factory: Callable[..., ServiceSettings], schema_prefix: str
) -> None:
    settings = settings_factory(schema_prefix=schema_prefix)
    schema = settings.schema_name("runtime")
    engine = create_engine(settings, "runtime")
    try:
        await ensure_schema(engine, schema)
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            insert = charges.insert().values(id=1, tenant_id="acme", amount=Decimal("1234.567891"))
            await session.execute(insert)
        async with sessions() as session:
            row = (await session.execute(sa.select(charges.c.tenant_id, charges.c.amount))).one()
            where = await session.scalar(
                sa.text("SELECT table_schema FROM information_schema.tables WHERE table_name = :t"),
                {"t": "runtime_charges"},
            )
        assert row.tenant_id == "acme"
        assert isinstance(row.amount, Decimal)
        assert row.amount == Decimal("1234.567891")
        assert where == schema
        assert schema.startswith(schema_prefix)
    finally:
        await engine.dispose()


async def test_service_migrations_land_in_the_run_schema(
    settings_factory: Callable[..., ServiceSettings],
    schema_prefix: str,
    migrate: Callable[[str], Awaitable[None]],
) -> None:
    await migrate("invoice")
    await migrate("invoice")  # a second run is a no-op
    settings = settings_factory(schema_prefix=schema_prefix)
    engine = create_engine(settings, "invoice")
    try:
        async with engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
            versions = result.scalars().all()
            current = await conn.scalar(sa.text("SELECT current_schema()"))
        assert current == f"{schema_prefix}invoice"
        assert len(versions) == 1
    finally:
        await engine.dispose()
