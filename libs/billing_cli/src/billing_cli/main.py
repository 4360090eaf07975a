"""The ``billing`` command: offline subcommands now, API-wrapping subcommands alongside them later.

Each subcommand module adds its own parser and handler; ``main`` turns any known
kind of bad input into exit status 2 with a message per problem, so scripts can
tell bad input (2) from success (0).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from .input_errors import EXIT_BAD_INPUT, INPUT_ERRORS, describe_input_error
from .produce_command import add_produce_parser
from .run_command import add_run_parser
from .validate_command import add_validate_parser
from .what_if_command import add_what_if_parser

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="billing",
        description="Usage-based billing: rate contracts and events offline, or talk to the platform.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_run_parser(commands)
    add_validate_parser(commands)
    add_what_if_parser(commands)
    add_produce_parser(commands)
    return parser


def main(
    argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args, stdout=out, stderr=err)
    except INPUT_ERRORS as error:
        for message in describe_input_error(error):
            err.write(f"billing {args.command}: {message}\n")
        return EXIT_BAD_INPUT
    return code


if __name__ == "__main__":
    sys.exit(main())
