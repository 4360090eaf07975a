"""``billing validate``: check a contract (and optionally an event file) without rating anything."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from billing_io.contract_yaml import load_contract
from billing_io.events_jsonl import read_events

from .input_arguments import add_input_arguments

__all__ = ["add_validate_parser", "validate"]


def add_validate_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "validate",
        help="check a contract file (and an event file) and report every problem",
        description="Load a contract as `billing run` would and report every problem with its file and path.",
    )
    add_input_arguments(parser, events_required=False)
    parser.set_defaults(handler=validate)


def validate(args: argparse.Namespace, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    contract = load_contract(args.contract)
    versions = len(contract.defaults) + sum(len(site.pricing) for site in contract.sites)
    stdout.write(
        f"{args.contract}: ok: tenant {contract.tenant} ({contract.currency}), contract start "
        f"{contract.contract_start.isoformat()}, {len(contract.sites)} sites, {versions} pricing versions\n"
    )
    if args.events is not None:
        events = read_events(args.events)
        distinct = len({(event.source, event.id) for event in events})
        stdout.write(f"{args.events}: ok: {len(events)} events, {distinct} distinct by source and id\n")
    return 0
