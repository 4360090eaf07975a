"""Contract documents as plain data (what a YAML or JSON loader yields) to and from the model.

Numbers must arrive as Decimal, int or str — a float has already lost precision, so it is
refused. Every problem is collected with the file and the path inside it.
"""

from __future__ import annotations

from typing import Any

from .contract import Contract

__all__ = ["contract_to_data", "parse_contract"]


def parse_contract(data: Any, source: str = "contract.yaml") -> Contract:
    """Validate and build a Contract; raises ContractError listing every issue found."""
    raise NotImplementedError


def contract_to_data(contract: Contract) -> dict[str, Any]:
    """The contract as plain data (dates and decimals as strings) that parse_contract loads
    back to an equal Contract; unstated version fields are omitted, removals are None."""
    raise NotImplementedError
