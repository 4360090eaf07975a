"""Errors raised by the rating library; each carries enough to say what and where."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ContractError", "Issue", "RatingError"]


@dataclass(frozen=True)
class Issue:
    """One problem in a contract document: which file, where inside it, and why."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class ContractError(ValueError):
    """A contract document was refused; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues) or "invalid contract")


class RatingError(ValueError):
    """Usage that cannot be rated (e.g. a category with no rate); never billed at zero instead."""

    def __init__(self, message: str, *, tenant: str, site: str, category: str | None, period: str) -> None:
        self.tenant = tenant
        self.site = site
        self.category = category
        self.period = period
        super().__init__(message)
