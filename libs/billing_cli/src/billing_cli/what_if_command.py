"""``billing what-if``: what a proposed pricing version would change on a site's invoices.

The proposal is a file holding one pricing version, in the same shape as a version
in the contract (``effective_from`` plus what changes). It is validated by putting
it into the contract and loading the whole contract with billing_core, so a
proposal is held to exactly the rules of a real change. The comparison itself is
billing_core's ``what_if``.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from billing_core import (
    Contract,
    ContractError,
    Issue,
    PricingVersion,
    currency_of,
    format_amount,
    parse_contract,
    what_if,
)
from billing_io.contract_yaml import load_contract_data
from billing_io.events_jsonl import read_events

from .input_arguments import add_input_arguments, period_argument
from .offline_run import plan_run
from .text_table import text_table

__all__ = ["add_what_if_parser", "proposed_version", "what_if_command"]


def add_what_if_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "what-if",
        help="compare a site's invoices with and without a proposed pricing version",
        description="Rate the periods twice, as contracted and with the proposed version added to the "
        "site's pricing, and print each site total that differs.",
    )
    add_input_arguments(parser)
    parser.add_argument("--site", required=True, help="site whose pricing would change")
    parser.add_argument("--version", required=True, type=Path, help="file with the proposed pricing version")
    parser.add_argument("--through", type=period_argument, metavar="YYYY-MM", help="last period to compare")
    parser.set_defaults(handler=what_if_command)


def _effective_from(version: Mapping[str, Any]) -> date | None:
    value = version.get("effective_from")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None  # parse_contract reports it with its path
    return None


def proposed_version(
    contract_path: Path, version_path: Path, site_id: str
) -> tuple[Contract, PricingVersion]:
    """The contract as it stands, and the proposal validated in its context."""
    contract_data = load_contract_data(contract_path)
    contract = parse_contract(contract_data, source=str(contract_path))
    version = load_contract_data(version_path)
    if contract.site(site_id) is None:
        issue = Issue(str(contract_path), "sites", f"no site {site_id!r} in tenant {contract.tenant!r}")
        raise ContractError([issue])
    effective = _effective_from(version)
    changed: dict[str, Any] = copy.deepcopy(dict(contract_data))
    for site in changed["sites"]:
        if site.get("id") == site_id:
            kept = [v for v in site.get("pricing") or [] if _effective_from(v) != effective]
            site["pricing"] = [*kept, dict(version)]
    with_proposal = parse_contract(changed, source=f"{version_path} (in {contract_path})")
    site = with_proposal.site(site_id)
    match = [v for v in site.pricing if v.effective_from == effective] if site is not None else []
    if not match:
        raise ContractError([Issue(str(version_path), "effective_from", "missing or not a date")])
    return contract, match[0]


def what_if_command(
    args: argparse.Namespace, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr
) -> int:
    contract, proposal = proposed_version(args.contract, args.version, args.site)
    plan = plan_run(contract, read_events(args.events), args.through)
    rows = what_if(contract, args.site, proposal, plan.periods, plan.usage)
    currency = currency_of(contract.currency)
    shown = [row for row in rows if row.site == args.site or row.difference != 0]
    header = ("period", "site", "current", "proposed", "difference")
    lines = [
        (
            str(row.period),
            row.site,
            format_amount(row.current, currency),
            format_amount(row.proposed, currency),
            format_amount(row.difference, currency),
        )
        for row in shown
    ]
    stdout.write("\n".join(text_table(header, lines, label_columns=2)) + "\n")
    return 0
