"""Kill the real `python -m ingest` process, restart the Kafka broker under it, restart PostgreSQL
under it, while it consumes; each time the aggregates must end equal to the distinct events sent,
exactly, and raw_events must hold every distinct event once.

Kafka and PostgreSQL are stopped and started for real, so these tests run on a private instance of
both (private_stack.py: its own state folder under .local/, free ports), never on the shared stack
that other tests and the services use. It is started once for the module and torn down after it,
leaving no process behind. Each scenario has its own topics, schema and tenants.

* SIGKILL: 200,000 distinct events plus 20,000 repeats, produced while ingest consumes. The process
  is killed five times at random moments (mid-batch, mid-commit, mid-publish): each kill comes a
  few milliseconds after the count passes a random point of its own slice of the consumption, so
  all five land while events are still being consumed. After each kill ingest starts again;
  each start seeks to the positions stored with the last committed batch, and whatever was in flight
  is replayed and deduplicated. Every start after a kill waits for the group to drop the dead member
  (its 10 s session timeout), which is most of this scenario's time.
* Kafka restart and PostgreSQL restart: 100,000 distinct events plus 10,000 repeats each (fewer than
  the SIGKILL scenario to keep the module within a few minutes; a broker restart alone takes 15-20 s
  here). All of it is on the topic before the restart, so the restart hits the consumer and not the
  test's producer. At a random point of consumption the broker gets a controlled shutdown, or
  PostgreSQL an immediate one (no clean shutdown: its start replays the write-ahead log, as after a
  crash); either stays down 3 s and starts again on the same data. The same ingest process must
  carry on by itself, and still be running at the end.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from crash_run import CrashRun, IngestProcess, crash_run, log_tail
from private_stack import PrivateStack, new_private_stack

pytestmark = pytest.mark.slow

KILLS = 5
CLEAN_EXIT = (0, -signal.SIGTERM)


@pytest.fixture(scope="module")
def private_stack(request: pytest.FixtureRequest) -> Iterator[PrivateStack]:
    """Its state folder is kept when a test of the module failed, for the logs in it."""
    stack = new_private_stack()
    failures = request.session.testsfailed
    try:
        stack.up()
    except BaseException:
        stack.tear_down(keep_state=True)
        raise
    try:
        yield stack
    finally:
        stack.tear_down(keep_state=request.session.testsfailed > failures)


async def test_sigkill_at_random_moments_neither_loses_nor_doubles_an_event(
    private_stack: PrivateStack, tmp_path: Path
) -> None:
    async with crash_run(private_stack, tmp_path, distinct=200_000, duplicates=20_000) as run:
        producing = asyncio.create_task(run.produce_all())
        ingest: IngestProcess | None = None
        try:
            seen = 0
            for target in kill_points(run):
                ingest = run.start_ingest()
                seen = await run.wait_for_count(ingest, max(seen, target), timeout=120, poll=0.02)
                await asyncio.sleep(run.rng.uniform(0, 0.05))
                ingest.kill()
                seen = await run.counted()
            assert seen < run.distinct, "the kills all came after the work was done; nothing was tested"

            ingest = run.start_ingest()
            assert await producing == len(run.numbers)
            assert await run.finish(ingest) in CLEAN_EXIT, log_tail(run.log)
        finally:
            producing.cancel()
            if ingest is not None:
                ingest.kill()

        assert await run.ledger_totals() == run.expected_totals()
        assert await run.raw_events() == run.distinct


def kill_points(run: CrashRun) -> list[int]:
    """Counts at which to kill ingest: random, spread over the whole consumption, and ordered.

    Killing at a count (not after a random delay) keeps every kill inside the consumption
    however fast ingest has become; each point lies in its own slice of 5 %-90 % of the
    distinct events, so consecutive kills are apart by several batches.
    """
    low, high = 0.05 * run.distinct, 0.9 * run.distinct
    width = (high - low) / KILLS
    return [int(low + width * (slot + run.rng.uniform(0.2, 0.8))) for slot in range(KILLS)]


async def survives_restart(run: CrashRun, restart: Callable[[], None]) -> None:
    """Start ingest, produce all the traffic, run ``restart`` at a random point of consumption, and
    let the same process finish."""
    producing = asyncio.create_task(run.produce_all())
    ingest = run.start_ingest()
    try:
        assert await producing == len(run.numbers)
        await run.wait_for_count(ingest, int(run.distinct * run.rng.uniform(0.05, 0.3)), timeout=120)
        await asyncio.to_thread(restart)
        counted_when_back = await run.counted()
        assert counted_when_back < run.distinct, (
            "consumption ended before the restarted component was back; nothing was tested"
        )
        assert await run.finish(ingest) in CLEAN_EXIT, log_tail(run.log)
    finally:
        producing.cancel()
        ingest.kill()


async def test_kafka_broker_restarted_mid_consumption_neither_loses_nor_doubles_an_event(
    private_stack: PrivateStack, tmp_path: Path
) -> None:
    async with crash_run(private_stack, tmp_path, distinct=100_000, duplicates=10_000) as run:
        await survives_restart(run, private_stack.restart_kafka)

        assert await run.ledger_totals() == run.expected_totals()
        assert await run.raw_events() == run.distinct


async def test_postgres_restarted_mid_consumption_neither_loses_nor_doubles_an_event(
    private_stack: PrivateStack, tmp_path: Path
) -> None:
    async with crash_run(private_stack, tmp_path, distinct=100_000, duplicates=10_000) as run:
        await survives_restart(run, lambda: private_stack.restart_postgres("immediate"))

        assert await run.ledger_totals() == run.expected_totals()
        assert await run.raw_events() == run.distinct
