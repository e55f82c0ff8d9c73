"""FeedbackStore: ratings with their question, answer and citations, in SQLite and as CSV."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import threading

import pytest

from assistant.feedback import MAX_COMMENT_CHARS, FeedbackError, FeedbackStore
from assistant.types import Citation

CITATION = Citation(n=1, doc_id="vision-small", lang="fi", title="Pienet kunnat",
                    section="Visio", text="Pieni kunta on elinvoimainen.", char_start=10,
                    char_end=39, score=0.91, source_url="https://example.org/fi",
                    translation=True, highlights=((10, 39),))


def test_file_is_created_on_first_write(tmp_path):
    path = tmp_path / "nested" / "feedback.sqlite3"
    store = FeedbackStore(path)
    assert store.count() == 0 and not path.exists()  # reading does not create it
    first = store.add("Vad är en liten kommun?", "Så här står det …", "sv", [CITATION], 1, "bra")
    second = store.add("Mikä on pieni kunta?", "Lähteessä …", "fi", [], -1)
    assert path.exists() and second > first > 0
    assert store.count() == 2


def test_rows_keep_question_answer_language_rating_comment_and_citations(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.add("Fråga?", "Svar [1]", "sv", [CITATION, CITATION.to_dict()], -1, "  fel källa ")
    (row,) = store.rows()
    assert (row["question"], row["answer"], row["language"], row["rating"], row["comment"]) == \
        ("Fråga?", "Svar [1]", "sv", -1, "fel källa")
    assert row["citations"][0] == CITATION.to_dict() | {"highlights": [[10, 39]]}
    assert row["citations"][1]["doc_id"] == "vision-small"
    assert row["created_at"].endswith("+00:00")


def test_rating_must_be_plus_or_minus_one(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    for bad in (0, 2, "1"):
        with pytest.raises(ValueError):
            store.add("q", "a", "sv", [], bad)  # type: ignore[arg-type]
    assert store.count() == 0


def test_comment_can_be_added_later_and_is_capped(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    feedback_id = store.add("q", "a", "fi", [], 1)
    assert store.set_comment(feedback_id, "x" * (MAX_COMMENT_CHARS + 50))
    assert store.rows()[0]["comment"] == "x" * MAX_COMMENT_CHARS
    assert not store.set_comment(feedback_id + 100, "nobody")


def test_export_csv_round_trips_unicode_commas_quotes_and_newlines(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.add('Vad säger "visionen", egentligen?', "Rad ett\nrad två; ”citat”", "sv",
              [CITATION], 1, "åäö, ok")
    store.add("Entä etätyö?", "Lähteessä …", "fi", [], -1)
    out = io.StringIO()
    assert store.export_csv(out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["language"] for r in rows] == ["sv", "fi"]
    assert rows[0]["question"] == 'Vad säger "visionen", egentligen?'
    assert rows[0]["answer"] == "Rad ett\nrad två; ”citat”"
    assert rows[0]["comment"] == "åäö, ok" and rows[0]["rating"] == "1"
    assert '"doc_id": "vision-small"' in rows[0]["citations"]
    assert rows[1]["rating"] == "-1" and rows[1]["citations"] == "[]"


def test_export_of_absent_store_is_just_the_header(tmp_path):
    out = io.StringIO()
    assert FeedbackStore(tmp_path / "none.sqlite3").export_csv(out) == 0
    assert out.getvalue().strip() == \
        "id,created_at,language,rating,reason,question,answer,comment,citations"
    assert not (tmp_path / "none.sqlite3").exists()


def test_a_rating_can_be_withdrawn(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    assert not store.remove(1)
    keep, withdraw = store.add("q1", "a", "sv", [], 1), store.add("q2", "a", "sv", [], -1)
    assert store.remove(withdraw) and not store.remove(withdraw)
    assert [row["id"] for row in store.rows()] == [keep]


def test_delete_all(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    assert store.delete_all() == 0
    for rating in (1, -1, 1):
        store.add("q", "a", "sv", [], rating)
    assert store.delete_all() == 3
    assert store.count() == 0 and store.rows() == []


def test_unusable_location_raises_feedback_error(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    store = FeedbackStore(blocker / "feedback.sqlite3")
    with pytest.raises(FeedbackError, match="not usable"):
        store.add("q", "a", "sv", [], 1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_folder_raises_feedback_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(FeedbackError):
            FeedbackStore(folder / "feedback.sqlite3").add("q", "a", "sv", [], 1)
    finally:
        folder.chmod(0o755)


def test_corrupt_file_raises_feedback_error_not_sqlite_error(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(b"\x00garbage, not a database" * 100)
    store = FeedbackStore(path)
    with pytest.raises(FeedbackError):
        store.add("q", "a", "sv", [], 1)
    with pytest.raises(FeedbackError):
        store.export_csv(io.StringIO())


def test_concurrent_writers_lose_nothing(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(20):
                store.add(f"q{worker}-{i}", "a", "sv", [], 1 if i % 2 else -1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 80
    with sqlite3.connect(tmp_path / "f.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(DISTINCT question) FROM feedback").fetchone()[0] == 80


# --- reasons, counts, retention --------------------------------------------------------

def test_reason_and_comment_are_stored_and_exported(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    first = store.add("Fråga?", "Svar.", "sv", [], -1)
    store.set_details(first, reason="wrong_source", comment="  Fel dokument  ")
    store.add("Kysymys?", "Vastaus.", "fi", [], 1, reason="correct")
    rows = store.rows()
    assert [(r["rating"], r["reason"], r["comment"]) for r in rows] == [
        (-1, "wrong_source", "Fel dokument"), (1, "correct", "")]
    out = io.StringIO()
    store.export_csv(out)
    header, *lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert "reason" in header
    assert [line[header.index("reason")] for line in lines] == ["wrong_source", "correct"]


def test_unknown_reason_is_refused(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    with pytest.raises(ValueError, match="reason"):
        store.add("q", "a", "sv", [], 1, reason="'; DROP TABLE feedback; --")
    row = store.add("q", "a", "sv", [], 1)
    with pytest.raises(ValueError, match="reason"):
        store.set_details(row, reason="nonsense")
    assert store.rows()[0]["reason"] == ""


def test_counts_per_reason_and_rating(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    for rating, reason in ((1, "correct"), (1, "correct"), (-1, "incorrect"), (-1, ""),
                           (-1, "not_answered")):
        store.add("q", "a", "sv", [], rating, reason=reason)
    assert store.counts() == {("correct", 1): 2, ("incorrect", -1): 1, ("", -1): 1,
                              ("not_answered", -1): 1}
    assert [r["reason"] for r in store.latest(2)] == ["not_answered", ""]


def test_a_file_from_before_reasons_gets_the_column(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                     "created_at TEXT NOT NULL, language TEXT NOT NULL, rating INTEGER NOT "
                     "NULL, question TEXT NOT NULL, answer TEXT NOT NULL, comment TEXT NOT "
                     "NULL DEFAULT '', citations TEXT NOT NULL DEFAULT '[]')")
        conn.execute("INSERT INTO feedback (created_at, language, rating, question, answer) "
                     "VALUES ('2026-01-01T00:00:00+00:00', 'sv', 1, 'q', 'a')")
    store = FeedbackStore(path)
    assert store.rows()[0]["reason"] == ""
    store.set_details(1, reason="other")
    assert store.counts() == {("other", 1): 1}


def test_rows_past_the_retention_period_are_purged(tmp_path):
    from datetime import UTC, datetime, timedelta

    store = FeedbackStore(tmp_path / "f.sqlite3")
    old, new = store.add("gammal", "a", "sv", [], 1), store.add("ny", "a", "sv", [], 1)
    later = datetime.now(UTC) + timedelta(days=30)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE feedback SET created_at = ? WHERE id = ?",
                     ((datetime.now(UTC) - timedelta(days=100)).isoformat(timespec="seconds"),
                      old))
    assert store.purge(0) == 0  # 0 keeps everything
    assert store.purge(90) == 1
    assert [r["id"] for r in store.rows()] == [new]
    assert store.purge(10, now=later) == 1 and store.rows() == []
