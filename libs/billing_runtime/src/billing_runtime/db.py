"""Async SQLAlchemy engine and session factories bound to one service's PostgreSQL schema.

Each service owns one schema in the shared database. The engine puts that schema first on the
``search_path`` of every connection, so service code and migrations can use unqualified table names
and a test run with its own schema prefix never touches another run's tables.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from billing_runtime.settings import ServiceSettings

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quote_schema(schema: str) -> str:
    """Quote a schema name for DDL, refusing anything that is not a plain lower-case identifier."""
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
    return f'"{schema}"'


def create_engine(
    settings: ServiceSettings,
    service: str,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
) -> AsyncEngine:
    """An asyncpg engine whose connections resolve unqualified names in ``service``'s schema."""
    schema = settings.schema_name(service)
    quote_schema(schema)
    return create_async_engine(
        settings.database_url_value(),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {
                "search_path": f"{schema},public",
                "application_name": f"billing-{service}",
            }
        },
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no surprise lazy reloads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ensure_schema(engine: AsyncEngine, schema: str) -> None:
    """Create ``schema`` if it is missing (migrations call this before writing their version table)."""
    async with engine.begin() as conn:
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quote_schema(schema)}"))


async def drop_schema(engine: AsyncEngine, schema: str) -> None:
    """Drop ``schema`` and everything in it; used to clean up after a test run."""
    async with engine.begin() as conn:
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {quote_schema(schema)} CASCADE"))


async def ping(engine: AsyncEngine) -> None:
    """Raise unless the database answers a trivial query."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
