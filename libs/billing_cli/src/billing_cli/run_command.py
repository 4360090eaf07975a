"""``billing run``: rate a contract and a file of events into one invoice per period."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from billing_core import Invoice
from billing_io.contract_yaml import load_contract
from billing_io.events_jsonl import read_events

from .input_arguments import add_input_arguments, period_argument
from .invoice_numbers import DEFAULT_PREFIX, RunNumbering
from .offline_run import plan_run, rate_plan
from .progress import Progress
from .run_outputs import write_period_outputs
from .run_table import render_table

__all__ = ["add_run_parser", "run"]


def add_run_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "run",
        help="rate a contract and a JSON Lines event file offline, one invoice per period",
        description="Rate every period from the contract start through --through, in order, "
        "carrying each site's contract-year billed-to-date, and write DIR/<YYYY-MM>/invoice.json.",
    )
    add_input_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, help="directory for the per-period outputs")
    parser.add_argument(
        "--through",
        type=period_argument,
        metavar="YYYY-MM",
        help="last period to rate (default: last with events)",
    )
    parser.add_argument(
        "--number-prefix",
        default=DEFAULT_PREFIX,
        help=f"prefix of offline invoice numbers (default {DEFAULT_PREFIX!r}: {DEFAULT_PREFIX}2026-000001)",
    )
    parser.add_argument(
        "--progress", action="store_true", help="show progress on stderr even when not a terminal"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    """Read and rate everything first, so bad input stops the run before any file is written."""
    contract = load_contract(args.contract)
    plan = plan_run(contract, read_events(args.events), args.through)
    progress = Progress.for_stream(stderr, len(plan.periods), "rating", forced=args.progress)

    def advance(invoice: Invoice) -> None:
        progress.advance(str(invoice.period))

    try:
        result = rate_plan(contract, plan, numbering=RunNumbering(args.number_prefix), on_invoice=advance)
    finally:
        progress.finish()
    for invoice in result.invoices:
        write_period_outputs(args.out, invoice)
    for note in result.notes:
        stderr.write(f"note: {note}\n")
    stdout.write(render_table(result.invoices))
    stdout.write(f"{len(result.invoices)} invoices written to {args.out}\n")
    return 0
