"""What running charges reuse between refreshes, each entry keyed by what it was built from.

Nothing here is invalidated by hand: a contract is keyed by the tenant's configuration revision,
issued invoices by their count (an issued invoice never changes), and a rated prefix by the
revision, the issued count and the mark of the earlier periods' aggregates. A change of any of
these is a different key, so a stale entry is simply never found again and ages out. The keys come
from the database, so several rating processes can each keep their own cache.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from billing_core import Contract, Invoice
from rating.contract_documents import stored_contract
from rating.incremental_run import RatedPrefix
from rating.records import RatingBasis, TenantState

K = TypeVar("K")
V = TypeVar("V")

PrefixKey = tuple[str, str, int, RatingBasis]
"""(tenant, period, revision, basis)."""


class Recent(Generic[K, V]):
    """A mapping that keeps only the most recently used ``size`` entries."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class DashboardCache:
    def __init__(self, size: int = 1024) -> None:
        self._contracts: Recent[tuple[str, int], Contract] = Recent(size)
        self._issued: Recent[tuple[str, int], list[Invoice]] = Recent(size)
        self.prefixes: Recent[PrefixKey, RatedPrefix] = Recent(size)

    def contract(self, state: TenantState | None, tenant_id: str) -> tuple[TenantState, Contract]:
        """The tenant's head and its contract (NotFound without one), parsed once per revision."""
        if state is not None:
            cached = self._contracts.get((tenant_id, state.revision))
            if cached is not None:
                return state, cached
        state, contract = stored_contract(state, tenant_id)
        self._contracts.put((tenant_id, state.revision), contract)
        return state, contract

    def issued(self, tenant_id: str, count: int) -> list[Invoice] | None:
        return self._issued.get((tenant_id, count))

    def keep_issued(self, tenant_id: str, invoices: list[Invoice]) -> None:
        self._issued.put((tenant_id, len(invoices)), invoices)
