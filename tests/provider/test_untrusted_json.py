"""provider/untrusted_json.py: depth and size are bounded before the recursive parser runs."""

import pytest

from provider import untrusted_json


@pytest.mark.parametrize(
    "text,depth",
    [
        ("1", 0),
        ("{}", 1),
        ('{"a": [1, {"b": 2}]}', 3),
        ('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[["}', 1),  # brackets inside a string do not count
        ('{"a": "\\"[[[[[[[[[[[[[[[[[[[[[[["}', 1),  # nor after an escaped quote
        ('["\\\\", [[]]]', 3),  # an escaped backslash ends before the closing quote
    ],
)
def test_nesting_depth(text, depth):
    assert untrusted_json.nesting_depth(text) == depth


def test_deep_json_is_refused_before_parsing():
    deep = "[" * 100_000 + "]" * 100_000  # would raise RecursionError in json.loads
    with pytest.raises(ValueError, match="nested deeper"):
        untrusted_json.loads(deep, max_length=len(deep))


def test_the_limits_are_inclusive_and_the_value_is_parsed():
    at_limit = "[" * untrusted_json.MAX_DEPTH + "]" * untrusted_json.MAX_DEPTH
    assert untrusted_json.loads(at_limit) is not None
    with pytest.raises(ValueError, match="nested deeper"):
        untrusted_json.loads("[" + at_limit + "]")
    assert untrusted_json.loads('{"sub": "x"}') == {"sub": "x"}


@pytest.mark.parametrize("value", ["x" * (untrusted_json.MAX_LENGTH + 1), b"\xff", 42, "not json"])
def test_too_long_not_utf8_not_text_or_not_json_is_a_value_error(value):
    with pytest.raises(ValueError):
        untrusted_json.loads(value)
