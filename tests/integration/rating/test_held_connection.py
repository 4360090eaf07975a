"""The usage consumer's held connection: statements stand alone, and after an error the connection
goes back to the pool and the next use checks one out afresh."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from rating.held_connection import HeldConnection


async def test_held_connection_is_reused_autocommits_and_is_replaced_after_an_error(app):
    held = HeldConnection(app.state.parts.engine)
    try:
        async with held.connect() as conn:
            taken = conn
            first = (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one()
            await conn.execute(sa.text("CREATE TEMPORARY TABLE held_probe (n int)"))
            await conn.execute(sa.text("INSERT INTO held_probe VALUES (1)"))
        async with held.connect() as conn:
            assert (await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one() == first
            # Autocommit: every statement is a transaction of its own.
            one = (await conn.execute(sa.text("SELECT txid_current()"))).scalar_one()
            assert (await conn.execute(sa.text("SELECT txid_current()"))).scalar_one() != one
            assert (await conn.execute(sa.text("SELECT count(*) FROM held_probe"))).scalar_one() == 1
        with pytest.raises(DBAPIError):
            async with held.connect() as conn:
                await conn.execute(sa.text("SELECT 1 / 0"))
        # Given back to the pool (which checks it before handing it out again), not reused as is.
        async with held.connect() as conn:
            assert conn is not taken
            assert (await conn.execute(sa.text("SELECT 1"))).scalar_one() == 1
    finally:
        await held.close()
