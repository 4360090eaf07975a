from __future__ import annotations

from pathlib import Path

import pytest

from ingest.classification import ClassificationConfigError, build_classifier, load_classifier
from ingest.rejections import InvalidEvent, Reason


def test_rules_file_in_yaml_keeps_values_as_text(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - type: [a.v1, b.v1]\n"
        "    data: {tier: 1.10}\n"
        "    category: premium\n"
        "  - type: a.v1\n"
        "    category_field: kind\n"
    )
    classifier = load_classifier(path)
    assert classifier.category("a.v1", {"tier": "1.10"}) == "premium"
    assert classifier.category("b.v1", {"tier": "1.1", "category": "standard"}) == "standard"
    assert classifier.category("a.v1", {"kind": "review"}) == "review"
    with pytest.raises(InvalidEvent) as caught:
        classifier.category("a.v1", {"kind": ""})
    assert caught.value.reason == Reason.UNCLASSIFIED


def test_rules_file_in_json(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rules": [{"data": {"weight": 2.50}, "category": "heavy"}]}')
    assert load_classifier(path).category("x", {"weight": "2.50"}) == "heavy"


def test_no_file_means_data_category() -> None:
    classifier = load_classifier(None)
    assert classifier.category("x", {"category": "standard"}) == "standard"
    with pytest.raises(InvalidEvent):
        classifier.category("x", {})


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ([1], "top level"),
        ({"rules": [{"category": "a", "category_field": "b"}]}, "rules[0]"),
        ({"rules": [{"type": "", "category": "a"}]}, "rules[0].type"),
        ({"rules": [{"category": "a", "colour": "red"}]}, "rules[0]"),
        ({"rules": "x"}, "rules must be a list"),
        ({"rule": []}, "unknown keys"),
    ],
)
def test_bad_rule_files_name_the_place(document: object, where: str) -> None:
    with pytest.raises(ClassificationConfigError) as caught:
        build_classifier(document, "rules.yaml")
    assert "rules.yaml" in str(caught.value)
    assert where in str(caught.value)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules: [unclosed")
    with pytest.raises(ClassificationConfigError, match=r"rules\.yaml"):
        load_classifier(path)
    with pytest.raises(ClassificationConfigError, match=r"missing\.yaml"):
        load_classifier(tmp_path / "missing.yaml")
