"""Alembic plumbing shared by the services, so each ``migrations/env.py`` is two lines.

Each service migrates its own PostgreSQL schema (``settings.schema_name(service)``): the schema is
created first, Alembic's version table lives inside it, and the migration connection's
``search_path`` starts with it, so revisions can use unqualified table names. Revisions that need the
name itself call :func:`current_schema`.

Programmatic use (tests, tools): :func:`upgrade` runs ``alembic upgrade`` for a service directory
with an explicit settings object; call it from a thread when an event loop is already running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from billing_runtime.db import create_engine, ensure_schema, quote_schema
from billing_runtime.settings import ServiceSettings

SETTINGS_ATTRIBUTE = "billing_settings"


def current_schema() -> str:
    """The schema being migrated (for revisions that must spell it out, e.g. CREATE SCHEMA)."""
    schema = op.get_context().version_table_schema
    if not schema:
        raise RuntimeError("migrations must run through billing_runtime.migrations.run_service_migrations")
    return str(schema)


def create_current_schema() -> None:
    """The first revision of every service: its schema.

    The environment already creates the schema (the version table lives there); stating it as a
    revision keeps the history complete for databases migrated offline with ``alembic upgrade --sql``.
    Downgrading it is a no-op: removing a service means dropping its schema.
    """
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_schema(current_schema())}")


def run_service_migrations(
    service: str,
    *,
    target_metadata: MetaData | None = None,
    settings_factory: Callable[[], ServiceSettings] = ServiceSettings,
) -> None:
    """The body of ``services/<service>/migrations/env.py``."""
    config = context.config
    settings = config.attributes.get(SETTINGS_ATTRIBUTE) or settings_factory()
    schema = settings.schema_name(service)
    if context.is_offline_mode():
        context.configure(
            url=settings.database_url_value(),
            target_metadata=target_metadata,
            literal_binds=True,
            version_table_schema=schema,
        )
        with context.begin_transaction():
            context.execute(f"SET search_path TO {quote_schema(schema)}")
            context.run_migrations()
        return
    asyncio.run(_run_online(settings, service, schema, target_metadata))


async def _run_online(
    settings: ServiceSettings, service: str, schema: str, target_metadata: MetaData | None
) -> None:
    engine = create_engine(settings, service, pool_size=1, max_overflow=0)
    try:
        await ensure_schema(engine, schema)
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, schema, target_metadata)
            await connection.commit()
    finally:
        await engine.dispose()


def _migrate(connection: Connection, schema: str, target_metadata: MetaData | None) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table_schema=schema,
        include_schemas=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def alembic_config(service_dir: Path, settings: ServiceSettings | None = None) -> Config:
    """The Alembic config of a service directory (``services/<name>``), optionally with settings."""
    config = Config(str(service_dir / "alembic.ini"))
    if settings is not None:
        config.attributes[SETTINGS_ATTRIBUTE] = settings
    return config


def upgrade(service_dir: Path, settings: ServiceSettings, revision: str = "head", **kwargs: Any) -> None:
    """``alembic upgrade`` for one service with explicit settings (blocking; uses its own event loop)."""
    command.upgrade(alembic_config(service_dir, settings), revision, **kwargs)
