"""The history's structural diff: keyed lists, explicit nulls, plain lists."""

from __future__ import annotations

from rating.document_diff import diff_documents


def _changes(before, after):
    return [change.to_data() for change in diff_documents(before, after)]


def test_sites_and_versions_are_matched_by_their_keys_not_positions():
    before = {"sites": [{"id": "a", "pricing": [{"effective_from": "2026-01-01", "rates": {"x": "1"}}]}]}
    after = {
        "sites": [
            {"id": "b", "pricing": []},
            {
                "id": "a",
                "pricing": [
                    {"effective_from": "2026-01-01", "rates": {"x": "1"}},
                    {"effective_from": "2026-02-01", "rates": {"x": "2"}},
                ],
            },
        ]
    }
    assert _changes(before, after) == [
        {
            "path": "sites[a].pricing[2026-02-01]",
            "change": "added",
            "after": {"effective_from": "2026-02-01", "rates": {"x": "2"}},
        },
        {"path": "sites[b]", "change": "added", "after": {"id": "b", "pricing": []}},
    ]


def test_an_explicit_null_differs_from_an_absent_field():
    assert _changes({"annual_cap": "10"}, {"annual_cap": None}) == [
        {"path": "annual_cap", "change": "changed", "before": "10", "after": None}
    ]
    assert _changes({}, {"annual_cap": None}) == [{"path": "annual_cap", "change": "added", "after": None}]
    assert _changes({"annual_cap": None}, {}) == [{"path": "annual_cap", "change": "removed", "before": None}]


def test_plain_lists_change_as_a_whole_and_equal_documents_have_no_changes():
    assert _changes({"disabled": ["review"]}, {"disabled": ["review", "storage"]}) == [
        {"path": "disabled", "change": "changed", "before": ["review"], "after": ["review", "storage"]}
    ]
    document = {"sites": [{"id": "a", "pricing": [{"effective_from": "2026-01-01"}]}]}
    assert _changes(document, document) == []
