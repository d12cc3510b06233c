"""Input limits every API shares: id range, text hygiene, JSON depth, body size, paging.

One place decides what the APIs refuse, so that each class of hostile input (an id
beyond 64 bits, a NUL byte, a lone surrogate, JSON nested thousands deep, a body of
many megabytes, an offset past any real page) is a JSON 4xx everywhere instead of a
driver error deep inside one view.
"""

import datetime
import json
import re

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Every id column is a signed 64-bit integer (BigAutoField, PostgreSQL bigint).
MAX_ID = 2**63 - 1
# Deeper than any request body the API documents (events carry a context object).
MAX_JSON_DEPTH = 32
# Listing offsets past this are refused: no front-end pages that far, and each
# step costs the database a scan.
MAX_OFFSET = 10_000
# Text that cannot be stored (NUL in PostgreSQL) or printed (other C0 controls but
# tab, newline and carriage return, DEL, C1 controls).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SEARCH_WORD = re.compile(r"\w+")
MAX_SEARCH_LENGTH = 200
_INTEGER = re.compile(r"[+-]?\d+")
# The earliest moment the recommender accepts: Unix time 0.
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class InputRejected(ValueError):
    """A value outside the limits; `code` names the class of input."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def text_problem(value: str, *, controls: bool = True) -> str | None:
    """Why `value` cannot be stored as text, or None: lone surrogates, NUL, controls."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (not valid Unicode)"
    if "\x00" in value:
        return "contains a NUL character"
    if controls and _CONTROL.search(value):
        return "contains a control character"
    return None


def identifier_problem(value: str) -> str | None:
    """Why `value` cannot be an id (reader, event, item), or None."""
    problem = text_problem(value)
    if problem is None and ("\t" in value or "\n" in value or "\r" in value):
        problem = "contains a tab or line break"
    return problem


def id_problem(text: str) -> str | None:
    """Why a query-string integer is out of the id range, or None."""
    if _INTEGER.fullmatch(text) and abs(int(text)) > MAX_ID:
        return f"is beyond the 64-bit range (at most {MAX_ID})"
    return None


def moment_problem(moment: datetime.datetime) -> str | None:
    """Why an aware date-time is outside the window events may happen in, or None.

    From the Unix epoch to RECOMMEND_EVENTS_MAX_FUTURE_SECONDS past now: earlier
    times are corrupt data (or would overflow on conversion to UTC), later ones a
    client clock or a file far off.
    """
    try:
        utc = moment.astimezone(datetime.UTC)
    except OverflowError:
        return "is outside the representable range"
    if utc < EPOCH:
        return "is before 1970-01-01T00:00:00Z"
    latest = datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(
        seconds=settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS
    )
    if utc > latest:
        return (
            "is in the future (more than "
            f"{settings.RECOMMEND_EVENTS_MAX_FUTURE_SECONDS} s ahead)"
        )
    return None


def json_problem(value: object, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a parsed JSON document is refused (too deep, bad text), or None.

    Iterative, so that a hostile document cannot exhaust the stack here either.
    """
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            problem = text_problem(node, controls=False)
            if problem:
                return f"a string {problem}"
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > max_depth:
            return f"nested deeper than {max_depth} levels"
        if isinstance(node, dict):
            for key, child in node.items():
                problem = text_problem(key, controls=False)
                if problem:
                    return f"a key {problem}"
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in node)
    return None


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser plus the project's depth and text limits (400 on breach)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels."
            ) from None
        problem = json_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}.")
        return data


def json_loads_limited(text: str | bytes) -> object:
    """json.loads with the same limits; raises InputRejected."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise InputRejected("too_deep", "nested too deep") from None
    problem = json_problem(data)
    if problem:
        raise InputRejected("invalid_json", problem)
    return data


class IdField(serializers.IntegerField):
    """A database id: 1 to 2**63-1, so that no driver ever sees a larger number."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


class IdConverter:
    """Path converter `<id:name>`: digits within the 64-bit id range, else a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError("beyond the id range")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def search_query_clean(text: str) -> str:
    """Words of a search query, without the syntax a full-text engine may choke on.

    Unbalanced quotes, brackets and operators (`"`, `(`, `*`, `^`, `:`) reach
    SQLite FTS5 as syntax errors; the index tokenises on punctuation anyway, so
    the words alone find the same pages.
    """
    return " ".join(_SEARCH_WORD.findall(text))[:MAX_SEARCH_LENGTH]


def max_body_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE
