"""Read rating/interaction files (CSV, TSV, MovieLens `::`) into numpy arrays.

Rows are ``user, item, value[, timestamp]`` in that order, as public rating
datasets ship them: MovieLens-100k ``u.data`` (tab, no header), MovieLens-1M
``ratings.dat`` (``::``, no header), MovieLens ``ratings.csv`` (comma, header
``userId,movieId,rating,timestamp``). The delimiter is sniffed from the first
lines (``::``, then tab, then comma, else runs of whitespace). The first row is
a header when its value column is not a number. Timestamps are Unix seconds or
ISO 8601 date-times (a naive one is taken as UTC); a missing one is NaN.

Bad rows do not stop the read: they are returned as ``(line, reason)`` with the
file's 1-based line number, and left out of the arrays.
"""

import csv
import datetime
import math
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import numpy as np
import scipy.sparse as sp

DELIMITERS: dict[str, str | None] = {
    "tab": "\t",
    "comma": ",",
    "colons": "::",
    "whitespace": None,
}
_SNIFF_LINES = 50
# A file whose id fields hold quotes needs the csv module; others split faster.
_QUOTE = '"'


class InteractionFileError(Exception):
    """The file cannot be read at all (missing, not text, no usable rows)."""


@dataclass
class InteractionFile:
    """Parallel arrays, one entry per good row, plus what was wrong with the rest."""

    users: np.ndarray  # str
    items: np.ndarray  # str
    values: np.ndarray  # float32
    timestamps: np.ndarray  # float64 Unix seconds, NaN when the row has none
    lines: np.ndarray  # int64, 1-based line of each row in the file
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    delimiter: str = "tab"
    header: bool = False

    def __len__(self) -> int:
        return len(self.users)


def interaction_file_sniff(*, lines: list[str]) -> str:
    """Name of the delimiter (a key of DELIMITERS) the sample lines agree on."""
    sample = [line for line in lines[:_SNIFF_LINES] if line.strip()]
    if not sample:
        return "tab"
    for name in ("colons", "tab", "comma"):
        if all(DELIMITERS[name] in line for line in sample):  # type: ignore[operator]
            return name
    return "whitespace"


def _split_rows(
    lines: list[str], delimiter: str
) -> tuple[list[list[str]], np.ndarray, list[tuple[int, str]]]:
    """Fields and 1-based line number of every non-blank line, and unreadable lines.

    Quoted fields are read one line at a time: an interaction row never spans
    lines, so a quote left open (a file cut short, a stray quote) spoils only
    its own line instead of swallowing the rest of the file.
    """
    separator = DELIMITERS[delimiter]
    if separator in (",", "\t") and any(_QUOTE in line for line in lines):
        rows, numbers, unreadable = [], [], []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                fields = next(csv.reader([line], delimiter=separator, strict=True))
            except csv.Error as exc:
                unreadable.append((number, f"unreadable quoting: {exc}"))
                continue
            rows.append(fields)
            numbers.append(number)
        return rows, np.array(numbers, dtype=np.int64), unreadable
    if separator is None:
        rows = [line.split() for line in lines]
    else:
        rows = [line.split(separator) for line in lines]
    numbers = np.arange(1, len(rows) + 1, dtype=np.int64)
    # Blank lines are rare: find them among the short rows only.
    blank = [
        index
        for index in (i for i, fields in enumerate(rows) if len(fields) < 3)
        if not "".join(rows[index]).strip()
    ]
    if blank:
        dropped = set(blank)
        rows = [fields for i, fields in enumerate(rows) if i not in dropped]
        numbers = np.delete(numbers, blank)
    return rows, numbers, []


def _split_columns(lines: list[str], delimiter: str) -> list[list[str]] | None:
    """Columns of a file whose every line has the same 3 or 4 fields, else None.

    Splitting the whole text once in C is several times faster than a split
    per line; anything irregular (quotes, blank lines, ragged rows, whitespace
    delimiters) takes the general per-row path instead.
    """
    separator = DELIMITERS[delimiter]
    if separator is None or not lines:
        return None
    width = lines[0].count(separator) + 1
    if width not in (3, 4):
        return None
    joined = "\n".join(lines)
    if _QUOTE in joined or joined.count(separator) != (width - 1) * len(lines):
        return None
    tokens = joined.replace(separator, "\n").split("\n")
    columns = [tokens[position::width] for position in range(width)]
    # Equal totals can hide one short and one long line: check every line.
    if len(tokens) != width * len(lines) or any(
        count != width - 1 for count in map(str.count, lines, repeat(separator))
    ):
        return None
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _timestamp(text: str) -> float:
    """Unix seconds from a number or an ISO 8601 date-time (naive = UTC)."""
    text = text.strip()
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _numbers_or_none(texts: list[str]) -> np.ndarray | None:
    """All texts as float64 in one pass, or None if any is not a number."""
    try:
        return np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:
        return None


def _columns(
    lines: list[str], delimiter: str
) -> tuple[list[list[str]], np.ndarray, bool, list[tuple[int, str]]]:
    """Four text columns (timestamps "" when absent), line numbers, header, bad rows."""
    columns = _split_columns(lines, delimiter)
    if columns is not None:
        numbers = np.arange(1, len(lines) + 1, dtype=np.int64)
        header = not _is_number(columns[2][0])
        if header:
            columns, numbers = [column[1:] for column in columns], numbers[1:]
        if len(columns) == 3:
            columns.append([""] * len(numbers))
        return columns, numbers, header, []

    rows, numbers, bad_rows = _split_rows(lines, delimiter)
    header = bool(rows) and len(rows[0]) >= 3 and not _is_number(rows[0][2])
    if header:
        rows, numbers = rows[1:], numbers[1:]
    wrong_width = [i for i, fields in enumerate(rows) if not 3 <= len(fields) <= 4]
    if wrong_width:
        bad_rows.extend(
            (int(numbers[i]), f"expected 3 or 4 fields, got {len(rows[i])}")
            for i in wrong_width
        )
        dropped = set(wrong_width)
        rows = [fields for i, fields in enumerate(rows) if i not in dropped]
        numbers = np.delete(numbers, wrong_width)
    columns = [[fields[position] for fields in rows] for position in range(3)]
    columns.append([fields[3] if len(fields) == 4 else "" for fields in rows])
    return columns, numbers, header, bad_rows


def interaction_file_parse(
    *, text: str, delimiter: str | None = None
) -> InteractionFile:
    """Parse the text of an interaction file (see the module docstring)."""
    lines = text.splitlines()
    delimiter = delimiter or interaction_file_sniff(lines=lines)
    if delimiter not in DELIMITERS:
        raise InteractionFileError(f"unknown delimiter {delimiter!r}")
    (users, items, value_texts, stamp_texts), numbers, header, bad_rows = _columns(
        lines, delimiter
    )
    if " " in text or (delimiter != "tab" and "\t" in text):
        users = [user.strip() for user in users]
        items = [item.strip() for item in items]

    values = _numbers_or_none(value_texts)
    if values is None:  # the slow path only runs when some value is broken
        values = np.array(
            [float(v) if _is_number(v) else np.nan for v in value_texts],
            dtype=np.float64,
        )
    stamps = _numbers_or_none(stamp_texts) if all(stamp_texts) else None
    if stamps is None:
        stamps = np.full(len(stamp_texts), np.nan)
        for index, stamp in enumerate(stamp_texts):
            try:
                stamps[index] = _timestamp(stamp)
            except ValueError:
                stamps[index] = np.inf  # marks the row bad below

    ok = np.isfinite(values) & ~np.isinf(stamps)
    if not ok.all() or not all(users) or not all(items):
        for index in range(len(users)):
            reason = None
            if not users[index]:
                reason = "empty user id"
            elif not items[index]:
                reason = "empty item id"
            elif not np.isfinite(values[index]):
                text_value = value_texts[index].strip()[:40]
                reason = f"value {text_value!r} is not a finite number"
            elif np.isinf(stamps[index]):
                reason = (
                    f"timestamp {stamp_texts[index].strip()[:40]!r} is neither Unix "
                    "seconds nor an ISO 8601 date-time"
                )
            if reason is not None:
                ok[index] = False
                bad_rows.append((int(numbers[index]), reason))
    bad_rows.sort()

    keep = np.flatnonzero(ok)
    with np.errstate(over="ignore"):  # past float32: inf, refused by the importer
        kept_values = values[keep].astype(np.float32)
    return InteractionFile(
        users=np.array(users, dtype=np.str_)[keep],
        items=np.array(items, dtype=np.str_)[keep],
        values=kept_values,
        timestamps=stamps[keep],
        lines=numbers[keep],
        bad_rows=bad_rows,
        delimiter=delimiter,
        header=header,
    )


def interaction_file_read(
    *, path: Path, delimiter: str | None = None
) -> InteractionFile:
    """Read and parse a file (UTF-8, a byte-order mark is fine)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InteractionFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise InteractionFileError(
            f"{path}: not UTF-8 text (byte {exc.start})"
        ) from None
    except OSError as exc:
        raise InteractionFileError(f"{path}: {exc.strerror or exc}") from None
    return interaction_file_parse(text=text, delimiter=delimiter)


@dataclass
class FileMatrix:
    """A users x items matrix built straight from a file, and its labels."""

    matrix: sp.csr_matrix  # float32
    timestamps: sp.csr_matrix | None  # latest time per pair, None if any missing
    users: np.ndarray  # row -> user id (str)
    items: np.ndarray  # column -> item id (str)


def interaction_file_matrix(
    *,
    data: InteractionFile,
    min_rating: float | None = None,
    weighting: str = "binary",
) -> FileMatrix:
    """Users x items matrix of the file's rows, for offline evaluation.

    Rows with ``value < min_rating`` are dropped first (they are neither
    positives nor negatives). ``binary``: every remaining (user, item) pair
    weighs 1; ``value``: a pair weighs its largest value (ratings repeat rarely,
    and summing repeats would favour re-rated items). Users and items are the
    ones left after the filter.
    """
    if weighting not in ("binary", "value"):
        raise ValueError(f"unknown weighting {weighting!r}; expected binary or value")
    keep = np.ones(len(data), dtype=bool)
    if min_rating is not None:
        keep &= data.values >= min_rating
    users, rows = np.unique(data.users[keep], return_inverse=True)
    items, columns = np.unique(data.items[keep], return_inverse=True)
    shape = (len(users), len(items))
    values = data.values[keep].astype(np.float64)
    if weighting == "value" and (values <= 0).any():
        raise ValueError("value weighting needs positive values; use --min-rating")

    # One sort groups each (user, item) pair's rows into a run; reduceat then
    # takes the run's largest value and latest time.
    n_columns = max(len(items), 1)
    keys = rows.astype(np.int64) * n_columns + columns
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    run_starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    pair_rows, pair_columns = np.divmod(sorted_keys[run_starts], n_columns)
    if weighting == "value" and len(keys):
        weights = np.maximum.reduceat(values[order], run_starts)
    else:
        weights = np.ones(len(run_starts))
    matrix = sp.csr_matrix(
        (weights.astype(np.float32), (pair_rows, pair_columns)), shape=shape
    )
    matrix.sort_indices()

    stamps = data.timestamps[keep]
    timestamps = None
    if len(stamps) and not np.isnan(stamps).any():
        timestamps = sp.csr_matrix(
            (
                np.maximum.reduceat(stamps[order], run_starts),
                (pair_rows, pair_columns),
            ),
            shape=shape,
        )
        timestamps.sort_indices()
    return FileMatrix(matrix=matrix, timestamps=timestamps, users=users, items=items)
