"""Start the real Gradio app on a free loopback port, for the API and browser tests.

The app is built exactly as ``visio serve`` builds it (``build_app`` + ``launch_app``:
same queue, login, theme and CSS); only the port is free-picked and the thread is
not blocked, so the test drives it and closes it afterwards.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.assistant import Assistant
from assistant.config import Settings
from ui.app import build_app, launch_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "ui"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(assistant: Assistant, settings: Settings, **changes: Any) -> Iterator[str]:
    """Serve ``build_app(assistant, settings)`` on 127.0.0.1; yields its URL."""
    settings = settings.replace(host="127.0.0.1", port=free_port(), **changes)
    app = build_app(assistant, settings)
    launch_app(app, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        app.close()
