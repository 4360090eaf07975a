"""Classification rules: which billing category a usage event counts under.

Rules are configuration (a YAML or JSON file named in the settings), tried in order; the first
rule whose CloudEvent type and data fields match decides. When none matches, the default rule
takes data.category. File format::

    rules:
      - type: ai.platform.review.completed.v1   # optional: exact CloudEvent type, or a list of types
        data: {priority: high}                  # optional: data fields that must equal these values
        category: review                        # the category to use ...
      - type: ai.platform.unit.processed.v1
        category_field: tier                    # ... or the data field holding it
    default_field: category                     # optional, the default rule's field (data.category)

Values are compared as text (YAML is read without type conversion, so 1.10 stays "1.10").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from ingest.rejections import InvalidEvent, Reason

DEFAULT_FIELD = "category"


class ClassificationConfigError(ValueError):
    """The classification file is unusable; the message names the file and the place inside it."""


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class Rule:
    category: str | None = None
    category_field: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)

    def matches(self, data: Mapping[str, Any]) -> bool:
        for name, expected in self.data.items():
            actual = data.get(name)
            if actual is None or _as_text(actual) != expected:
                return False
        return True

    def category_of(self, data: Mapping[str, Any]) -> str:
        if self.category is not None:
            return self.category
        assigned = data.get(self.category_field or DEFAULT_FIELD)
        if not isinstance(assigned, str) or not assigned:
            raise InvalidEvent(
                Reason.UNCLASSIFIED, f"data.{self.category_field} must name the category, got {assigned!r}"
            )
        return assigned


@dataclass(frozen=True, slots=True)
class Classifier:
    """Rules indexed by CloudEvent type so an event only meets the rules that can apply to it."""

    by_type: Mapping[str, tuple[Rule, ...]] = field(default_factory=dict)
    any_type: tuple[Rule, ...] = ()
    default_field: str = DEFAULT_FIELD

    def category(self, event_type: str, data: Mapping[str, Any]) -> str:
        for rule in self.by_type.get(event_type, self.any_type):
            if rule.matches(data):
                return rule.category_of(data)
        value = data.get(self.default_field)
        if value is None:
            raise InvalidEvent(
                Reason.UNCLASSIFIED,
                f"no rule matches type {event_type!r} and data.{self.default_field} is missing",
            )
        if not isinstance(value, str) or not value:
            raise InvalidEvent(
                Reason.UNCLASSIFIED, f"data.{self.default_field} must be a non-empty string, got {value!r}"
            )
        return value


def build_classifier(document: object, origin: str) -> Classifier:
    """Build from a parsed document; every error names the origin and the rule position."""
    if document is None:
        return Classifier()
    if not isinstance(document, Mapping):
        raise ClassificationConfigError(f"{origin}: the top level must be a mapping with 'rules'")
    unknown = set(document) - {"rules", "default_field"}
    if unknown:
        raise ClassificationConfigError(f"{origin}: unknown keys {sorted(unknown)}")
    default_field = document.get("default_field", DEFAULT_FIELD)
    if not isinstance(default_field, str) or not default_field:
        raise ClassificationConfigError(f"{origin}: default_field must be a non-empty string")
    raw_rules = document.get("rules") or []
    if not isinstance(raw_rules, list):
        raise ClassificationConfigError(f"{origin}: rules must be a list")
    ordered: list[tuple[tuple[str, ...] | None, Rule]] = [
        _parse_rule(raw, f"{origin}: rules[{index}]") for index, raw in enumerate(raw_rules)
    ]
    types = {name for names, _ in ordered if names for name in names}
    by_type = {
        name: tuple(rule for names, rule in ordered if names is None or name in names) for name in types
    }
    any_type = tuple(rule for names, rule in ordered if names is None)
    return Classifier(by_type=by_type, any_type=any_type, default_field=default_field)


def _parse_rule(raw: object, where: str) -> tuple[tuple[str, ...] | None, Rule]:
    if not isinstance(raw, Mapping):
        raise ClassificationConfigError(f"{where}: a rule must be a mapping")
    unknown = set(raw) - {"type", "data", "category", "category_field"}
    if unknown:
        raise ClassificationConfigError(f"{where}: unknown keys {sorted(unknown)}")
    types = raw.get("type")
    names: tuple[str, ...] | None
    if types is None:
        names = None
    elif isinstance(types, str) and types:
        names = (types,)
    elif isinstance(types, list) and types and all(isinstance(t, str) and t for t in types):
        names = tuple(types)
    else:
        raise ClassificationConfigError(f"{where}.type: a non-empty string or list of strings")
    data = raw.get("data") or {}
    if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
        raise ClassificationConfigError(f"{where}.data: a mapping of field name to value")
    category, category_field = raw.get("category"), raw.get("category_field")
    if (category is None) == (category_field is None):
        raise ClassificationConfigError(f"{where}: give exactly one of category or category_field")
    for key, value in (("category", category), ("category_field", category_field)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ClassificationConfigError(f"{where}.{key}: a non-empty string")
    rule = Rule(
        category=category,
        category_field=category_field,
        data={name: _as_text(value) for name, value in data.items()},
    )
    return names, rule


def load_classifier(path: Path | None) -> Classifier:
    """Read the rules file (.json, or YAML otherwise); no file means the default rule only."""
    if path is None:
        return Classifier()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClassificationConfigError(f"{path}: cannot read classification rules: {exc}") from None
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(text, parse_float=Decimal)
        else:
            document = yaml.load(text, Loader=yaml.BaseLoader)  # noqa: S506 - BaseLoader builds only str/list/dict
    except (ValueError, yaml.YAMLError) as exc:
        raise ClassificationConfigError(
            f"{path}: not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        ) from None
    return build_classifier(document, str(path))
