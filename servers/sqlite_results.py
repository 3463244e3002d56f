"""Query results as JSON for the model, capped in rows and in bytes, fetched one row at a time.

Rows are fetched only while they fit: a query whose rows are huge stops at the first row that
would cross the byte budget instead of pulling every row into memory first. Blobs longer than a
few bytes are described (``<blob of N bytes>``), never dumped.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

__all__ = ["MAX_RESULT_BYTES", "rows_as_json"]

MAX_RESULT_BYTES = 256 * 1024
_MAX_BLOB_SHOWN = 64
_OVERHEAD = 200  # the keys, counts and note around the rows


def rows_as_json(cursor: sqlite3.Cursor, *, max_rows: int, max_bytes: int = MAX_RESULT_BYTES) -> str:
    """``{"columns", "rows", "row_count"}`` plus ``truncated`` and a ``note`` when a cap was hit."""
    columns = [column[0] for column in cursor.description or ()]
    rows: list[list[Any]] = []
    used = _OVERHEAD + _size(columns)
    note = None
    for row in cursor:
        if len(rows) == max_rows:
            note = (
                f"only the first {max_rows} rows are shown; "
                "add WHERE, LIMIT/OFFSET or aggregate to see the rest"
            )
            break
        shown = [_json_value(value) for value in row]
        size = _row_size(shown, max_bytes - used)
        if size is None:
            note = (
                f"the result was cut after {len(rows)} rows to stay under {max_bytes:,} bytes; "
                "select fewer or shorter columns (substr(), length()) or add LIMIT/OFFSET"
            )
            break
        used += size
        rows.append(shown)
    result: dict[str, Any] = {"columns": columns, "rows": rows, "row_count": len(rows)}
    if note is not None:
        result["truncated"] = True
        result["note"] = note
    return json.dumps(result, ensure_ascii=False)


def _row_size(values: list[Any], budget: int) -> int | None:
    """Bytes the row adds to the JSON, or None as soon as it is clear it exceeds ``budget``."""
    total = 2  # brackets
    for value in values:
        total += _size(value) + 2  # comma and space
        if total > budget:
            return None
    return total


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode())


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        if len(value) <= _MAX_BLOB_SHOWN:
            return f"X'{value.hex().upper()}'"
        return f"<blob of {len(value)} bytes>"
    return value
