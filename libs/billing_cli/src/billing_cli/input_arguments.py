"""Command-line arguments shared by the offline subcommands, so they read the same everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from billing_core import Period

__all__ = ["add_input_arguments", "period_argument"]


def period_argument(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_input_arguments(parser: argparse.ArgumentParser, *, events_required: bool = True) -> None:
    """--contract and --events, as every offline subcommand takes them."""
    parser.add_argument("--contract", required=True, type=Path, help="contract file (YAML or JSON)")
    parser.add_argument(
        "--events",
        required=events_required,
        type=Path,
        help="usage events, one CloudEvent per line (JSON Lines)",
    )
