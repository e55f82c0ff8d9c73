"""What is stored about visitors, and where: nothing for a question; a rating (with its
question, answer, reason and comment) only in the configured feedback database, for
VISIO_FEEDBACK_RETENTION_DAYS at most, which `visio feedback delete` removes whole."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from gradio_client import Client
from ui_server import press, running_app

from assistant.assistant import Assistant
from assistant.feedback import FeedbackStore
from visio.cli import main as visio

SECRET = "Mitt personnummer är 010101-123X, vad säger visionen för små kommuner?"


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_asking_stores_nothing(indexed_settings, embedder, tmp_path):
    data = tmp_path / "var"
    data.mkdir()
    settings = indexed_settings.replace(data_dir=data, model_dir=indexed_settings.model_dir)
    assert settings.feedback_db == data / "feedback.sqlite3"
    assistant = Assistant(settings, embedder)
    for question in (SECRET, "Mikä on Agenda 2030?", ""):
        assistant.ask(question, [{"role": "user", "content": SECRET}], "sv")
    assert _files(data) == []


@pytest.mark.slow
def test_the_app_stores_a_rating_only_in_the_configured_database(indexed_settings, embedder,
                                                                 tmp_path):
    data = tmp_path / "var"
    data.mkdir()
    chosen = tmp_path / "elsewhere" / "ratings.sqlite3"
    settings = indexed_settings.replace(data_dir=data, model_dir=indexed_settings.model_dir,
                                        feedback_db=chosen)
    with running_app(Assistant(settings, embedder), settings) as url:
        client = Client(url, verbose=False)
        client.predict(SECRET, [], "sv", api_name="/ask")
        client.predict(SECRET, "sv", api_name="/chat")
        assert _files(tmp_path) == []  # questions alone leave nothing
        press(url, client.session_hash, "visio-thumb-up", [None, "sv"])
        press(url, client.session_hash, "visio-feedback-send",
              ["not_answered", "min kommentar", None, "sv"])
    assert _files(tmp_path) == [chosen]
    [row] = FeedbackStore(chosen).rows()
    assert row["question"] == SECRET and row["rating"] == 1
    assert row["reason"] == "not_answered" and row["comment"] == "min kommentar"


def test_feedback_summary_counts_per_reason_and_old_rows_are_purged(tmp_path, monkeypatch):
    import sqlite3

    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    old = store.add("gammal fråga", "svar", "sv", [], -1, reason="incorrect")
    store.add("Mikä on Agenda 2030?", "vastaus", "fi", [], -1, reason="wrong_source")
    store.add("Vad är Agenda 2030?", "svar", "sv", [], 1, reason="correct")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE feedback SET created_at = '2020-01-01T00:00:00+00:00' "
                     "WHERE id = ?", (old,))
    monkeypatch.setenv("VISIO_FEEDBACK_DB", str(path))
    monkeypatch.setenv("VISIO_FEEDBACK_RETENTION_DAYS", "90")
    summary = CliRunner().invoke(visio, ["feedback", "summary"])
    assert summary.exit_code == 0, summary.output
    lines = {line.split()[0]: line.split()[1:] for line in summary.output.splitlines()}
    assert lines["wrong_source"] == ["0", "1", "1"] and lines["correct"] == ["1", "0", "1"]
    assert lines["incorrect"] == ["0", "0", "0"]  # older than 90 days: deleted
    assert lines["all"] == ["1", "1", "2"]
    exported = CliRunner().invoke(visio, ["feedback", "export"])
    assert exported.output.splitlines()[0] == \
        "id,created_at,language,rating,reason,question,answer,comment,citations"
    assert "gammal fråga" not in exported.output


def test_feedback_delete_removes_the_whole_database(tmp_path, monkeypatch):
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    store.add(SECRET, "svar", "sv", [], 1, "min kommentar")
    store.add("Mikä on Agenda 2030?", "vastaus", "fi", [], -1)
    monkeypatch.setenv("VISIO_FEEDBACK_DB", str(path))
    runner = CliRunner()

    kept = runner.invoke(visio, ["feedback", "delete"], input="n\n")
    assert kept.exit_code != 0 and store.count() == 2

    done = runner.invoke(visio, ["feedback", "delete", "--yes"])
    assert done.exit_code == 0, done.output
    assert "2 rows" in done.output
    assert _files(tmp_path) == []
    again = runner.invoke(visio, ["feedback", "delete", "--yes"])
    assert again.exit_code == 0 and "No feedback stored" in again.output
