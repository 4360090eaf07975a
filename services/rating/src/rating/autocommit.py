"""The engine for work that is a single statement: reads, and writes done in one statement.

One statement sees one snapshot and is atomic with or without a transaction around it; without one
it spares the BEGIN and COMMIT/ROLLBACK round trips, which on a busy database host are a good part
of a small statement's time.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class Connector(Protocol):
    """Where single statements get their connection: an autocommit engine, or a held connection."""

    def connect(self) -> AbstractAsyncContextManager[AsyncConnection]: ...


def single_statements(engine: AsyncEngine) -> AsyncEngine:
    """The same pool, in autocommit: use it only where each connection runs single statements whose
    results need no transaction together."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
