"""billing_core stays what its package docstring says: standard library only, no I/O, no async.

Every module is read as source and checked with ``ast`` (nothing of it is imported or run): its
imports, its async code and the calls that would read or write files, start processes or talk
to the network. The edges (files, databases, Kafka) hand the core plain values.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[3] / "libs" / "billing_core" / "src" / "billing_core"

IO_MODULES = frozenset(
    {
        "asyncio", "concurrent", "dbm", "fileinput", "ftplib", "glob", "http", "imaplib", "mmap",
        "multiprocessing", "poplib", "select", "selectors", "shelve", "shutil", "smtplib", "socket",
        "socketserver", "sqlite3", "ssl", "subprocess", "tempfile", "urllib", "webbrowser", "xmlrpc",
    }
)  # fmt: skip
"""Standard-library modules that are there for files, processes, the network or async."""

IO_CALLS = frozenset(
    {
        "open", "input", "print", "breakpoint", "__import__", "io.open", "codecs.open",
        "importlib.import_module",
        "os.chdir", "os.chmod", "os.chown", "os.fdopen", "os.fork", "os.kill", "os.link", "os.listdir",
        "os.lstat", "os.makedirs", "os.mkdir", "os.open", "os.popen", "os.read", "os.readlink",
        "os.remove", "os.removedirs", "os.rename", "os.renames", "os.replace", "os.rmdir", "os.scandir",
        "os.startfile", "os.stat", "os.symlink", "os.system", "os.truncate", "os.unlink", "os.utime",
        "os.walk", "os.write",
        "os.path.exists", "os.path.getatime", "os.path.getctime", "os.path.getmtime", "os.path.getsize",
        "os.path.isdir", "os.path.isfile", "os.path.islink", "os.path.ismount", "os.path.lexists",
        "os.path.realpath",
    }
)  # fmt: skip
"""Calls that read or write outside the process, by the name they resolve to through the imports."""
IO_CALL_PREFIXES = ("os.exec", "os.spawn", "os.posix_spawn")

FILE_METHODS = frozenset(
    {"open", "read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "glob", "rglob"}
    | {"mkdir", "rmdir", "unlink", "touch", "symlink_to", "hardlink_to"}
)
"""Methods of pathlib paths (and of files) that touch the file system, on whatever object."""

ASYNC_NODES = (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Each name an import binds, to what it names: ``import os.path as p`` binds p to os.path,
    ``import os.path`` binds os to os, ``from os import remove`` binds remove to os.remove."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.partition(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _called(func: ast.expr, names: dict[str, str]) -> str | None:
    """The dotted name a call's target resolves to (a builtin keeps its own), None for others."""
    if isinstance(func, ast.Name):
        return names.get(func.id, func.id)
    if isinstance(func, ast.Attribute):
        base = _called(func.value, names)
        return None if base is None else f"{base}.{func.attr}"
    return None


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0:  # a relative import stays in the package
        return [node.module or ""]
    return []


def problems(source: str, name: str) -> list[str]:
    """What in one module's source breaks the core's purity, each as ``name:line: what``."""
    tree = ast.parse(source, name)
    names = _imported_names(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', '?')}"
        for module in _imported_modules(node):
            top = module.partition(".")[0]
            if top == "billing_core":
                continue
            if top not in sys.stdlib_module_names:
                found.append(f"{where}: imports {module}, which is not in the standard library")
            elif top in IO_MODULES:
                found.append(f"{where}: imports {module}, which is for I/O or async")
        if isinstance(node, ASYNC_NODES) or (
            isinstance(node, COMPREHENSIONS) and any(loop.is_async for loop in node.generators)
        ):
            found.append(f"{where}: async code ({type(node).__name__})")
        if isinstance(node, ast.Call):
            called = _called(node.func, names) or ""
            if called in IO_CALLS or called.startswith(IO_CALL_PREFIXES):
                found.append(f"{where}: calls {called}()")
            elif isinstance(node.func, ast.Attribute) and node.func.attr in FILE_METHODS:
                found.append(f"{where}: calls .{node.func.attr}(), which touches files")
    return found


def test_billing_core_is_standard_library_only_without_io_or_async() -> None:
    modules = sorted(CORE.rglob("*.py"))
    assert {"__init__.py", "money.py", "rating.py", "usage.py"} <= {module.name for module in modules}
    found = [
        problem
        for module in modules
        for problem in problems(module.read_text(encoding="utf-8"), str(module.relative_to(CORE.parent)))
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "import requests",
        "from yaml import safe_load",
        "import sqlalchemy.ext.asyncio as sa",
        "import asyncio",
        "from concurrent.futures import ThreadPoolExecutor",
        "import subprocess",
        "from socket import create_connection",
        "async def rate():\n    pass",
        "def rate(run):\n    return [x async for x in run]",
        "with open('usage.csv') as f:\n    pass",
        "from io import open\nopen('usage.csv')",
        "print('rated')",
        "__import__('socket')",
        "import os\nos.remove('invoice.json')",
        "import os\nos.execv('/bin/sh', [])",
        "from os import listdir\nlistdir('.')",
        "import os.path as p\np.exists('contract.yaml')",
        "from pathlib import Path\nPath('contract.yaml').read_text()",
        "def load(path):\n    return path.open().read()",
    ],
)
def test_impure_code_is_named(source: str) -> None:
    found = problems(source, "core.py")
    assert found, source
    assert all(problem.startswith("core.py:") for problem in found)


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations\nfrom decimal import Decimal\nfrom .money import exact_add",
        "import billing_core.periods\nfrom billing_core.money import Currency",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from collections.abc import Iterator",
        "import os.path\nos.path.join('a', 'b')",
        "from pathlib import PurePosixPath\nPurePosixPath('a') / 'b'",
        "from io import StringIO\nStringIO().write('x')",
        "from zoneinfo import ZoneInfo\nZoneInfo('America/New_York')",
        "from dataclasses import replace\nreplace(line, amount=1)",
        "status = 'open'\n'open'.replace('o', 'O')",
        "import gc\ngc.disable()",
        "def lines(run):\n    yield from run",
    ],
)
def test_pure_code_is_not_flagged(source: str) -> None:
    assert problems(source, "core.py") == []
