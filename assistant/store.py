"""Where the Chroma collections live, and which one is being served.

An index is built aside as a new *generation* and only then published, so a
build that fails or is killed half-way never touches the index being served.

- Local (default): ``index/<generation>/`` is one Chroma PersistentClient folder;
  ``index/CURRENT`` names the published generation and is replaced atomically.
- Server (``VISIO_CHROMA_URL``): generations are collections
  ``<collection>--<generation>`` on the Chroma server; a small pointer
  collection ``<collection>--current`` names the published one in its metadata.

A generation is marked as published (a ``PUBLISHED`` file in its folder, or
``PUBLISHED: true`` in its collection's metadata) before the pointer names it,
so pruning can tell a generation that was served, and may still be read, from
what a killed build left behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from assistant.config import Settings

POINTER_FILE = "CURRENT"
PUBLISHED_MARK = "PUBLISHED"  # file in a local generation folder / key in a collection's metadata
GENERATION_PREFIX = "gen-"
KEEP_PREVIOUS = 1  # published generations kept besides the live one, for readers still on them


class IndexUnavailable(RuntimeError):
    """No usable index: missing, damaged or unreachable. The message says what to do."""


@dataclass(frozen=True)
class Generation:
    """One built (or being built) copy of the index."""

    name: str
    collection: Collection
    client: ClientAPI


def _chroma_settings() -> chromadb.config.Settings:
    return chromadb.config.Settings(anonymized_telemetry=False, allow_reset=False)


def _new_generation_name() -> str:
    return f"{GENERATION_PREFIX}{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"


def _create_collection(client: ClientAPI, name: str, metadata: dict[str, Any]) -> Collection:
    # embedding_function=None: Chroma's default function (which downloads a model)
    # must never run; we always pass our own embeddings.
    return client.create_collection(
        name=name,
        metadata=metadata,
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )


class IndexStore:
    """Common interface of the local and the server store."""

    description: str

    def live(self) -> Generation:
        """The published generation; raises IndexUnavailable when there is none usable."""
        raise NotImplementedError

    def live_name(self) -> str | None:
        raise NotImplementedError

    def begin(self, metadata: dict[str, Any]) -> Generation:
        """A new, empty generation to fill (not yet served)."""
        raise NotImplementedError

    def publish(self, generation: Generation) -> None:
        raise NotImplementedError

    def discard(self, generation: Generation) -> None:
        raise NotImplementedError

    def generations(self) -> list[str]:
        """Every generation there is, published or not, oldest first."""
        raise NotImplementedError

    def was_published(self, name: str) -> bool:
        raise NotImplementedError

    def delete(self, name: str) -> None:
        raise NotImplementedError

    def prune(self) -> None:
        """Delete what killed builds left and old generations.

        Keeps the live generation and the KEEP_PREVIOUS newest published ones
        before it (a reader that loaded one just before a swap may still use it).
        Only called while holding the build lock.
        """
        live = self.live_name()
        names = self.generations()
        previous = [g for g in names if live is not None and g < live and self.was_published(g)]
        keep = set(previous[-KEEP_PREVIOUS:]) | {live}
        for name in names:
            if name not in keep:
                self.delete(name)

    def clear(self) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        yield


class LocalStore(IndexStore):
    """Generations as folders under ``index_dir``; the pointer is a file."""

    # One client per folder per process: Chroma keeps one system per path anyway.
    _clients: ClassVar[dict[Path, ClientAPI]] = {}
    _clients_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: Settings) -> None:
        self.root = Path(settings.index_dir)
        self.collection_name = settings.collection
        self.description = str(self.root)

    # -- pointer ---------------------------------------------------------------
    def live_name(self) -> str | None:
        try:
            name = (self.root / POINTER_FILE).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexUnavailable(
                f"The index pointer {self.root / POINTER_FILE} cannot be read ({exc}). "
                "Run `visio index build` to rebuild the index."
            ) from exc
        return name or None

    def _client(self, folder: Path) -> ClientAPI:
        with self._clients_lock:
            client = self._clients.get(folder)
            if client is None:
                try:
                    client = chromadb.PersistentClient(path=str(folder),
                                                       settings=_chroma_settings())
                except Exception:
                    _drop_failed_system(folder)
                    raise
                self._clients[folder] = client
            return client

    def _forget(self, folder: Path) -> None:
        with self._clients_lock:
            client = self._clients.pop(folder, None)
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def _forget_deleted(self) -> None:
        """Close clients of generations that another process (a build) has pruned: their
        open files would keep the deleted index's disk space and memory until exit."""
        with self._clients_lock:
            gone = [f for f in self._clients if f.parent == self.root and not f.exists()]
        for folder in gone:
            self._forget(folder)

    def live(self) -> Generation:
        self._forget_deleted()
        name = self.live_name()
        if name is None:
            raise IndexUnavailable(
                f"There is no index in {self.root} yet. Run `visio index build` to build it."
            )
        folder = self.root / name
        if not (folder / "chroma.sqlite3").is_file():
            raise IndexUnavailable(
                f"The index generation {name} named by {self.root / POINTER_FILE} is missing. "
                "Run `visio index build` to rebuild the index."
            )
        try:
            client = self._client(folder)
            collection = client.get_collection(self.collection_name, embedding_function=None)
            collection.count()
        except Exception as exc:  # chromadb raises many types for a damaged folder
            self._forget(folder)
            raise IndexUnavailable(
                f"The index in {folder} is damaged or unreadable ({type(exc).__name__}: {exc}). "
                "Run `visio index build` to rebuild it."
            ) from exc
        return Generation(name, collection, client)

    def begin(self, metadata: dict[str, Any]) -> Generation:
        self.root.mkdir(parents=True, exist_ok=True)
        name = _new_generation_name()
        folder = self.root / name
        client = self._client(folder)
        return Generation(name, _create_collection(client, self.collection_name, metadata), client)

    def publish(self, generation: Generation) -> None:
        folder = self.root / generation.name
        self._forget(folder)  # closing the builder's client flushes what Chroma buffers
        with open(folder / PUBLISHED_MARK, "w", encoding="utf-8") as handle:
            handle.write(time.strftime("%Y-%m-%dT%H:%M:%S%z") + "\n")
        _fsync_tree(folder)
        tmp = self.root / f".{POINTER_FILE}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(generation.name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.root / POINTER_FILE)
        _fsync_dir(self.root)

    def discard(self, generation: Generation) -> None:
        folder = self.root / generation.name
        self._forget(folder)
        shutil.rmtree(folder, ignore_errors=True)

    def generations(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if p.is_dir() and p.name.startswith(GENERATION_PREFIX))

    def was_published(self, name: str) -> bool:
        return (self.root / name / PUBLISHED_MARK).is_file()

    def delete(self, name: str) -> None:
        self._forget(self.root / name)
        shutil.rmtree(self.root / name, ignore_errors=True)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / POINTER_FILE).unlink()
        for name in self.generations():
            self.delete(name)

    @contextlib.contextmanager
    def build_lock(self) -> Iterator[None]:
        """One build at a time per index folder (another process gets a clear error)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".build.lock", "w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise IndexUnavailable(
                    f"Another build of {self.root} is running; try again when it has finished."
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class ServerStore(IndexStore):
    """Generations as collections on a Chroma server; the pointer is a collection."""

    def __init__(self, settings: Settings) -> None:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise IndexUnavailable(
                f"VISIO_CHROMA_URL={settings.chroma_url!r} is not an http(s) URL like "
                "http://127.0.0.1:8000"
            )
        self.url = settings.chroma_url
        self.prefix = f"{settings.collection}--"
        self.pointer_name = f"{settings.collection}--current"
        self.description = settings.chroma_url
        try:
            self.client = chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=_chroma_settings(),
            )
            self.client.heartbeat()
        except Exception as exc:
            raise IndexUnavailable(
                f"The Chroma server at {self.url} cannot be reached ({exc}). "
                "Start it, or unset VISIO_CHROMA_URL to use the local index."
            ) from exc

    def _pointer(self) -> Collection:
        return self.client.get_or_create_collection(
            self.pointer_name, metadata={"generation": ""}, embedding_function=None
        )

    def live_name(self) -> str | None:
        try:
            return str((self._pointer().metadata or {}).get("generation") or "") or None
        except Exception as exc:
            raise IndexUnavailable(f"The Chroma server at {self.url} failed: {exc}") from exc

    def live(self) -> Generation:
        name = self.live_name()
        if name is None:
            raise IndexUnavailable(
                f"There is no index on {self.url} yet. Run `visio index build` to build it."
            )
        try:
            collection = self.client.get_collection(self.prefix + name, embedding_function=None)
        except Exception as exc:
            raise IndexUnavailable(
                f"The index generation {name} on {self.url} is missing ({exc}). "
                "Run `visio index build` to rebuild it."
            ) from exc
        return Generation(name, collection, self.client)

    def begin(self, metadata: dict[str, Any]) -> Generation:
        name = _new_generation_name()
        return Generation(name, _create_collection(self.client, self.prefix + name, metadata),
                          self.client)

    def publish(self, generation: Generation) -> None:
        metadata = dict(generation.collection.metadata or {})
        generation.collection.modify(metadata={**metadata, PUBLISHED_MARK: True})
        self._pointer().modify(metadata={"generation": generation.name})

    def discard(self, generation: Generation) -> None:
        with contextlib.suppress(Exception):
            self.client.delete_collection(self.prefix + generation.name)

    def generations(self) -> list[str]:
        names = [c.name if hasattr(c, "name") else str(c) for c in self.client.list_collections()]
        return sorted(n[len(self.prefix):] for n in names
                      if n.startswith(self.prefix + GENERATION_PREFIX))

    def was_published(self, name: str) -> bool:
        try:
            collection = self.client.get_collection(self.prefix + name, embedding_function=None)
        except Exception:
            return False
        return bool((collection.metadata or {}).get(PUBLISHED_MARK))

    def delete(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.client.delete_collection(self.prefix + name)

    def clear(self) -> None:
        for name in self.generations():
            self.delete(name)
        with contextlib.suppress(Exception):
            self.client.delete_collection(self.pointer_name)


def open_store(settings: Settings) -> IndexStore:
    """The store the settings point at: a Chroma server if VISIO_CHROMA_URL is set."""
    return ServerStore(settings) if settings.chroma_url else LocalStore(settings)


def _drop_failed_system(folder: Path) -> None:
    """Forget the half-started Chroma system of a folder that failed to open.

    chromadb 1.5 caches a folder's system before starting it and keeps it when the
    start fails (e.g. a damaged chroma.sqlite3), so the next open in this process
    fails with "'RustBindingsAPI' object has no attribute 'bindings'" instead of the
    real reason, and a repaired folder could never be opened again.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    with contextlib.suppress(Exception):  # private to chromadb: best effort
        SharedSystemClient._identifier_to_system.pop(str(folder), None)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(folder: Path) -> None:
    """Flush a finished generation to disk before the pointer names it."""
    for path in folder.rglob("*"):
        if path.is_file():
            with contextlib.suppress(OSError):
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
    _fsync_dir(folder)
