"""Fixtures shared by the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Settings from the environment (defaults: the project's corpus, var/ and index/)."""
    return Settings.from_env()


@pytest.fixture(scope="session")
def embedder(settings: Settings):
    """The process-wide embedder, loaded once for the session.

    The default model is materialised into ``settings.model_dir`` (var/models), which
    persists between runs, so only the first run pays the ~10 s build.
    """
    from assistant.embeddings import get_embedder

    return get_embedder(settings)


@pytest.fixture(scope="session")
def indexed_settings(settings: Settings, embedder) -> Settings:
    """Settings whose index holds the shipped corpus.

    The index lives in ``<data_dir>/test-index`` and is brought up to date
    incrementally, so after the first run a session only pays a hash check.
    """
    from assistant.indexing import build_index

    indexed = settings.replace(index_dir=settings.data_dir / "test-index")
    build_index(indexed, embedder=embedder, progress=False)
    return indexed


@pytest.fixture(scope="session")
def assistant(indexed_settings: Settings, embedder):
    """One Assistant on the shipped corpus, shared like the web server shares it."""
    from assistant.assistant import Assistant

    return Assistant(indexed_settings, embedder=embedder)


# --- what the browser tests share (each module gets its own browser and app) ------------


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless (tests/browser_helpers.py)."""
    from browser_helpers import launch_browser

    yield from launch_browser()


@pytest.fixture(scope="module")
def feedback_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"


@pytest.fixture(scope="module")
def app_url(assistant, indexed_settings: Settings, feedback_db: Path) -> Iterator[str]:
    """The public app on a free loopback port, answering with the shared assistant."""
    from ui_server import running_app

    with running_app(assistant, indexed_settings, feedback_db=feedback_db) as url:
        yield url


@pytest.fixture(scope="module")
def shots() -> Path:
    """Where browser tests save their screenshots."""
    from ui_server import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


#: Fixtures that load the real embedding model or build a real index: a test using one
#: (directly or through another fixture) takes seconds, so it is marked slow. What is
#: left for `pytest -m "not slow"` runs on the in-memory corpus and the hashing embedder
#: of tests/fakes.py, in well under a minute.
HEAVY_FIXTURES = frozenset(("embedder", "indexed_settings", "assistant"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker(
                "slow"):
            item.add_marker(pytest.mark.slow)
