"""JSON from outside (a claims parameter, a JOSE header, a token's claims), bounded before it is parsed.

Python's parser recurses once per nested array or object: about a thousand levels raise RecursionError,
which no caller expects (a 500 with a long traceback). No JSON Signet accepts nests deeper than a few
levels, so depth and size are checked first, by a scan that does not recurse.
"""

import json

MAX_DEPTH = 16
MAX_LENGTH = 64 * 1024


def loads(text, *, max_depth=MAX_DEPTH, max_length=MAX_LENGTH):
    """json.loads for untrusted input; ValueError when it is too long, too deep or not JSON."""
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError("JSON must be UTF-8") from e
    if not isinstance(text, str):
        raise ValueError("JSON must be text")
    if len(text) > max_length:
        raise ValueError(f"JSON longer than {max_length} characters")
    # Counting brackets runs at C speed and settles the usual case (a header, a claims set) at once.
    if text.count("[") + text.count("{") > max_depth and nesting_depth(text) > max_depth:
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)


def nesting_depth(text):
    """The deepest nesting of arrays and objects in `text`, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest
