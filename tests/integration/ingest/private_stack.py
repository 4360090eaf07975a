"""A PostgreSQL and Kafka of one test module, for tests that stop and restart them for real.

The shared stack of `make up` serves every test and service on the machine, so it is never
restarted. `scripts/stack.sh up-infra` runs a second instance from its own state folder under
.local/ on free ports, with the PostgreSQL binaries and the cached Kafka jars of the shared one. Its
processes carry their own marker, so stopping or restarting it leaves the shared stack alone, and
tear-down can prove that none of them is left.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
STACK_SCRIPT = REPO_ROOT / "scripts" / "stack.sh"
STACK_TIMEOUT_SECONDS = 240


class StackCommandFailed(RuntimeError):
    """scripts/stack.sh refused or failed; the message carries its output."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def marked_pids(marker: str) -> list[int]:
    """Live processes whose environment carries ``BILLING_STACK_ID=marker`` (Linux /proc)."""
    wanted = f"BILLING_STACK_ID={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


@dataclass
class PrivateStack:
    state_dir: Path
    settings_env: dict[str, str]
    """The BILLING_* variables that make scripts/stack.sh act on this instance."""
    database_url: str = ""
    kafka_bootstrap: str = ""
    marker: str = ""
    """BILLING_STACK_ID of this instance: every process it starts carries it."""

    def run(self, *command: str) -> str:
        """Run ``scripts/stack.sh command`` against this instance; its output, or StackCommandFailed."""
        result = subprocess.run(
            [str(STACK_SCRIPT), *command],
            env={**os.environ, **self.settings_env},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=STACK_TIMEOUT_SECONDS,
            check=False,
        )
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise StackCommandFailed(
                f"scripts/stack.sh {' '.join(command)} exited {result.returncode} "
                f"(state in {self.state_dir}):\n{output[-3000:]}"
            )
        return output

    def up(self) -> None:
        self.run("up-infra")
        values = read_env_file(self.state_dir / "stack.env")
        self.database_url = values["BILLING_DATABASE_URL"]
        self.kafka_bootstrap = values["BILLING_KAFKA_BOOTSTRAP"]

    def restart_kafka(self) -> None:
        """Controlled shutdown of the broker, a pause, then a start on the same data folder."""
        self.run("restart-kafka")

    def restart_postgres(self, mode: str = "immediate") -> None:
        """``immediate`` ends PostgreSQL without a clean shutdown, so the start replays its WAL."""
        self.run("restart-pg", mode)

    def tear_down(self, *, keep_state: bool) -> None:
        """Stop the instance, then make sure no process carrying its marker is left; the state folder
        is removed unless ``keep_state`` (its logs explain a failure)."""
        try:
            self.run("down")
        finally:
            leftovers = marked_pids(self.marker)
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if not keep_state:
                shutil.rmtree(self.state_dir, ignore_errors=True)
        if leftovers:
            raise AssertionError(f"processes of the private stack survived `stack.sh down`: {leftovers}")


def new_private_stack() -> PrivateStack:
    """An instance in ``.local/private-<random>/`` on free ports, not started yet; once ``up`` is
    called, call ``tear_down`` whatever happens (a failed start may leave half of it running)."""
    state_dir = REPO_ROOT / ".local" / f"private-{secrets.token_hex(4)}"
    stack = PrivateStack(
        state_dir,
        {
            "BILLING_STATE_DIR": str(state_dir),
            "BILLING_PG_PORT": str(free_port()),
            "BILLING_KAFKA_PORT": str(free_port()),
            "BILLING_KAFKA_CONTROLLER_PORT": str(free_port()),
            "BILLING_KAFKA_HEAP": "512m",
            "BILLING_RESTART_PAUSE": "3",
        },
    )
    stack.marker = stack.run("marker").strip()
    return stack
