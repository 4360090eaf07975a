"""One connection kept by a worker that runs its statements one after the other (the usage consumer).

Taking a pooled connection costs a liveness check of three round trips (BEGIN, a no-op, ROLLBACK);
a flush needs two statements, so checking out per statement made most of a flush's round trips.
The held connection is in autocommit (every statement it runs stands alone), is used by one caller
at a time, and is given back after any error, so the next use checks one out of the pool afresh
(a connection found broken is discarded by the pool, a healthy one passes its liveness check).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from rating.autocommit import single_statements


class HeldConnection:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = single_statements(engine)
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        async with self._lock:
            if self._conn is None:
                self._conn = await self._engine.connect()
            try:
                yield self._conn
            except BaseException:
                await self._drop()
                raise

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # it may be broken already: that is why it goes
                await conn.close()

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
