"""Scale-out: the same index code against a real `chroma run` server (VISIO_CHROMA_URL).

The server is Chroma's own CLI from the virtual environment, on 127.0.0.1 and a
free port, persisting into a temporary folder; it is stopped after the module.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import chromadb
import pytest
from click.testing import CliRunner

from assistant.assistant import Assistant
from assistant.config import Settings
from assistant.indexing import build_index, clear_index, index_status, verify_index
from assistant.store import PUBLISHED_MARK, IndexUnavailable, ServerStore, open_store
from visio.cli import main as cli

PROJECT = Path(__file__).resolve().parent.parent
QUESTIONS = {"sv": ("Vad säger visionen om små kommuner?", "vision-small"),
             "fi": ("Mitä visio sanoo pienistä kunnista?", "vision-small")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chroma_cli() -> str:
    found = Path(sys.executable).parent / "chroma"
    return str(found) if found.is_file() else (shutil.which("chroma") or "chroma")


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server for the module, stopped (and its folder dropped) afterwards."""
    folder = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    server = subprocess.Popen(
        [chroma_cli(), "run", "--path", str(folder / "data"), "--host", "127.0.0.1",
         "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("chroma run did not come up:\n"
                            + (folder / "server.log").read_text(errors="replace")[-2000:])
            time.sleep(0.3)
        assert (folder / "data").is_dir()
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture
def server_settings(tmp_path: Path, settings: Settings, chroma_url: str) -> Settings:
    """Settings on the server with a collection of the test's own; the corpus is a copy
    and the local index folder is private, to see that nothing is written there."""
    shutil.copytree(PROJECT / "corpus", tmp_path / "corpus",
                    ignore=shutil.ignore_patterns("added"))
    return settings.replace(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index",
                            chroma_url=chroma_url, collection=f"t{uuid.uuid4().hex[:12]}")


def server_generations(settings: Settings) -> list[str]:
    """Generation collections on the server, read with a client of our own."""
    client = chromadb.HttpClient(host="127.0.0.1", port=int(settings.chroma_url.rsplit(":", 1)[1]),
                                 settings=chromadb.config.Settings(anonymized_telemetry=False))
    prefix = f"{settings.collection}--gen-"
    return sorted(c.name[len(settings.collection) + 2:] for c in client.list_collections()
                  if c.name.startswith(prefix))


def cites(assistant: Assistant, lang: str) -> set[str]:
    question, _ = QUESTIONS[lang]
    answer = assistant.ask(question)
    assert not answer.refused, answer.answer
    return {c.doc_id for c in answer.citations}


class Interrupted(Exception):
    pass


@pytest.mark.slow
def test_build_query_and_rebuild_through_a_chroma_server(server_settings: Settings,
                                                         embedder) -> None:
    s = server_settings
    assert isinstance(open_store(s), ServerStore)
    status = index_status(s)
    assert status.generation is None and "visio index build" in status.error

    first = build_index(s, embedder=embedder, progress=False)
    assert first.published and first.embedded_records == first.total_records > 0
    assert not s.index_dir.exists()  # nothing local: it all went to the server
    status = index_status(s)
    assert status.location == s.chroma_url and status.generation == first.generation
    assert status.documents["sv"] == status.documents["fi"] >= 11 and status.stale == ()
    assert status.manifest[PUBLISHED_MARK] is True
    assert server_generations(s) == [first.generation]
    assert verify_index(s, embedder) == []

    assistant = Assistant(s, embedder=embedder)
    assert QUESTIONS["sv"][1] in cites(assistant, "sv")
    assert QUESTIONS["fi"][1] in cites(assistant, "fi")

    assert build_index(s, embedder=embedder, progress=False).up_to_date

    with open(s.corpus_dir / "fi" / "vision-small.md", "a", encoding="utf-8") as handle:
        handle.write("\n\nPienet kunnat tekevät yhteistyötä naapuriensa kanssa.\n")
    second = build_index(s, embedder=embedder, progress=False)
    assert second.published and second.changed == ["vision-small:fi"]
    assert 0 < second.embedded_records < second.copied_records
    # The running assistant follows the pointer to the new generation.
    assert QUESTIONS["fi"][1] in cites(assistant, "fi")
    assert assistant.snapshot().generation == second.generation
    assert any("naapuriensa kanssa" in u.text for u in assistant.snapshot().units)
    assert server_generations(s) == [first.generation, second.generation]

    def stop(done: int) -> None:
        if done >= 32:
            raise Interrupted

    with pytest.raises(Interrupted):
        build_index(s, force=True, embedder=embedder, progress=False, on_embedded=stop)
    assert index_status(s).generation == second.generation
    assert server_generations(s) == [first.generation, second.generation]
    assert QUESTIONS["sv"][1] in cites(assistant, "sv")

    with open(s.corpus_dir / "sv" / "vision-small.md", "a", encoding="utf-8") as handle:
        handle.write("\n\nSmå kommuner samarbetar med sina grannar.\n")
    third = build_index(s, embedder=embedder, progress=False)
    assert third.changed == ["vision-small:sv"]
    assert server_generations(s) == [second.generation, third.generation]  # first pruned
    assert verify_index(s, embedder) == []

    clear_index(s)
    assert server_generations(s) == []
    assert "visio index build" in index_status(s).error


@pytest.mark.slow
def test_the_cli_talks_to_the_server_named_by_visio_chroma_url(server_settings: Settings,
                                                               embedder) -> None:
    env = {"VISIO_CORPUS_DIR": str(server_settings.corpus_dir),
           "VISIO_INDEX_DIR": str(server_settings.index_dir),
           "VISIO_MODEL_DIR": str(server_settings.model_dir),
           "VISIO_CHROMA_URL": server_settings.chroma_url,
           "VISIO_COLLECTION": server_settings.collection}
    runner = CliRunner()
    built = runner.invoke(cli, ["index", "build", "--quiet"], env=env)
    assert built.exit_code == 0, built.output
    assert "Published gen-" in built.output
    status = runner.invoke(cli, ["index", "status"], env=env)
    assert status.exit_code == 0 and f"Location:   {server_settings.chroma_url}" in status.output
    assert "Up to date with corpus." in status.output
    verify = runner.invoke(cli, ["index", "verify"], env=env)
    assert verify.exit_code == 0 and "Index is sound." in verify.output
    cleared = runner.invoke(cli, ["index", "clear", "--yes"], env=env)
    assert cleared.exit_code == 0
    assert server_generations(server_settings) == []


def test_an_unreachable_server_is_a_clear_error(settings: Settings, embedder,
                                                tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    s = settings.replace(chroma_url=url, index_dir=tmp_path / "index")
    with pytest.raises(IndexUnavailable, match="cannot be reached") as caught:
        build_index(s, embedder=embedder, progress=False)
    assert url in str(caught.value) and "VISIO_CHROMA_URL" in str(caught.value)
    assert "cannot be reached" in index_status(s).error
    answer = Assistant(s, embedder=embedder).ask(QUESTIONS["sv"][0])
    assert answer.refused and "index_missing" in answer.notes
    result = CliRunner().invoke(cli, ["index", "build"], env={"VISIO_CHROMA_URL": url})
    assert result.exit_code == 1 and "cannot be reached" in result.output
    assert "Traceback" not in result.output

    bad = settings.replace(chroma_url="127.0.0.1:8000")
    with pytest.raises(IndexUnavailable, match="not an http"):
        open_store(bad)


def test_the_private_chromadb_detail_the_store_relies_on_is_still_there() -> None:
    """store._drop_failed_system reaches into chromadb (no public way exists to forget a
    folder's half-started system): this fails when an upgrade removes what it uses."""
    from chromadb.api.shared_system_client import SharedSystemClient

    assert isinstance(SharedSystemClient._identifier_to_system, dict)
