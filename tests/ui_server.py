"""Start the real Gradio apps on free loopback ports, for the API and browser tests.

The apps are built exactly as ``visio serve`` builds them (``build_app`` + ``launch_app``,
``build_admin_app`` + ``launch_admin``: same queue, login, theme, CSS and pages); only
the port is free-picked and the thread is not blocked, so the test drives the app and
closes it afterwards. The question limits are off unless a test sets them: most tests
ask more than a resident would in a minute.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assistant.assistant import Assistant
from assistant.config import Settings
from ui.admin import build_admin_app, launch_admin
from ui.app import build_app, launch_app
from ui.limits import RateLimiter

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "ui"
STAFF = ("personal", "hemligt:lösen")  # a password with a colon, as VISIO_ADMIN_AUTH allows


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(assistant: Assistant, settings: Settings, limiter: RateLimiter | None = None,
                **changes: Any) -> Iterator[str]:
    """Serve ``build_app(assistant, settings)`` on 127.0.0.1; yields its URL."""
    changes = {"questions_per_minute": 0, "questions_per_minute_per_address": 0, **changes}
    settings = settings.replace(host="127.0.0.1", port=free_port(), **changes)
    app = build_app(assistant, settings, limiter=limiter)
    launch_app(app, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{settings.port}/"
    finally:
        app.close()


@contextmanager
def running_admin(assistant: Assistant, settings: Settings, **changes: Any) -> Iterator[str]:
    """Serve the staff area, login ``STAFF``, on 127.0.0.1; yields its URL."""
    changes = {"admin_auth": f"{STAFF[0]}:{STAFF[1]}", **changes}
    settings = settings.replace(admin_host="127.0.0.1", admin_port=free_port(), **changes)
    app = build_admin_app(assistant, settings)
    launch_admin(app, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{settings.admin_port}/"
    finally:
        app.close()


def press(url: str, session: str, elem_id: str, data: list[Any],
          event: str = "click") -> list[Any]:
    """Press a page control as the browser does, in a client's session: the control's
    event joins the queue, then its result is read from the session's event stream.
    Returns the event's output values. (For the page's private events, which the
    Gradio client does not call by name.)"""
    import json

    import httpx

    config = httpx.get(f"{url}config", timeout=30).json()
    component = next(c["id"] for c in config["components"]
                     if c.get("props", {}).get("elem_id") == elem_id)
    dependency = next(d for d in config["dependencies"] if [component, event] in d["targets"])
    joined = httpx.post(f"{url}gradio_api/queue/join", timeout=30, json={
        "data": data, "fn_index": dependency["id"], "trigger_id": component,
        "session_hash": session, "event_data": None})
    joined.raise_for_status()
    with httpx.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session},
                      timeout=60) as events:
        for line in events.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "process_completed":
                assert message.get("success", True), message
                return list(message["output"]["data"])
    raise AssertionError(f"the {event} event of #{elem_id} never completed")
