"""Pieces of the command: offline numbering, the progress line, what-if."""

from __future__ import annotations

import io
from pathlib import Path

from billing_cli.invoice_numbers import RunNumbering
from billing_cli.main import main
from billing_cli.progress import Progress
from billing_core import Period

ROOT = Path(__file__).resolve().parents[3]
CONTRACT = ROOT / "examples" / "contract.yaml"
EVENTS = ROOT / "examples" / "events.jsonl"


def test_numbering_restarts_each_year_and_keeps_the_prefix() -> None:
    numbering = RunNumbering("TEST-")
    periods = [Period(2026, 11), Period(2026, 12), Period(2027, 1), Period(2027, 2)]
    assert [numbering.next_for(p) for p in periods] == [
        "TEST-2026-000001",
        "TEST-2026-000002",
        "TEST-2027-000001",
        "TEST-2027-000002",
    ]


def test_progress_is_silent_unless_enabled() -> None:
    quiet = io.StringIO()
    bar = Progress.for_stream(quiet, 4, "rating", forced=False)
    bar.advance("2026-01")
    bar.finish()
    assert quiet.getvalue() == ""
    shown = io.StringIO()
    bar = Progress.for_stream(shown, 4, "rating", forced=True)
    bar.advance("2026-01")
    bar.advance("2026-02")
    bar.finish()
    assert shown.getvalue().endswith("\rrating [###############---------------] 2/4 2026-02\n")


def run_what_if(tmp_path: Path, version: str, site: str = "nyc-01") -> tuple[int, str, str]:
    proposal = tmp_path / "proposal.yaml"
    proposal.write_text(version)
    out, err = io.StringIO(), io.StringIO()
    argv = ["what-if", "--contract", str(CONTRACT), "--events", str(EVENTS), "--site", site]
    code = main([*argv, "--version", str(proposal), "--through", "2026-12"], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_what_if_changes_only_periods_from_the_proposal_on(tmp_path: Path) -> None:
    code, out, err = run_what_if(tmp_path, 'effective_from: 2026-07-01\nannual_cap: "4500.00"\n')
    assert code == 0, err
    rows = {line.split()[0]: line.split()[2:] for line in out.splitlines()[2:]}
    assert len(rows) == 12
    for period, (current, proposed, difference) in rows.items():
        if period < "2026-07":
            assert current == proposed and difference == "0.00"
    # nyc-01 has billed well over 4,500.00 by the autumn: the lowered cap stops all further billing.
    assert rows["2026-12"][1] == "0.00"
    assert rows["2026-12"][2] == "-" + rows["2026-12"][0]


def test_what_if_refuses_an_invalid_proposal(tmp_path: Path) -> None:
    code, _, err = run_what_if(tmp_path, "effective_from: 2026-07-15\n")
    assert code == 2
    assert "effective_from" in err and "proposal.yaml" in err


def test_what_if_refuses_an_unknown_site(tmp_path: Path) -> None:
    code, _, err = run_what_if(tmp_path, "effective_from: 2026-07-01\n", site="nowhere")
    assert code == 2
    assert "nowhere" in err
