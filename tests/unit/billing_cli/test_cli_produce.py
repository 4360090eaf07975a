"""`billing produce` refuses a file with unreadable lines before anything reaches Kafka."""

from __future__ import annotations

import io
import json
from pathlib import Path

from billing_cli.main import main
from billing_cli.produce_command import LineProblem, keyed_events

GOOD = {
    "specversion": "1.0",
    "id": "e-1",
    "source": "urn:platform:us:pipeline-1",
    "type": "ai.platform.unit.processed.v1",
    "time": "2026-03-14T10:22:31.482Z",
    "datacontenttype": "application/json",
    "data": {"tenant_id": "acme", "site_id": "nyc-01", "category": "standard", "quantity": 1.5},
}


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_line_is_keyed_by_tenant_and_site(tmp_path: Path) -> None:
    other = {**GOOD, "id": "e-2", "data": {**GOOD["data"], "site_id": "bos-02"}}
    path = _write(tmp_path, json.dumps(GOOD), "", json.dumps(other))
    keys = [(item[0], item[2]) for item in keyed_events(path) if not isinstance(item, LineProblem)]
    assert keys == [(1, "acme/nyc-01"), (3, "acme/bos-02")]


def test_bad_lines_are_named_and_nothing_is_sent(tmp_path: Path) -> None:
    no_site = {**GOOD, "data": {"tenant_id": "acme", "quantity": "1"}}
    path = _write(tmp_path, json.dumps(GOOD), "{not json", json.dumps(no_site), "[1, 2]")
    problems = [item for item in keyed_events(path) if isinstance(item, LineProblem)]
    assert [p.line for p in problems] == [2, 3, 4]
    assert problems[0].message.startswith("not_json")
    assert "site_id" in problems[1].message
    assert problems[2].message.startswith("not_an_object")
    out, err = io.StringIO(), io.StringIO()
    # An unreachable broker proves nothing was attempted: the command stops before connecting.
    code = main(["produce", "--events", str(path), "--bootstrap", "127.0.0.1:1"], stdout=out, stderr=err)
    assert code == 2
    assert f"{path}:2: not_json" in err.getvalue()
    assert "3 bad lines" in err.getvalue() and "nothing was sent" in err.getvalue()
    assert out.getvalue() == ""


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    err = io.StringIO()
    code = main(["produce", "--events", str(tmp_path / "absent.jsonl")], stdout=io.StringIO(), stderr=err)
    assert code == 2 and "absent.jsonl" in err.getvalue()
