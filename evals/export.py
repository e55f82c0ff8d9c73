"""Per-item results as CSV: one row per item, the checks as columns, the set's own keys too.

``items.jsonl`` is the lossless record of a run; the CSV is the same items flattened for a
spreadsheet. Its columns, in order:

- the item: ``id``, ``lang``, ``category``, ``tags``, ``question``, ``history_turns``,
  ``expected_doc_ids``, ``expect_refusal``, ``expect_partial``, ``must_include``,
  ``expected_quote``;
- the verdict: ``outcome`` (``pass`` = fully right, ``fail``, ``error``),
  ``failed_checks`` and one ``check:<name>`` column per check (``true``, ``false``, or
  empty when the check does not apply to the item);
- what was observed: ``answer``, ``refused``, ``refusal_reason``, ``detected_language``,
  ``answer_text_language``, ``missing``, ``cited_doc_ids``, ``retrieved_doc_ids``,
  ``n_citations``, ``n_citations_valid``, ``citation_problems``, ``confidence``,
  ``latency_ms``, ``error``;
- then every own key of the set, in the order they first occur, named after the key
  (``own:<key>`` if that name is already a column above).

Lists of document ids are separated by spaces; other lists (tags, must_include groups,
expected quotes, what is missing, problems) and own keys that are not text are JSON.
The file is UTF-8 with a byte-order mark, so spreadsheet programs read å, ä and ö right
(Python: ``open(path, encoding="utf-8-sig")``). A text cell that a spreadsheet would run
as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets
a leading apostrophe; ``items.jsonl`` has the exact text.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from evals.metrics import ItemRecord, item_checks

#: The per-item checks, in the order of the columns (see evals/README.md for each).
CHECKS = ("hit@1", "hit@3", "hit@5", "language", "refusal", "citations_valid",
          "cites_expected", "must_include", "quote", "partial", "passed", "fully_right")

ITEM_COLUMNS = ("id", "lang", "category", "tags", "question", "history_turns",
                "expected_doc_ids", "expect_refusal", "expect_partial", "must_include",
                "expected_quote")
VERDICT_COLUMNS = ("outcome", "failed_checks", *(f"check:{name}" for name in CHECKS))
OBSERVED_COLUMNS = ("answer", "refused", "refusal_reason", "detected_language",
                    "answer_text_language", "missing", "cited_doc_ids", "retrieved_doc_ids",
                    "n_citations", "n_citations_valid", "citation_problems", "confidence",
                    "latency_ms", "error")
BASE_COLUMNS = (*ITEM_COLUMNS, *VERDICT_COLUMNS, *OBSERVED_COLUMNS)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def own_key_columns(records: Sequence[ItemRecord]) -> dict[str, str]:
    """Own key → its column name, in the order the keys first occur."""
    keys = dict.fromkeys(key for record in records for key in record.extra)
    return {key: f"own:{key}" if key in BASE_COLUMNS else key for key in keys}


def _flag(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _own(value: Any) -> str:
    return value if isinstance(value, str) else _json(value)


def _outcome(record: ItemRecord, checks: dict[str, bool | None]) -> str:
    if record.error:
        return "error"
    return "pass" if checks.get("fully_right") else "fail"


def record_row(record: ItemRecord, own: dict[str, str]) -> dict[str, Any]:
    """One item as a CSV row (column → value), before formula neutralising."""
    checks = record.checks or item_checks(record)
    failed = [name for name in CHECKS if checks.get(name) is False
              and name not in ("passed", "fully_right")]
    if record.error:
        failed.append("error")
    problems = [f"[{c.n}] {problem}" for c in record.citations for problem in c.problems]
    row: dict[str, Any] = {
        "id": record.id, "lang": record.lang, "category": record.category,
        "tags": _json(list(record.tags)) if record.tags else "",
        "question": record.question, "history_turns": len(record.history),
        "expected_doc_ids": " ".join(record.expected_doc_ids),
        "expect_refusal": _flag(record.expect_refusal),
        "expect_partial": _flag(record.expect_partial),
        "must_include": _json(record.must_include) if record.must_include else "",
        "expected_quote": _json(record.expected_quote) if record.expected_quote else "",
        "outcome": _outcome(record, checks), "failed_checks": " ".join(failed),
        **{f"check:{name}": _flag(checks.get(name)) for name in CHECKS},
        "answer": record.answer, "refused": _flag(record.refused),
        "refusal_reason": record.refusal_reason, "detected_language": record.detected_language,
        "answer_text_language": record.answer_text_language or "",
        "missing": _json(record.missing) if record.missing else "",
        "cited_doc_ids": " ".join(record.cited_doc_ids),
        "retrieved_doc_ids": " ".join(record.retrieved_doc_ids),
        "n_citations": sum(1 for c in record.citations if c.doc_id),
        "n_citations_valid": sum(1 for c in record.citations if c.doc_id and c.valid),
        "citation_problems": _json(problems) if problems else "",
        "confidence": "" if record.confidence is None else round(float(record.confidence), 4),
        "latency_ms": round(record.latency * 1000, 1), "error": record.error,
    }
    for key, column in own.items():
        row[column] = _own(record.extra[key]) if key in record.extra else ""
    return row


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def rows(records: Sequence[ItemRecord]) -> tuple[list[str], list[list[Any]]]:
    """The header and one row per record, as written to the file."""
    own = own_key_columns(records)
    header = [*BASE_COLUMNS, *own.values()]
    body = []
    for record in records:
        row = record_row(record, own)
        body.append([_cell(row[column]) for column in header])
    return header, body


def write_csv_to(handle: io.TextIOBase | Any, records: Iterable[ItemRecord]) -> int:
    """Write the header and the rows to an open text handle; returns the number of rows."""
    header, body = rows(list(records))
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(body)
    return len(body)


def write_csv(path: Path, records: Iterable[ItemRecord]) -> Path:
    """``items.csv`` (UTF-8 with a byte-order mark, CRLF line ends as RFC 4180 has them)."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        write_csv_to(handle, records)
    return path


def records_csv(records: Iterable[ItemRecord]) -> str:
    """The CSV as text (without the byte-order mark)."""
    buffer = io.StringIO()
    write_csv_to(buffer, records)
    return buffer.getvalue()
