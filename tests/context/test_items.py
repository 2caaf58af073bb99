import pytest

from contextos import ContextItem, InvalidItemError


def test_content_hash_is_stable_and_follows_content():
    a = ContextItem(id="a", source="documents", content="Paris is in France.")
    b = ContextItem(id="b", source="memory", content="Paris is in France.")
    assert a.content_hash == b.content_hash
    changed = a.with_content("Oslo is in Norway.")
    assert changed.content_hash != a.content_hash
    assert changed.id == "a"


def test_payload_is_part_of_the_hash():
    a = ContextItem(id="t", source="tools", content="weather", payload={"function": {"name": "w"}})
    b = ContextItem(id="t", source="tools", content="weather", payload={"function": {"name": "v"}})
    assert a.content_hash != b.content_hash


def test_non_text_content_is_rejected_with_a_hint():
    with pytest.raises(InvalidItemError, match="content must be text"):
        ContextItem.parse({"id": "x", "source": "documents", "content": {"a": 1}})


def test_missing_fields_name_the_place():
    with pytest.raises(InvalidItemError, match=r"items.jsonl:3 .*source"):
        ContextItem.parse({"id": "x", "content": "hi"}, where="items.jsonl:3")


def test_unknown_fields_are_rejected():
    with pytest.raises(InvalidItemError, match="scor"):
        ContextItem.parse({"id": "x", "source": "documents", "content": "hi", "scor": 1})
