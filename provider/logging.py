"""Log lines as JSON objects on stdout, one per line, each with the current request's id.

Only the message, the exception and the `fields` a caller passes in `extra={"fields": {...}}` are
written; other `extra` attributes (Django attaches the whole request object) are not, since their text
would carry query strings. Known secret shapes are masked as a last line of defence; the first is never
passing them to a logger.
"""

import json
import logging
import re
from datetime import UTC, datetime

from provider import context

_SECRET_NAMES = (
    r"password|passwd|client_secret|secret|refresh_token|access_token|id_token|id_token_hint|"
    r"token|code|code_verifier|csrfmiddlewaretoken"
)
_SECRET_PATTERNS = [
    # Compact JWS/JWE (ID tokens, access tokens, id_token_hint).
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_.-]*"), "[redacted-jwt]"),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        "[redacted-key]",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (
        re.compile(rf"(?i)\b({_SECRET_NAMES})([\"']?\s*[=:]\s*[\"']?)[^&\s\"',}}]+"),
        r"\1\2[redacted]",
    ),
]


# A text any pattern above matches has a match of this too (each alternative is the start of one
# pattern): one search spares the four substitutions on the text that cannot hold a secret, which is
# most of every log line, the request line "POST /token 200" included.
_MAYBE_SECRET = re.compile(rf"eyJ|-----BEGIN|(?i:bearer|basic)\s|(?i:{_SECRET_NAMES})[\"']?\s*[=:]")


def redact(text):
    """`text` with anything shaped like a token, key or credential assignment masked."""
    if not _MAYBE_SECRET.search(text):
        return text
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_values(value):
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_values(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id and the caller's fields."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        request_id = context.request_id.get()
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(_redact_values(fields))
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines for development (LOG_FORMAT=text), masked the same way."""

    def format(self, record):
        request_id = context.request_id.get()
        fields = getattr(record, "fields", None)
        line = f"{record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line += " " + json.dumps(fields, default=str)
        if request_id:
            line += f" [{request_id}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)
