"""What one visitor may send: questions per minute, and the size of every input.

A public page is open to scripts as much as to residents. Every question or
wording search is counted per browser session (an API client's session is its
own) and per client address; over either limit the interface answers with a
friendly message in the interface language and the assistant is not asked.
Requests larger than any form could send are refused before Gradio reads them.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

#: A question longer than this is refused before the assistant reads it (the assistant's own
#: token limit, VISIO_MAX_QUESTION_TOKENS, stops far shorter ones with its own message).
MAX_QUESTION_CHARS = 4_000
#: A wording search is a phrase or a few keywords.
MAX_PHRASE_CHARS = 500
#: A comment on an answer (the feedback store keeps this much).
MAX_COMMENT_CHARS = 2_000
#: Messages of a conversation an API client may send as history, and the length of each.
MAX_HISTORY_MESSAGES = 100
MAX_HISTORY_MESSAGE_CHARS = 20_000
#: No form of the app sends more than this in one request.
MAX_REQUEST_BYTES = 1_000_000

#: Clients remembered at most (the least recently seen is forgotten first).
MAX_TRACKED_CLIENTS = 20_000


class RateLimiter:
    """Sliding one-minute windows per session and per address.

    ``check`` counts a request and returns 0 when it may go ahead, or the whole
    seconds until it would be allowed. A refused request is not counted, so a
    visitor who waits gets through. ``clock`` is injectable for tests.
    """

    def __init__(self, per_session: int, per_address: int, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic,
                 max_clients: int = MAX_TRACKED_CLIENTS) -> None:
        self.limits = {"session": per_session, "address": per_address}
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._seen: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return any(limit > 0 for limit in self.limits.values())

    def check(self, session: str | None, address: str | None) -> int:
        """Count one request; 0 = allowed, else seconds to wait (at least 1)."""
        keys = [(kind, key) for kind, key in (("session", session), ("address", address))
                if key and self.limits[kind] > 0]
        if not keys:
            return 0
        now = self.clock()
        with self._lock:
            wait = 0.0
            for key in keys:
                times = self._times(key, now)
                if len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[0] + self.window - now)
            if wait > 0:
                return max(1, math.ceil(wait))
            for key in keys:
                self._times(key, now).append(now)
            return 0

    def _times(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._seen.get(key)
        if times is None:
            times = self._seen[key] = deque()
            while len(self._seen) > self.max_clients:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(key)
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


def client_of(request: Any) -> tuple[str | None, str | None]:
    """(session, address) of a Gradio request; (None, None) outside a request."""
    if request is None:
        return None, None
    session = getattr(request, "session_hash", None)
    client = getattr(request, "client", None)
    address = getattr(client, "host", None) if client is not None else None
    return (str(session) if session else None), (str(address) if address else None)


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413, unread by the app.

    Declared lengths are checked before reading; bodies without one are counted as
    they arrive.
    """

    def __init__(self, app: Any, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await _too_large(send)
                    return
        received = 0

        async def counting_receive() -> dict:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # the app sees the client leave
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, counting_receive, send)


async def _too_large(send: Callable) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": b"Request too large"})
