"""Structural diff of two contract documents, for the history's "what changed".

Lists of sites are matched by site id and lists of pricing versions by
effective_from, so adding one version reads as one added entry rather than a
shifted list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_LIST_KEYS = ("id", "effective_from")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        if self.before is MISSING:
            return "added"
        if self.after is MISSING:
            return "removed"
        return "changed"

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "change": self.kind}
        if self.before is not MISSING:
            data["before"] = self.before
        if self.after is not MISSING:
            data["after"] = self.after
        return data


def diff_documents(before: Any, after: Any) -> list[Change]:
    """Every leaf or subtree that differs between two JSON-safe documents."""
    changes: list[Change] = []
    _diff(before, after, "", changes)
    return changes


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    """The list as a mapping by its natural key, or None when it has none."""
    if not items:
        return {}
    for key in _LIST_KEYS:
        if all(isinstance(item, dict) and key in item for item in items):
            keyed = {str(item[key]): item for item in items}
            if len(keyed) == len(items):
                return keyed
    return None


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _diff(before: Any, after: Any, path: str, out: list[Change]) -> None:
    if before == after:
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            _diff(before.get(key, MISSING), after.get(key, MISSING), _join(path, str(key)), out)
        return
    if isinstance(before, list) and isinstance(after, list):
        before_keyed, after_keyed = _keyed(before), _keyed(after)
        if before_keyed is not None and after_keyed is not None:
            for key in sorted(set(before_keyed) | set(after_keyed)):
                _diff(before_keyed.get(key, MISSING), after_keyed.get(key, MISSING), f"{path}[{key}]", out)
            return
    out.append(Change(path=path, before=before, after=after))
