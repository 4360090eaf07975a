"""Contract files (YAML or JSON) to and from billing_core's Contract.

Numbers must reach billing_core exactly as written: YAML floats are built as
Decimal (never float) and JSON is parsed with ``parse_float=Decimal``, so a
rate written ``1.20`` stays ``Decimal("1.20")``. Validation of the contract's
meaning belongs to ``billing_core.parse_contract``; this module only turns bytes
into plain data and keeps the file name for its error messages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from billing_core import Contract, contract_to_data, parse_contract

__all__ = [
    "ContractSyntaxError",
    "dump_contract_yaml",
    "load_contract",
    "load_contract_data",
    "parse_contract_text",
]

_JSON_SUFFIXES = frozenset({".json"})
_YAML_SUFFIXES = frozenset({".yaml", ".yml"})


class ContractSyntaxError(ValueError):
    """The file is not well-formed YAML/JSON, so no path inside it can be named yet."""

    def __init__(self, source: str, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.source = source
        self.reason = reason
        self.line = line
        self.column = column
        where = source if line is None else f"{source}:{line}:{column}"
        super().__init__(f"{where}: {reason}")


class _DecimalSafeLoader(yaml.SafeLoader):
    """SafeLoader whose floats are Decimals; ints and dates keep PyYAML's safe types."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(None, None, "a number must be a scalar", node.start_mark)
    text = str(loader.construct_scalar(node)).replace("_", "").strip()
    lowered = text.lower()
    if lowered in (".inf", "+.inf", "-.inf", ".nan"):
        raise yaml.constructor.ConstructorError(
            None, None, f"non-finite number {text!r} is not allowed", node.start_mark
        )
    if ":" in text:  # YAML 1.1 base-60 floats: far more likely a typo than intent
        raise yaml.constructor.ConstructorError(
            None, None, f"sexagesimal number {text!r} is not allowed", node.start_mark
        )
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise yaml.constructor.ConstructorError(
            None, None, f"not a decimal number: {text!r}", node.start_mark
        ) from exc


_DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


class _DecimalSafeDumper(yaml.SafeDumper):
    """Writes Decimals as quoted strings so no YAML reader can turn them into floats."""


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value))


_DecimalSafeDumper.add_representer(Decimal, _represent_decimal)


def _json_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} is not allowed")


def _parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise ContractSyntaxError(source, exc.msg, exc.lineno, exc.colno) from exc
    except ValueError as exc:
        raise ContractSyntaxError(source, str(exc)) from exc


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_DecimalSafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = " ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        if mark is None:
            raise ContractSyntaxError(source, reason) from exc
        raise ContractSyntaxError(source, reason, mark.line + 1, mark.column + 1) from exc
    except yaml.YAMLError as exc:
        raise ContractSyntaxError(source, str(exc)) from exc


def _looks_like_json(text: str) -> bool:
    return text.lstrip().startswith(("{", "["))


def parse_contract_text(text: str, source: str, fmt: str | None = None) -> Mapping[str, Any]:
    """Turn contract text into plain data; ``fmt`` is "json", "yaml" or None (sniff the content)."""
    kind = fmt or ("json" if _looks_like_json(text) else "yaml")
    if kind not in ("json", "yaml"):
        raise ValueError(f"unknown contract format {fmt!r}")
    data = _parse_json(text, source) if kind == "json" else _parse_yaml(text, source)
    if not isinstance(data, Mapping):
        raise ContractSyntaxError(source, f"a contract must be a mapping at the top level, got {_kind(data)}")
    return data


def _kind(value: object) -> str:
    return "nothing" if value is None else type(value).__name__


def _format_for(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in _JSON_SUFFIXES:
        return "json"
    if suffix in _YAML_SUFFIXES:
        return "yaml"
    return None


def load_contract_data(path: str | Path) -> Mapping[str, Any]:
    """Read a contract file into plain data (Decimals, dates), chosen by extension or else by content."""
    file = Path(path)
    source = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ContractSyntaxError(source, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    return parse_contract_text(text, source, _format_for(file))


def load_contract(path: str | Path) -> Contract:
    """Load and validate a contract file; billing_core reports every problem with its path."""
    return parse_contract(load_contract_data(path), source=str(path))


def dump_contract_yaml(contract: Contract) -> str:
    """YAML for a contract that loads back to an equal Contract (amounts as quoted decimal strings)."""
    data = contract_to_data(contract)
    return yaml.dump(
        _plain(data), Dumper=_DecimalSafeDumper, sort_keys=False, allow_unicode=True, default_flow_style=False
    )


def _plain(value: Any) -> Any:
    """Tuples and other sequences become lists so SafeDumper can write them."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value) if isinstance(value, (frozenset, set)) else value
        return [_plain(item) for item in items]
    if isinstance(value, (str, int, Decimal, date, bool)) or value is None:
        return value
    raise TypeError(f"cannot write {type(value).__name__} to a contract file")
