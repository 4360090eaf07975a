from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rating_fakes import MemoryDashboardReads, MemoryIssued, MemoryStore, MemoryUsage

from billing_io.contract_yaml import parse_contract_text
from rating.clock import FixedClock
from rating.contracts import ContractService
from rating.dashboard import DashboardService
from rating.period_close import PeriodCloser

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def contract_data() -> Any:
    return parse_contract_text((EXAMPLES / "contract.yaml").read_text(), "contract.yaml")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def usage() -> MemoryUsage:
    return MemoryUsage()


@pytest.fixture
def issued() -> MemoryIssued:
    return MemoryIssued()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 20, 9, 30, tzinfo=UTC))


@pytest.fixture
def contracts(store: MemoryStore, clock: FixedClock) -> ContractService:
    return ContractService(store, clock)


@pytest.fixture
def dashboard(
    store: MemoryStore, usage: MemoryUsage, issued: MemoryIssued, clock: FixedClock
) -> DashboardService:
    return DashboardService(store, usage, issued, MemoryDashboardReads(store, usage, issued), clock)


@pytest.fixture
def closer(
    store: MemoryStore, usage: MemoryUsage, clock: FixedClock, dashboard: DashboardService
) -> PeriodCloser:
    return PeriodCloser(store, usage, clock, dashboard)
