"""The text COPY rows: layout, escaping only when a value needs it, times PostgreSQL reads exactly."""

from __future__ import annotations

from decimal import Decimal

from ingest.checking import parse_time
from ingest.events import UsageEvent
from ingest.pg_copy_text import claim_rows, claims_copy, raw_events_copy, texts_plain


def event(source: str, event_id: str, time: str = "2026-03-14T10:22:31.482Z") -> UsageEvent:
    instant, time_text = parse_time(time)
    return UsageEvent(
        source, event_id, instant, "t.v1", "acme", "s1", "standard", "2026-03", Decimal("1E+3"), b"\x00{",
        time_text,
    )  # fmt: skip


def test_a_row_is_tab_separated_text_with_the_received_time_and_hex_payload() -> None:
    assert raw_events_copy([event("urn:a", "e1")]) == (
        b"urn:a\te1\t2026-03-14T10:22:31.482Z\tt.v1\tacme\ts1\tstandard\t2026-03\t1E+3\t\\\\x007b\n"
    )


def test_reserved_characters_in_values_are_escaped_and_nothing_else_changes() -> None:
    rows = raw_events_copy([event("urn:a", "plain"), event("urn:\\b", "tab\tnew\nline\rcr")]).split(b"\n")
    assert rows[0].startswith(b"urn:a\tplain\t")
    assert rows[1].startswith(b"urn:\\\\b\ttab\\tnew\\nline\\rcr\t2026-03-14T10:22:31.482Z\tt.v1\t")
    assert rows[2] == b""


def test_a_reserved_character_in_any_text_value_has_the_rows_escaped() -> None:
    base = event("urn:a", "e1")
    for field in ("type", "tenant", "site", "category"):
        for reserved, escaped in (("\t", b"\\t"), ("\n", b"\\n"), ("\r", b"\\r"), ("\\", b"\\\\")):
            odd = base._replace(**{field: f"x{reserved}y"})
            row = raw_events_copy([base, odd]).split(b"\n")[1]
            assert row.count(b"\t") == 9, (field, reserved)
            assert b"x" + escaped + b"y" in row, (field, reserved)


def test_times_postgresql_would_read_differently_are_written_as_utc() -> None:
    rounded, far_offset = (
        event("urn:a", "1", "2026-03-14T10:22:31.1234567Z"),
        event("urn:a", "2", "2026-03-14T10:22:31+20:00"),
    )
    times = [row.split(b"\t")[2] for row in raw_events_copy([rounded, far_offset]).splitlines()]
    assert times == [b"2026-03-14T10:22:31.123456+00:00", b"2026-03-13T14:22:31+00:00"]


def test_claims_are_sorted_by_id_then_source_and_escaped() -> None:
    events = [event("urn:b", "1"), event("urn:a", "x\ty"), event("urn:a", "2"), event("urn:a", "1")]
    rows = claim_rows(events)
    assert rows == [("1", "urn:a"), ("1", "urn:b"), ("2", "urn:a"), ("x\ty", "urn:a")]
    assert claims_copy(rows) == b"1\turn:a\n1\turn:b\n2\turn:a\nx\\ty\turn:a\n"
    assert not texts_plain(events)
    assert claims_copy(rows, plain_texts=False) == claims_copy(rows)


def test_one_verdict_on_the_texts_serves_both_tables_and_false_only_escapes() -> None:
    plain = [event("urn:a", "e1")._replace(payload=b"{}"), event("urn:a", "e2")]
    assert texts_plain(plain)
    assert raw_events_copy(plain, plain_texts=False) == raw_events_copy(plain, plain_texts=True)
    assert claims_copy(claim_rows(plain), plain_texts=False) == claims_copy(claim_rows(plain))
    for field in ("source", "id", "type", "tenant", "site", "category"):
        assert not texts_plain([*plain, plain[0]._replace(**{field: "a\\b"})]), field


def test_a_plain_ascii_payload_is_sent_as_it_is() -> None:
    body = b'{"id":"e1","data":{"quantity":"1.5","note":"~!#$%&()*+,-./:;<=>?@[]^_`{|}"}}'
    row = raw_events_copy([event("urn:a", "e1")._replace(payload=body)])
    assert row.endswith(b"\t1E+3\t" + body + b"\n")


def test_a_payload_that_is_not_plain_is_hex_and_the_plain_ones_beside_it_stay_as_they_are() -> None:
    plain = event("urn:a", "plain")._replace(payload=b'{"a":1}')
    for odd in (b'{"a":"\\u00e9"}', b'{"a":1}\n', b"\t{}", b"{}\r", b"\x00", "é".encode(), b"\xff"):
        rows = raw_events_copy([plain, event("urn:a", "odd")._replace(payload=odd)]).split(b"\n")
        assert rows[0].endswith(b'\t{"a":1}'), odd
        assert rows[1].endswith(b"\t\\\\x" + odd.hex().encode()), odd


def test_an_escaped_row_keeps_its_plain_payload_as_it_is() -> None:
    row = raw_events_copy([event("urn:a", "tab\there")._replace(payload=b"{}")])
    assert row == (
        b"urn:a\ttab\\there\t2026-03-14T10:22:31.482Z\tt.v1\tacme\ts1\tstandard\t2026-03\t1E+3\t{}\n"
    )
