"""Make arbitrary user or file text safe to process.

Questions arrive from a browser, a CLI or a JSON file and may hold lone
surrogates, NUL bytes or other control characters; none of them may crash
the tokenizers, the database or the page that shows them.
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")


def clean_text(text: str) -> str:
    """NFC text without lone surrogates or control characters, spaces collapsed, stripped."""
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates → "?"
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", text)
    return _SPACES.sub(" ", text).strip()
