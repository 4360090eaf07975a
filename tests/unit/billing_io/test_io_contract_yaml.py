"""Contract files: numbers stay exact decimals, dates stay dates, errors say where."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from billing_core import Contract, ContractError
from billing_io.contract_yaml import (
    ContractSyntaxError,
    dump_contract_yaml,
    load_contract,
    load_contract_data,
    parse_contract_text,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "contract.yaml"

SMALL = """\
tenant: acme
name: ACME Health
currency: USD
contract_start: 2026-01-01
defaults:
  - effective_from: 2026-01-01
    rates: {standard: 1.20, expedited: "2.50", review: 0.1}
sites:
  - id: nyc-01
    name: New York 01
    active_from: 2026-03-16
    pricing:
      - effective_from: 2026-01-01
        minimum: {amount: 500.00, categories: [standard]}
        annual_cap: 60000
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_numbers_become_exact_decimals() -> None:
    data = parse_contract_text(SMALL, "small.yaml")
    rates = data["defaults"][0]["rates"]
    assert rates["standard"] == Decimal("1.20")
    assert str(rates["standard"]) == "1.20"
    assert str(rates["review"]) == "0.1"
    assert isinstance(rates["review"], Decimal)
    assert rates["expedited"] == "2.50"
    assert str(data["sites"][0]["pricing"][0]["minimum"]["amount"]) == "500.00"


def test_dates_stay_dates() -> None:
    data = parse_contract_text(SMALL, "small.yaml")
    assert data["contract_start"] == date(2026, 1, 1)
    assert data["sites"][0]["active_from"] == date(2026, 3, 16)


def test_loaded_contract_keeps_decimals_written_without_quotes(tmp_path: Path) -> None:
    contract = load_contract(write(tmp_path, "small.yaml", SMALL))
    assert contract.defaults[0].rates["standard"] == Decimal("1.20")
    assert str(contract.defaults[0].rates["review"]) == "0.1"
    assert contract.sites[0].active_from == date(2026, 3, 16)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("tenant: acme\nsites: [a, b\nname: x\n", 3, 5),
        ("tenant: acme\n  name: bad indent\n", 2, 7),
        ("tenant: acme\nrates: {standard: .inf}\n", 2, 19),
    ],
)
def test_yaml_errors_name_file_line_and_column(tmp_path: Path, text: str, line: int, column: int) -> None:
    path = write(tmp_path, "broken.yaml", text)
    with pytest.raises(ContractSyntaxError) as caught:
        load_contract(path)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert str(caught.value).startswith(f"{path}:{line}:{column}: ")


def test_json_errors_name_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{\n  "tenant": "acme",\n  "name": }\n')
    with pytest.raises(ContractSyntaxError) as caught:
        load_contract(path)
    assert (caught.value.line, caught.value.column) == (3, 11)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ContractSyntaxError, match="mapping"):
        load_contract(write(tmp_path, "list.yaml", "- a\n- b\n"))


def _json_ready(value: object) -> object:
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def test_json_contract_is_equivalent_to_yaml(tmp_path: Path) -> None:
    data = _json_ready(load_contract_data(EXAMPLE))
    as_json = write(tmp_path, "contract.json", json.dumps(data, indent=2))
    assert load_contract(as_json) == load_contract(EXAMPLE)


def test_json_numbers_are_not_floats(tmp_path: Path) -> None:
    path = write(tmp_path, "c.json", '{"rates": {"standard": 1.20, "review": 0.1}}')
    rates = load_contract_data(path)["rates"]
    assert (str(rates["standard"]), str(rates["review"])) == ("1.20", "0.1")


def test_format_is_sniffed_when_the_extension_says_nothing(tmp_path: Path) -> None:
    as_yaml = load_contract_data(write(tmp_path, "contract.txt", "tenant: acme\nrate: 1.5\n"))
    as_json = load_contract_data(write(tmp_path, "contract.conf", '{"tenant": "acme", "rate": 1.5}'))
    assert as_yaml == as_json == {"tenant": "acme", "rate": Decimal("1.5")}


def test_dump_loads_back_to_an_equal_contract(tmp_path: Path) -> None:
    contract = load_contract(EXAMPLE)
    text = dump_contract_yaml(contract)
    assert "1.2" not in text.replace("1.20", "")  # no float spelling crept in
    again = load_contract(write(tmp_path, "again.yaml", text))
    assert isinstance(again, Contract)
    assert again == contract


def test_contract_errors_name_the_file_and_every_path(tmp_path: Path) -> None:
    broken = SMALL.replace("currency: USD", "currency: XYZ").replace(
        "effective_from: 2026-01-01\n        minimum", "effective_from: 2026-01-15\n        minimum"
    )
    path = write(tmp_path, "broken.yaml", broken)
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    paths = [issue.path for issue in caught.value.issues]
    assert all(issue.source == str(path) for issue in caught.value.issues)
    assert "currency" in paths
    assert any(p.startswith("sites[0].pricing[0].effective_from") for p in paths), paths
