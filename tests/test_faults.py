"""Faults a running assistant meets, each made real: damaged index files, an
unreachable or stalled language model, a read-only feedback database.

In every case the user gets a polite answer in their language, the
administrator gets a message naming the remedy, and nothing already stored is
lost. (A build killed half-way is covered by tests/test_indexing.py.)
"""

from __future__ import annotations

import contextlib
import html
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import langchain_openai  # noqa: F401 - imported now, so seconds of import are not timed below
import pytest
from gradio_client import Client
from ui_server import press, running_app

from assistant import languages
from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.feedback import FeedbackError, FeedbackStore
from assistant.indexing import build_index
from assistant.store import POINTER_FILE
from assistant.types import Answer
from ui.labels import label

QUESTIONS = {"sv": "Vad är visionen för små kommuner?", "fi": "Mikä on pienten kuntien visio?"}
REBUILD = "visio index build"


# --- a private copy of the test index, to damage ---------------------------------------------

@pytest.fixture
def index_copy(indexed_settings: Settings, tmp_path: Path) -> Settings:
    """Settings on a copy of the session's index (and their own feedback file)."""
    target = tmp_path / "index"
    shutil.copytree(indexed_settings.index_dir, target,
                    ignore=shutil.ignore_patterns(".build.lock"))
    return indexed_settings.replace(index_dir=target, feedback_db=tmp_path / "feedback.sqlite3")


def _live_folder(settings: Settings) -> Path:
    return settings.index_dir / (settings.index_dir / POINTER_FILE).read_text().strip()


def _overwrite(path: Path, data: bytes) -> None:
    path.write_bytes(data)


DAMAGE: dict[str, Callable[[Settings], None]] = {
    "pointer deleted": lambda s: (s.index_dir / POINTER_FILE).unlink(),
    "pointer not text": lambda s: _overwrite(s.index_dir / POINTER_FILE, b"\xff\xfe\x00\x81"),
    "pointer names a missing generation": lambda s: shutil.rmtree(_live_folder(s)),
    "database emptied": lambda s: _overwrite(_live_folder(s) / "chroma.sqlite3", b""),
    "database overwritten": lambda s: _overwrite(_live_folder(s) / "chroma.sqlite3",
                                                 b"not a database " * 4096),
    "database cut in half": lambda s: _overwrite(
        _live_folder(s) / "chroma.sqlite3",
        (_live_folder(s) / "chroma.sqlite3").read_bytes()[:(
            _live_folder(s) / "chroma.sqlite3").stat().st_size // 2]),
}


def assert_rebuild_notice(answer: Answer, lang: str) -> None:
    """The index notice in the user's language, and a note naming the remedy."""
    assert isinstance(answer, Answer)
    assert answer.refused and not answer.citations
    assert answer.answer == languages.get(lang).text("index_missing")
    assert answer.notes[0] == "index_missing"
    assert any(REBUILD in note for note in answer.notes[1:]), answer.notes


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_index_files_give_the_rebuild_notice(damage, index_copy, embedder):
    DAMAGE[damage](index_copy)
    assistant = Assistant(index_copy, embedder)
    assistant.warm_up()  # the app starts anyway (serve() calls this before serving)
    for lang, question in QUESTIONS.items():
        assert_rebuild_notice(assistant.ask(question, [], lang), lang)


def test_the_notice_follows_the_question_language_not_the_interface(index_copy, embedder):
    DAMAGE["pointer deleted"](index_copy)
    assistant = Assistant(index_copy, embedder)
    assert_rebuild_notice(assistant.ask(QUESTIONS["fi"], [], "sv"), "fi")
    assert_rebuild_notice(assistant.ask(QUESTIONS["sv"], [], "fi"), "sv")
    assert_rebuild_notice(assistant.ask(QUESTIONS["fi"]), "fi")
    assert_rebuild_notice(assistant.ask("Agenda 2030?", [], "fi"), "fi")  # undecided: the UI's


def test_wording_search_on_a_damaged_index_raises_the_rebuild_reason(index_copy, embedder):
    from assistant.store import IndexUnavailable

    DAMAGE["database overwritten"](index_copy)
    with pytest.raises(IndexUnavailable, match=REBUILD):
        Assistant(index_copy, embedder).find_wording("kommun")


def test_damaged_hnsw_files_never_give_a_wrong_answer(index_copy, embedder, assistant):
    """The vector files are rebuilt by Chroma from its database log for an index this
    small; either way the answer is the undamaged one or the rebuild notice."""
    for path in _live_folder(index_copy).rglob("*.bin"):
        path.write_bytes(b"\xff" * 64)
    damaged = Assistant(index_copy, embedder)
    for lang, question in QUESTIONS.items():
        answer = damaged.ask(question, [], lang)
        if answer.notes[:1] == ("index_missing",):
            assert_rebuild_notice(answer, lang)
        else:
            assert answer.answer == assistant.ask(question, [], lang).answer


@pytest.mark.slow
def test_damage_while_serving_goes_unfelt_and_a_rebuild_recovers(index_copy, embedder):
    """Search runs over the index generation held in memory: a database damaged under a
    running app changes no answer; the next build notices the damage and replaces it."""
    served = Assistant(index_copy, embedder)
    before = {lang: served.ask(q, [], lang) for lang, q in QUESTIONS.items()}
    assert all(not a.refused and a.citations for a in before.values())

    DAMAGE["database overwritten"](index_copy)
    for lang, question in QUESTIONS.items():
        assert served.ask(question, [], lang).answer == before[lang].answer

    report = build_index(index_copy, embedder=embedder, progress=False)
    assert report.published and report.full_rebuild_reason  # the damage was noticed
    for lang, question in QUESTIONS.items():  # the same process recovers, same answers
        again = served.ask(question, [], lang)
        assert again.answer == before[lang].answer
        assert again.citations == before[lang].citations


@pytest.mark.slow
def test_app_starts_on_a_damaged_index_and_tells_the_user(index_copy, embedder):
    DAMAGE["database overwritten"](index_copy)
    assistant = Assistant(index_copy, embedder)
    assistant.warm_up()
    with running_app(assistant, index_copy) as url:
        client = Client(url, verbose=False)
        for lang, question in QUESTIONS.items():
            answer = client.predict(question, [], lang, api_name="/ask")
            assert answer["refused"] and \
                answer["answer"] == languages.get(lang).text("index_missing")
            assert any(REBUILD in note for note in answer["notes"])
        _box, conversation, *_rest = client.predict(QUESTIONS["fi"], "fi", api_name="/chat")
        shown = html.unescape(conversation)
        assert languages.get("fi").text("index_missing") in shown
        assert REBUILD in shown and "Traceback" not in shown


# --- the language model: unreachable, silent, dripping ------------------------------------

def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


@contextlib.contextmanager
def _stalling_endpoint(drip: bool) -> Iterator[str]:
    """An 'LLM endpoint' on loopback that accepts requests and never answers them.

    ``drip=False``: reads the request and stays silent. ``drip=True``: answers
    200 with an event stream and sends an SSE keep-alive comment every 0.3 s
    forever, so no single read ever times out.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    held: list[socket.socket] = []

    def handle(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.recv(65536)
            if drip:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
            while not stop.is_set():
                if drip:
                    conn.sendall(b"e\r\n: keep-alive\n\n\r\n")
                stop.wait(0.3)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    finally:
        stop.set()
        server.close()
        for conn in held:
            conn.close()


def _llm_settings(settings: Settings, url: str, timeout: float) -> Settings:
    return settings.replace(answer_mode="llm", llm_base_url=url, llm_model="visio-test",
                            llm_timeout=timeout)


def _ask_within(assistant: Assistant, question: str, lang: str,
                limit: float) -> tuple[Answer, float]:
    """ask() in a thread; fails the test (instead of hanging it) past ``limit`` seconds."""
    result: dict[str, Answer] = {}
    began = time.perf_counter()
    worker = threading.Thread(target=lambda: result.update(answer=assistant.ask(question, [],
                                                                                 lang)),
                              daemon=True)
    worker.start()
    worker.join(limit)
    elapsed = time.perf_counter() - began
    assert "answer" in result, f"no answer after {elapsed:.1f} s (llm_timeout exceeded)"
    return result["answer"], elapsed


def assert_extractive_fallback(answer: Answer, lang: str) -> None:
    assert not answer.refused and answer.mode == "extractive"
    assert answer.answer.startswith(languages.get(lang).text("llm_fallback"))
    assert answer.notes == (languages.get(lang).text("llm_fallback"),)
    assert answer.citations and all(f"[{c.n}]" in answer.answer for c in answer.citations)


#: Retrieval plus composing the quotes, on a busy 2-core machine.
MARGIN_S = 8.0


@pytest.mark.parametrize("lang", ["sv", "fi"])
def test_unreachable_language_model_falls_back_to_quotes(lang, indexed_settings, embedder):
    settings = _llm_settings(indexed_settings, f"http://127.0.0.1:{_closed_port()}/v1", 5.0)
    assistant = Assistant(settings, embedder)
    assistant.warm_up()
    answer, elapsed = _ask_within(assistant, QUESTIONS[lang], lang, 5.0 + MARGIN_S)
    assert_extractive_fallback(answer, lang)
    assert answer.timings["llm"] < 5.0 and elapsed < 5.0 + MARGIN_S


@pytest.mark.parametrize("drip", [False, True], ids=["silent", "keep-alives only"])
def test_stalled_language_model_is_abandoned_at_the_timeout(drip, indexed_settings, embedder):
    timeout = 2.0
    with _stalling_endpoint(drip) as url:
        assistant = Assistant(_llm_settings(indexed_settings, url, timeout), embedder)
        assistant.warm_up()
        answer, elapsed = _ask_within(assistant, QUESTIONS["sv"], "sv", timeout + MARGIN_S)
    assert_extractive_fallback(answer, "sv")
    assert timeout * 0.9 <= answer.timings["llm"] <= timeout + 1.5
    assert elapsed <= timeout + MARGIN_S


# --- the feedback database: read-only ---------------------------------------------------------

@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` truly read-only, also for root (whom chmod does not stop): the
    immutable attribute there, the permission bits otherwise. Skips if neither holds."""
    as_root = os.geteuid() == 0
    if as_root:
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
    else:
        path.chmod(0o444)
        made = True
    try:
        if made:
            try:
                with open(path, "ab"):
                    made = False  # still writable: the test would prove nothing
            except PermissionError:
                pass
        if not made:
            pytest.skip("cannot make a file read-only here (chattr +i unsupported?)")
        yield
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        else:
            path.chmod(0o644)


@pytest.fixture
def read_only_feedback(tmp_path: Path) -> Iterator[tuple[Path, list[dict]]]:
    """A feedback database holding one earlier rating, then made read-only."""
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path)
    store.add("Vad är Agenda 2030?", "Ett tidigare svar. [1]", "sv", [], 1, "bra")
    before = store.rows()
    with read_only(path):
        yield path, before
    assert FeedbackStore(path).rows() == before  # nothing lost, nothing half-written


def test_read_only_feedback_database_is_a_feedback_error(read_only_feedback):
    path, before = read_only_feedback
    store = FeedbackStore(path)
    assert store.rows() == before  # reading still works
    for write in (lambda: store.add("q", "a", "fi", [], -1),
                  lambda: store.set_comment(before[0]["id"], "ny kommentar"),
                  lambda: store.remove(before[0]["id"]),
                  store.delete_all):
        with pytest.raises(FeedbackError, match="not usable"):
            write()


@pytest.mark.slow
def test_read_only_feedback_is_reported_in_the_ui_and_the_chat_goes_on(
        read_only_feedback, assistant, indexed_settings):
    path, _before = read_only_feedback
    with running_app(assistant, indexed_settings, feedback_db=path) as url:
        client = Client(url, verbose=False)
        _box, conversation, *_rest = client.predict(QUESTIONS["fi"], "fi", api_name="/chat")
        assert "visio-sources" in conversation

        _state, status, details = press(url, client.session_hash, "visio-thumb-down",
                                        [None, "fi"])
        assert html.unescape(label("fi", "feedback_failed")) in html.unescape(status)
        assert details.get("visible") is False  # no reason or comment for a lost rating

        _box, conversation, *_rest = client.predict(QUESTIONS["sv"], "fi", api_name="/chat")
        assert conversation.count('class="visio-turn"') == 2
        assert conversation.count('<div class="visio-sources">') == 2
        answer = client.predict(QUESTIONS["sv"], [], "sv", api_name="/ask")
        assert not answer["refused"] and answer["citations"]


def _text(message: dict) -> str:
    content = message["content"]
    return content[0]["text"] if isinstance(content, list) else content

