"""Residents' thumbs up/down on answers, kept in a local SQLite file.

Each row keeps the question, the answer text, its language and its citations
(as JSON), so a rating can be judged later without re-running the assistant,
with the visitor's reason (one of :data:`REASONS`) and optional comment. Rows
older than the retention period are deleted (:meth:`FeedbackStore.purge`).
The file is created on first write; reading an absent file is simply empty.
Every sqlite or file-system problem becomes a :class:`FeedbackError` with a
sentence an administrator can act on, so the chat can report it and go on.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

#: Stored text is cut at these lengths: feedback is for judging answers, not an archive
#: for whatever a visitor pastes into the comment box.
MAX_QUESTION_CHARS = 20_000
MAX_ANSWER_CHARS = 50_000
MAX_COMMENT_CHARS = 2_000

#: Why a visitor rated an answer as they did (the interface names them in each language).
REASONS = ("correct", "incorrect", "wrong_source", "not_answered", "other")

CSV_COLUMNS = ("id", "created_at", "language", "rating", "reason", "question", "answer",
               "comment", "citations")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT    NOT NULL,
    language   TEXT    NOT NULL,
    rating     INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    question   TEXT    NOT NULL,
    answer     TEXT    NOT NULL,
    comment    TEXT    NOT NULL DEFAULT '',
    citations  TEXT    NOT NULL DEFAULT '[]',
    reason     TEXT    NOT NULL DEFAULT ''
)
"""


class FeedbackError(RuntimeError):
    """Feedback could not be read or stored (the message says where and why)."""


class FeedbackStore:
    """One SQLite file; a connection per call, so it can be shared between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    # -- writing ------------------------------------------------------------------------
    def add(self, question: str, answer: str, language: str,
            citations: Sequence[Any], rating: int, comment: str = "",
            reason: str = "") -> int:
        """Store one rating (+1 or -1) and return its id."""
        if rating not in (1, -1):
            raise ValueError(f"rating must be +1 or -1, not {rating!r}")
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            str(language or ""),
            rating,
            str(question or "")[:MAX_QUESTION_CHARS],
            str(answer or "")[:MAX_ANSWER_CHARS],
            str(comment or "").strip()[:MAX_COMMENT_CHARS],
            json.dumps([_plain(c) for c in citations], ensure_ascii=False),
            _reason(reason),
        )
        with self._connection(create=True) as conn:
            cursor = conn.execute(
                "INSERT INTO feedback (created_at, language, rating, question, answer, "
                "comment, citations, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
            return int(cursor.lastrowid or 0)

    def set_details(self, feedback_id: int, reason: str | None = None,
                    comment: str | None = None, rating: int | None = None) -> bool:
        """Change the reason, the comment or the rating of a stored row (None = unchanged);
        False when the id is unknown (e.g. deleted by the retention period meanwhile)."""
        changes: dict[str, Any] = {}
        if reason is not None:
            changes["reason"] = _reason(reason)
        if comment is not None:
            changes["comment"] = str(comment or "").strip()[:MAX_COMMENT_CHARS]
        if rating is not None:
            if rating not in (1, -1):
                raise ValueError(f"rating must be +1 or -1, not {rating!r}")
            changes["rating"] = rating
        if not changes:
            return self.exists(feedback_id)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._connection(create=True) as conn:
            cursor = conn.execute(f"UPDATE feedback SET {assignments} WHERE id = ?",
                                  (*changes.values(), int(feedback_id)))
            return cursor.rowcount > 0

    def exists(self, feedback_id: int) -> bool:
        if not self.path.exists():
            return False
        with self._connection() as conn:
            return conn.execute("SELECT 1 FROM feedback WHERE id = ?",
                                (int(feedback_id),)).fetchone() is not None

    def purge(self, older_than_days: int, now: datetime | None = None) -> int:
        """Delete rows older than ``older_than_days`` (0 keeps everything); returns how many."""
        if older_than_days <= 0 or not self.path.exists():
            return 0
        cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
        with self._connection() as conn:
            return conn.execute("DELETE FROM feedback WHERE created_at < ?",
                                (cutoff.isoformat(timespec="seconds"),)).rowcount

    def set_comment(self, feedback_id: int, comment: str) -> bool:
        """Attach a comment to a rating given earlier; False when the id is unknown."""
        with self._connection(create=True) as conn:
            cursor = conn.execute("UPDATE feedback SET comment = ? WHERE id = ?",
                                  (str(comment or "").strip()[:MAX_COMMENT_CHARS],
                                   int(feedback_id)))
            return cursor.rowcount > 0

    def remove(self, feedback_id: int) -> bool:
        """Withdraw one rating (the visitor clicked the same thumb again)."""
        if not self.path.exists():
            return False
        with self._connection() as conn:
            return conn.execute("DELETE FROM feedback WHERE id = ?",
                                (int(feedback_id),)).rowcount > 0

    def delete_all(self) -> int:
        """Remove every row; returns how many there were."""
        if not self.path.exists():
            return 0
        with self._connection() as conn:
            return conn.execute("DELETE FROM feedback").rowcount

    # -- reading ------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """All rows, oldest first, with citations decoded."""
        if not self.path.exists():
            return []
        with self._connection() as conn:
            cursor = conn.execute(f"SELECT {', '.join(CSV_COLUMNS)} FROM feedback ORDER BY id")
            rows = [dict(zip(CSV_COLUMNS, values, strict=True)) for values in cursor]
        for row in rows:
            row["citations"] = json.loads(row["citations"] or "[]")
        return rows

    def counts(self) -> dict[tuple[str, int], int]:
        """How many ratings there are per (reason, rating); "" is "no reason given"."""
        if not self.path.exists():
            return {}
        with self._connection() as conn:
            cursor = conn.execute("SELECT reason, rating, COUNT(*) FROM feedback "
                                  "GROUP BY reason, rating")
            return {(str(reason), int(rating)): int(n) for reason, rating, n in cursor}

    def latest(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest rows first (for staff), citations decoded."""
        if not self.path.exists():
            return []
        with self._connection() as conn:
            cursor = conn.execute(f"SELECT {', '.join(CSV_COLUMNS)} FROM feedback "
                                  "ORDER BY id DESC LIMIT ?", (max(0, int(limit)),))
            rows = [dict(zip(CSV_COLUMNS, values, strict=True)) for values in cursor]
        for row in rows:
            row["citations"] = json.loads(row["citations"] or "[]")
        return rows

    def count(self) -> int:
        if not self.path.exists():
            return 0
        with self._connection() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])

    def export_csv(self, handle: TextIO) -> int:
        """Write a header and every row as CSV; returns the number of rows.

        Citations are one JSON array per row (lossless, and spreadsheet tools show it as
        text). An absent file exports just the header.
        """
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        rows = self.rows()
        for row in rows:
            writer.writerow([json.dumps(row[c], ensure_ascii=False) if c == "citations"
                             else row[c] for c in CSV_COLUMNS])
        return len(rows)

    # -- plumbing -----------------------------------------------------------------------
    @contextmanager
    def _connection(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection inside a transaction; every failure becomes a FeedbackError."""
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
                conn.execute(_SCHEMA)
                _migrate(conn)
                yield conn
        except (sqlite3.Error, OSError) as exc:
            raise FeedbackError(f"feedback store {self.path} is not usable: {exc}") from exc


def _migrate(conn: sqlite3.Connection) -> None:
    """Files written before reasons existed get the column (empty: no reason given)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(feedback)")}
    if "reason" not in columns:
        conn.execute("ALTER TABLE feedback ADD COLUMN reason TEXT NOT NULL DEFAULT ''")


def _reason(reason: object) -> str:
    """One of REASONS, or "" (none given); anything else is refused, not stored."""
    value = str(reason or "")
    if value and value not in REASONS:
        raise ValueError(f"reason must be one of {', '.join(REASONS)}, not {value!r}")
    return value


def _plain(citation: Any) -> Any:
    """A Citation (or any dataclass / mapping) as JSON-ready data."""
    if is_dataclass(citation) and not isinstance(citation, type):
        return asdict(citation)
    if isinstance(citation, Mapping):
        return dict(citation)
    return citation
