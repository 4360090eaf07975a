"""`billing run` end to end on files: exit statuses, outputs that verify, messages that say where."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from billing_cli.main import main
from billing_core import invoice_checksum, verify_invoice_data

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "examples" / "contract.yaml"
EVENTS = ROOT / "examples" / "events.jsonl"
MONTHS = [f"2026-{month:02d}" for month in range(1, 13)]


def run_cli(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(arg) for arg in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def invoices_in(directory: Path) -> dict[str, bytes]:
    return {path.parent.name: path.read_bytes() for path in sorted(directory.glob("*/invoice.json"))}


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out_dir = tmp_path_factory.mktemp("run")
    code, stdout, stderr = run_cli("run", "--contract", CONTRACT, "--events", EVENTS, "--out", out_dir)
    assert code == 0, stderr
    return out_dir, stdout


def test_writes_one_invoice_per_period_that_verifies(example_run: tuple[Path, str]) -> None:
    out_dir, _ = example_run
    written = invoices_in(out_dir)
    assert list(written) == MONTHS
    for period, raw in written.items():
        data = json.loads(raw)
        assert data["period"] == period
        assert verify_invoice_data(data) == []
        assert invoice_checksum(data) == data["verification"]["checksum"]
        site_totals = sum((Decimal(site["total"]) for site in data["sites"]), Decimal(0))
        assert site_totals == Decimal(data["total"]) == Decimal(data["verification"]["sum_of_site_totals"])


def test_numbers_are_sequential_and_billed_to_date_carries(example_run: tuple[Path, str]) -> None:
    out_dir, _ = example_run
    invoices = [json.loads(raw) for raw in invoices_in(out_dir).values()]
    assert [data["number"] for data in invoices] == [f"RUN-2026-{n:06d}" for n in range(1, 13)]
    # bos-02's 6,000.00 cap is reached during the year; its billed-to-date is the running sum of its totals.
    running = Decimal(0)
    for data in invoices:
        site = next(site for site in data["sites"] if site["site"] == "bos-02")
        running += Decimal(site["total"])
        assert Decimal(site["billed_to_date"]) == running
    assert running == Decimal("6000.00")


def test_prints_a_row_per_period(example_run: tuple[Path, str]) -> None:
    out_dir, stdout = example_run
    rows = [line for line in stdout.splitlines() if line[:7] in MONTHS]
    assert len(rows) == 12
    for row in rows:
        period, number, *_figures, total = row.split()
        data = json.loads((out_dir / period / "invoice.json").read_text())
        assert (number, total) == (data["number"], data["total"])


def test_installed_command_gives_the_same_bytes(example_run: tuple[Path, str], tmp_path: Path) -> None:
    billing = Path(sys.executable).with_name("billing")
    completed = subprocess.run(
        [billing, "run", "--contract", CONTRACT, "--events", EVENTS, "--out", tmp_path],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "2026-12" in completed.stdout
    assert completed.stderr == ""  # not a terminal and no --progress: no progress bar
    assert invoices_in(tmp_path) == invoices_in(example_run[0])


def test_duplicates_do_not_change_any_invoice(example_run: tuple[Path, str], tmp_path: Path) -> None:
    lines = EVENTS.read_text(encoding="utf-8").splitlines()
    seen: set[tuple[str, str]] = set()
    unique = []
    for line in lines:
        event = json.loads(line)
        if (event["source"], event["id"]) not in seen:
            seen.add((event["source"], event["id"]))
            unique.append(line)
    assert len(unique) < len(lines)  # the example really carries re-sent events
    deduplicated = tmp_path / "unique.jsonl"
    deduplicated.write_text("\n".join(unique) + "\n", encoding="utf-8")
    code, _, err = run_cli("run", "--contract", CONTRACT, "--events", deduplicated, "--out", tmp_path / "out")
    assert code == 0, err
    assert invoices_in(tmp_path / "out") == invoices_in(example_run[0])


def test_through_limits_the_periods_and_says_what_was_left_out(tmp_path: Path) -> None:
    code, _, err = run_cli(
        "run", "--contract", CONTRACT, "--events", EVENTS, "--out", tmp_path, "--through", "2026-03"
    )
    assert code == 0
    assert list(invoices_in(tmp_path)) == MONTHS[:3]
    assert "events after 2026-03 are not rated" in err


def test_progress_goes_to_stderr_when_asked(tmp_path: Path) -> None:
    code, out, err = run_cli(
        "run",
        "--contract",
        CONTRACT,
        "--events",
        EVENTS,
        "--out",
        tmp_path,
        "--through",
        "2026-02",
        "--progress",
    )
    assert code == 0
    assert "rating [" in err and "2/2" in err
    assert "rating [" not in out


def event_line(**data: object) -> str:
    body = {"tenant_id": "acme", "site_id": "nyc-01", "category": "standard", "quantity": "3"} | data
    return json.dumps(
        {
            "specversion": "1.0",
            "id": f"t-{sorted(body.items())}",
            "source": "urn:test",
            "type": "ai.platform.unit.processed.v1",
            "time": "2026-03-10T12:00:00Z",
            "data": body,
        }
    )


def test_bad_event_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        "\n".join(
            [event_line(), event_line(quantity="2"), event_line(quantity="-4"), event_line(quantity="5")]
        )
        + "\n"
    )
    code, out, err = run_cli("run", "--contract", CONTRACT, "--events", events, "--out", tmp_path / "out")
    assert code == 2
    assert f"{events}:3: data.quantity:" in err
    assert out == ""
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_category_without_rate_exits_2_naming_tenant_site_category_period(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(event_line() + "\n" + event_line(category="translation") + "\n")
    code, _, err = run_cli("run", "--contract", CONTRACT, "--events", events, "--out", tmp_path / "out")
    assert code == 2
    message = err.strip()
    for part in ("acme", "nyc-01", "translation", "2026-03"):
        assert part in message


def test_contract_errors_exit_2_naming_file_and_every_path(tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text(
        CONTRACT.read_text()
        .replace("currency: USD", "currency: DOLLARS")
        .replace('annual_cap: "6000.00"', 'annual_cap: "-5"')
    )
    code, _, err = run_cli("run", "--contract", contract, "--events", EVENTS, "--out", tmp_path / "out")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) >= 2, err
    assert all(str(contract) in line for line in lines)
    assert any("currency" in line for line in lines)
    assert any("sites[1].pricing[0].annual_cap" in line for line in lines)


def test_contract_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    contract = tmp_path / "contract.yaml"
    contract.write_text("tenant: acme\nsites: [\n")
    code, _, err = run_cli("run", "--contract", contract, "--events", EVENTS, "--out", tmp_path / "out")
    assert code == 2
    assert f"{contract}:3:1:" in err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = run_cli("run", "--contract", tmp_path / "none.yaml", "--events", EVENTS, "--out", tmp_path)
    assert code == 2
    assert "none.yaml" in err


def test_events_of_another_tenant_are_reported_not_billed(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(event_line() + "\n" + event_line(tenant_id="globex") + "\n")
    code, _, err = run_cli("run", "--contract", CONTRACT, "--events", events, "--out", tmp_path / "out")
    assert code == 0
    assert "1 events of tenant 'globex' skipped" in err
    march = json.loads((tmp_path / "out" / "2026-03" / "invoice.json").read_text())
    assert march["verification"]["event_count"] == 1


def test_no_events_and_no_through_exits_2(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n")
    code, _, err = run_cli("run", "--contract", CONTRACT, "--events", events, "--out", tmp_path / "out")
    assert code == 2
    assert "--through" in err


def test_validate_reports_ok_and_problems(tmp_path: Path) -> None:
    code, out, _ = run_cli("validate", "--contract", CONTRACT, "--events", EVENTS)
    assert code == 0
    assert "5 sites" in out
    bad = tmp_path / "contract.yaml"
    bad.write_text(CONTRACT.read_text().replace("effective_from: 2026-07-01", "effective_from: 2026-07-02"))
    code, _, err = run_cli("validate", "--contract", bad)
    assert code == 2
    assert "sites[2].pricing[1].effective_from" in err


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 0
    help_text = capsys.readouterr().out
    assert "run" in help_text and "validate" in help_text
