"""Fixtures shared by the whole test suite."""

from __future__ import annotations

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
