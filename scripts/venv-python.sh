#!/usr/bin/env bash
# Prints the Python 3.11 interpreter that `make setup` builds .venv on.
#
# The distribution's own /usr/bin/python3.11 comes first when it can make a venv: Debian builds it
# with profile-guided optimisation and link-time optimisation, as the python:3.11-slim image the
# services run on in production is built. A python3.11 from PATH (pyenv, for one) is often a plain
# build: the same code ran the ingest pipeline about 15 % slower on it (docs/operations.md).
# PYTHON=/path/to/python3.11 make setup overrides the choice.
set -euo pipefail

distribution=/usr/bin/python3.11
if [ -x "$distribution" ] && "$distribution" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "$distribution"
    exit 0
fi
if found="$(command -v python3.11)"; then
    echo "$found"
    exit 0
fi
echo "venv-python: no python3.11 found (install python3.11 and python3.11-venv)" >&2
exit 1
