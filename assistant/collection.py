"""What a document collection is called and how it introduces itself, per language.

A corpus folder may hold ``collection.yaml`` (see ``corpus/collection.yaml``):
its name, a one-line description, example questions and where a person answers
(``contact``, ``accessibility_contact``), each per language. The
assistant's own sentences name the collection from it ("… i materialet ”Ekby
stads tjänster”"), so nothing in the code names the shipped programme and a
collection deployed on its own speaks of itself. Without the file, or with a
broken one, the assistant speaks of "the sources".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

log = logging.getLogger(__name__)

MANIFEST = "collection.yaml"
MAX_MANIFEST_BYTES = 64_000


@dataclass(frozen=True)
class CollectionInfo:
    """Per-language texts describing a collection (empty mappings when not declared)."""

    names: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Where a person answers questions about the collection (one line, Markdown links
    # allowed): the web page names it beside the automated-assistant notice and after a
    # refusal. ``accessibility_contacts``: where to report accessibility problems of the
    # service (the statement falls back to ``contacts``).
    contacts: Mapping[str, str] = field(default_factory=dict)
    accessibility_contacts: Mapping[str, str] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        return self.names.get(lang, "")

    def description(self, lang: str) -> str:
        return self.descriptions.get(lang, "") or self.name(lang)

    def contact(self, lang: str) -> str:
        return self.contacts.get(lang, "")

    def accessibility_contact(self, lang: str) -> str:
        return self.accessibility_contacts.get(lang, "") or self.contact(lang)


def load_collection(corpus_dir: Path) -> CollectionInfo:
    """The collection's manifest; a missing or malformed file gives an empty one (logged)."""
    path = Path(corpus_dir) / MANIFEST
    try:
        stat = path.stat()
    except OSError:
        return CollectionInfo()
    return _read(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _read(path: Path, mtime_ns: int, size: int) -> CollectionInfo:
    if size > MAX_MANIFEST_BYTES:
        log.warning("%s is larger than %d bytes; ignored", path, MAX_MANIFEST_BYTES)
        return CollectionInfo()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("%s cannot be read (%s); the assistant speaks of 'the sources'", path, exc)
        return CollectionInfo()
    if not isinstance(data, dict):
        log.warning("%s must be a mapping; ignored", path)
        return CollectionInfo()
    return CollectionInfo(
        names=_per_language(data.get("name")),
        descriptions=_per_language(data.get("description")),
        contacts=_per_language(data.get("contact")),
        accessibility_contacts=_per_language(data.get("accessibility_contact")),
        examples=MappingProxyType({
            lang: tuple(str(q).strip() for q in questions if str(q).strip())
            for lang, questions in (data.get("examples") or {}).items()
            if isinstance(questions, list)} if isinstance(data.get("examples"), dict) else {}),
    )


def _per_language(value: Any) -> Mapping[str, str]:
    """{"sv": "…", "fi": "…"} with one-line strings only."""
    if not isinstance(value, dict):
        return MappingProxyType({})
    return MappingProxyType({str(lang): " ".join(str(text).split())
                             for lang, text in value.items()
                             if isinstance(text, str | int | float) and str(text).strip()})
