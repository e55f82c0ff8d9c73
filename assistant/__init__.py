"""Visionsassistenten / Visioavustaja: grounded answers from a document collection.

The public API::

    from assistant import Assistant, Answer, Citation, Settings

    assistant = Assistant(Settings.from_env())
    answer = assistant.ask("Vad säger planen för parker?")
    print(answer.answer, [c.title for c in answer.citations])

``Assistant`` is imported on first use: importing the package stays light
(configuration, the data types) until an assistant is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.types import Answer, Citation

if TYPE_CHECKING:
    from assistant.assistant import Assistant

__version__ = "0.2.0"
__all__ = ["Answer", "Assistant", "Citation", "Settings"]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from assistant.assistant import Assistant

        return Assistant
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
