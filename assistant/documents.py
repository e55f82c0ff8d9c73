"""Load and validate the corpus: the shipped programme texts and users' own files.

Every file under a subfolder of ``corpus/`` becomes one :class:`Document` or one
:class:`Problem` saying, in words a user can act on, why it was skipped; a bad
file never stops the build. The format is documented in ``corpus/README.md``:

* ``.md`` / ``.txt`` — UTF-8 text, optionally opened by YAML front matter
  (``id``, ``lang``, ``title``, ``kind``, ``source_url``, ``translation_of``,
  ``official``, ``aligned``); missing fields get defaults (id from the file name, language
  detected from the text, title from the first heading).
* ``.html`` / ``.htm`` — headings, paragraphs and list items become Markdown-like
  text; scripts, styles and navigation are dropped.
* ``.pdf`` — the text layer, lines joined back into paragraphs.

For one (id, language) an official text wins over a translation; two texts of
equal standing are an error reported for the later file. ``Document.text`` is
kept as in the file (line endings normalised) because chunk spans index into it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString
from pypdf import PdfReader

from assistant import languages
from assistant.config import Settings
from assistant.language import detect_language
from assistant.types import DEFAULT_KIND, KIND_PATTERN, Document

#: File types read, by suffix (lower case).
SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text",
            ".html": "html", ".htm": "html", ".pdf": "pdf"}
#: The drop folder for users' files (git-ignored); read after all other folders.
ADDED_DIR = "added"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
MAX_TITLE_CHARS = 200
MAX_FRONT_MATTER_CHARS = 16_000
DEFAULT_MAX_BYTES: int = Settings.model_fields["max_document_bytes"].default

_STRING_FIELDS = ("id", "lang", "title", "kind", "source_url", "translation_of")
_FRONT_MATTER_OPEN = re.compile(r"\A---[ \t]*\n")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$\n?", re.MULTILINE)
_MARKDOWN_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_URL = re.compile(r"^https?://[^\s]+$")


class DocumentError(ValueError):
    """A file that cannot be used as a document; ``reason`` says why in plain words."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class Problem:
    """A skipped file and the reason, as shown by `visio index build`."""

    path: str
    reason: str


@dataclass(frozen=True)
class CorpusLoad:
    """The usable documents, sorted by (id, lang), and the files that were skipped."""

    documents: tuple[Document, ...]
    problems: tuple[Problem, ...]


# --- the corpus ----------------------------------------------------------------------------

def load_corpus(corpus_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CorpusLoad:
    """Every document under the subfolders of ``corpus_dir``; bad files become Problems.

    Files directly in ``corpus_dir`` (its README) are documentation, not documents.
    Hidden files and folders are ignored; symbolic links are not followed.
    """
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        return CorpusLoad((), (Problem(str(corpus_dir), "the corpus folder does not exist"),))
    chosen: dict[tuple[str, str], Document] = {}
    problems: list[Problem] = []
    for path in corpus_files(corpus_dir):
        rel = path.relative_to(corpus_dir).as_posix()
        if path.is_symlink():
            problems.append(Problem(rel, "symbolic link (not followed); copy the file instead"))
            continue
        try:
            doc = load_file(path, corpus_dir, max_bytes=max_bytes)
        except DocumentError as exc:
            problems.append(Problem(exc.path, exc.reason))
            continue
        except Exception as exc:  # a reader's bug must not stop the build; it is reported
            problems.append(Problem(rel, f"cannot be read ({type(exc).__name__}: {exc})"))
            continue
        key = (doc.id, doc.lang)
        earlier = chosen.get(key)
        if earlier is None or (doc.official and not earlier.official):
            chosen[key] = doc
        elif earlier.official and not doc.official:
            continue  # a translation yields to the official text
        else:
            problems.append(Problem(doc.path, _duplicate_reason(doc, earlier)))
    documents = tuple(sorted(chosen.values(), key=lambda d: (d.id, d.lang)))
    return CorpusLoad(documents, tuple(problems))


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Candidate files in reading order: sorted by path, the drop folder last."""
    found: list[Path] = []
    for root, dirs, files in os.walk(corpus_dir, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if Path(root) == corpus_dir:
            continue
        found.extend(Path(root) / name for name in files if not name.startswith("."))
    def order(path: Path) -> tuple[bool, str]:
        rel = path.relative_to(corpus_dir)
        return rel.parts[0] == ADDED_DIR, rel.as_posix()
    return sorted(found, key=order)


def _duplicate_reason(doc: Document, earlier: Document) -> str:
    standing = "official text" if doc.official else "translation"
    return (f"id '{doc.id}' in language '{doc.lang}' is already used by {earlier.path} "
            f"(both are a {standing}); give this file another id")


# --- one file ------------------------------------------------------------------------------

def load_file(path: Path, corpus_dir: Path | None = None, *,
              max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read and validate one file; raises :class:`DocumentError` with the reason."""
    path = Path(path)
    shown = _shown_path(path, corpus_dir)
    if path.suffix.lower() not in SUFFIXES:
        raise DocumentError(shown, f"unsupported file type '{path.suffix or '(none)'}' "
                                   f"(supported: {', '.join(sorted(SUFFIXES))})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(shown, f"file is {size / 1e6:.1f} MB, over the limit of "
                                       f"{max_bytes / 1e6:.1f} MB (VISIO_MAX_DOCUMENT_BYTES)")
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(shown, f"cannot be read ({exc.strerror or exc})") from exc
    return parse_document(raw, path.name, shown=shown, max_bytes=max_bytes)


def parse_document(raw: bytes, name: str, *, shown: str = "",
                   max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """A Document from a file's bytes; ``name`` (file name) decides type and default id."""
    shown = shown or name
    suffix = Path(name).suffix.lower()
    kind_of_file = SUFFIXES.get(suffix)
    if kind_of_file is None:
        raise DocumentError(shown, f"unsupported file type '{suffix or '(none)'}'")
    if not raw:
        raise DocumentError(shown, "empty file")
    if len(raw) > max_bytes:
        raise DocumentError(shown, f"file is over the limit of {max_bytes / 1e6:.1f} MB")
    meta: dict[str, Any] = {}
    hint = None
    heading_title = ""
    if kind_of_file == "pdf":
        body, heading_title = _pdf_text(raw, shown)
    else:
        text = _decode(raw, shown)
        if kind_of_file == "html":
            try:
                body, heading_title, hint = _html_text(text)
            except RecursionError as exc:
                raise DocumentError(shown, "HTML nested too deeply to read") from exc
        else:
            meta, body = _split_front_matter(text, shown)
            match = _MARKDOWN_HEADING.search(body)
            heading_title = match.group(1) if match else ""
    body = _trim_body(body)
    if not body:
        what = "after the front matter" if meta else "in the file"
        if kind_of_file == "pdf":
            raise DocumentError(shown, "the PDF has no extractable text (scanned images only?)")
        raise DocumentError(shown, f"no text {what} (empty or whitespace only)")
    return _document(meta, body, stem=Path(name).stem, heading_title=heading_title,
                     hint=hint, shown=shown)


def _shown_path(path: Path, corpus_dir: Path | None) -> str:
    if corpus_dir is not None:
        try:
            return path.relative_to(corpus_dir).as_posix()
        except ValueError:
            pass
    return str(path)


def _decode(raw: bytes, shown: str) -> str:
    """UTF-8 (a BOM is allowed), nothing else: guessing an encoding corrupts quotes."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(shown, "UTF-16 text; save the file as UTF-8")
    if b"\x00" in raw:
        raise DocumentError(shown, "binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(shown, f"not UTF-8 text (byte 0x{raw[exc.start]:02X} at offset "
                                   f"{exc.start}); save the file as UTF-8") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_front_matter(text: str, shown: str) -> tuple[dict[str, Any], str]:
    """(metadata, body); a file without front matter has empty metadata."""
    opening = _FRONT_MATTER_OPEN.match(text)
    if not opening:
        return {}, text
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end())
    if closing is None:
        raise DocumentError(shown, "front matter opened with '---' is never closed "
                                   "(add a line '---' after it)")
    block = text[opening.end():closing.start()]
    if len(block) > MAX_FRONT_MATTER_CHARS:
        raise DocumentError(shown, "front matter is too long")
    try:
        meta = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise DocumentError(shown, f"front matter is not valid YAML{line}: {problem}") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise DocumentError(shown, "front matter must be 'key: value' lines, "
                                   f"not a {type(meta).__name__}")
    return meta, text[closing.end():]


def _trim_body(body: str) -> str:
    """Drop blank lines before and whitespace after the text; nothing inside changes."""
    return re.sub(r"\A(?:[ \t]*\n)+", "", body).rstrip()


# --- metadata ------------------------------------------------------------------------------

def _document(meta: dict[str, Any], body: str, *, stem: str, heading_title: str,
              hint: str | None, shown: str) -> Document:
    fields = {name: _string_field(meta, name, shown) for name in _STRING_FIELDS}
    doc_id = fields["id"] or slugify(stem)
    if not doc_id:
        raise DocumentError(shown, "no id can be made from the file name; set 'id:' "
                                   "in front matter")
    if not ID_PATTERN.match(doc_id):
        raise DocumentError(shown, f"id {doc_id!r} is not valid: use 1-64 characters a-z, "
                                   "0-9 and '-', starting with a letter or digit")
    enabled = languages.codes()
    lang = fields["lang"].lower() or _detected_language(body, hint, shown)
    if lang not in enabled:
        raise DocumentError(shown, f"language {lang!r} is not supported ({', '.join(enabled)})")
    kind = fields["kind"].lower() or DEFAULT_KIND
    if not KIND_PATTERN.match(kind):
        raise DocumentError(shown, f"kind {kind!r} is not valid: use one lower-case word "
                                   "(letters, digits, '-' or '_'), e.g. 'report' or 'chapter'")
    source_url = fields["source_url"]
    if source_url and not _URL.match(source_url):
        raise DocumentError(shown, "source_url must be an http:// or https:// address")
    translation_of = fields["translation_of"].lower()
    if translation_of and (translation_of not in enabled or translation_of == lang):
        raise DocumentError(shown, f"translation_of must be another language "
                                   f"({' or '.join(c for c in enabled if c != lang)})")
    official = meta.get("official")
    if official is None:
        official = not translation_of
    elif not isinstance(official, bool):
        raise DocumentError(shown, "official must be true or false")
    aligned = meta.get("aligned", False)
    if not isinstance(aligned, bool):
        raise DocumentError(shown, "aligned must be true or false")
    if aligned and not translation_of:
        raise DocumentError(shown, "aligned: true needs translation_of (the language of the "
                                   "text this one translates sentence by sentence)")
    title = fields["title"] or _clip(heading_title.strip()) or stem
    return Document(id=doc_id, lang=lang, title=title, kind=kind, text=body,
                    source_url=source_url, translation_of=translation_of,
                    official=official, path=shown, aligned=aligned)


def _string_field(meta: dict[str, Any], name: str, shown: str) -> str:
    """A front-matter value as one line of text; lists, mappings and yes/no are refused."""
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, bool):
        raise DocumentError(shown, f"{name} must be text, not true/false (put it in quotes)")
    if isinstance(value, dict | list | tuple | set):
        raise DocumentError(shown, f"{name} must be a single text value, "
                                   f"not a {'list' if not isinstance(value, dict) else 'mapping'}")
    text = str(value).strip()
    if "\n" in text or any(unicodedata.category(ch) == "Cc" for ch in text):
        raise DocumentError(shown, f"{name} must be a single line of text")
    if name == "title" and len(text) > MAX_TITLE_CHARS:
        raise DocumentError(shown, f"title is longer than {MAX_TITLE_CHARS} characters")
    return text


def _detected_language(body: str, hint: str | None, shown: str) -> str:
    guess = detect_language(body, hint=hint)
    if guess.lang is None:
        raise DocumentError(shown, "the language of the text cannot be told; declare it "
                                   "(front matter 'lang: sv' or 'lang: fi')")
    return guess.lang


def slugify(stem: str) -> str:
    """File name → id: ASCII lower case, anything else → '-' ("Små båtar" → "sma-batar")."""
    ascii_text = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:64].rstrip("-")


def _clip(title: str) -> str:
    return title if len(title) <= MAX_TITLE_CHARS else title[:MAX_TITLE_CHARS - 1] + "…"


# --- HTML ----------------------------------------------------------------------------------

_DROPPED_TAGS = ("script", "style", "noscript", "template", "nav", "iframe", "svg", "canvas",
                 "form", "button", "select", "head")
_HEADING_TAGS = {f"h{n}": n for n in range(1, 7)}
_LEAF_BLOCKS = ("p", "pre", "dt", "dd", "figcaption", "caption", "address", "summary")


def _html_text(html: str) -> tuple[str, str, str | None]:
    """(Markdown-like text, title, language hint from ``<html lang>``)."""
    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title")
    title = " ".join(title_tag.get_text(" ").split()) if title_tag else ""
    html_tag = soup.find("html")
    lang_attr = html_tag.get("lang") if isinstance(html_tag, Tag) else None
    hint = str(lang_attr).split("-")[0].lower() if lang_attr else None
    for tag in soup.find_all(_DROPPED_TAGS):
        tag.decompose()
    blocks = list(_html_blocks(soup))
    if not title:
        title = next((b.lstrip("#").strip() for b in blocks if b.startswith("#")), "")
    text = "".join(
        ("\n" if _is_item(block) and _is_item(previous) else "\n\n") + block
        for previous, block in itertools.pairwise(["", *blocks]))
    return text.lstrip("\n"), title, hint


def _is_item(block: str) -> bool:
    return bool(re.match(r"(?:- |\d{1,3}\. )", block))


def _html_blocks(node: Tag) -> Iterator[str]:
    """Walk the tree: headings, paragraphs, list items and table rows become blocks."""
    inline: list[str] = []

    def flush() -> Iterator[str]:
        text = " ".join("".join(inline).split())
        inline.clear()
        if text:
            yield text

    for child in node.children:
        if isinstance(child, NavigableString):
            if not isinstance(child, PreformattedString):  # comments, doctype, CDATA
                inline.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _HEADING_TAGS:
            yield from flush()
            text = _inline_text(child)
            if text:
                yield "#" * _HEADING_TAGS[name] + " " + text
        elif name == "li":
            yield from flush()
            nested = child.find_all(["ul", "ol"], recursive=False)
            for sub in nested:
                sub.extract()
            text = _inline_text(child)
            if text:
                yield _list_marker(child) + text
            for sub in nested:
                yield from _html_blocks(sub)
        elif name in _LEAF_BLOCKS:
            yield from flush()
            text = _inline_text(child)
            if text:
                yield text
        elif name == "tr":
            yield from flush()
            cells = [_inline_text(cell) for cell in child.find_all(["td", "th"])]
            if any(cells):
                yield " | ".join(cell for cell in cells if cell)
        elif name == "br":
            inline.append(" ")
        elif _is_inline(child):
            inline.append(_raw_text(child))
        else:  # div, section, ul, table, blockquote…: a container of blocks
            yield from flush()
            yield from _html_blocks(child)
    yield from flush()


def _list_marker(item: Tag) -> str:
    """"1. ", "2. " … in an ordered list (a procedure keeps its steps numbered), "- " else."""
    parent = item.parent
    if isinstance(parent, Tag) and parent.name and parent.name.lower() == "ol":
        siblings = parent.find_all("li", recursive=False)
        position = next((n for n, li in enumerate(siblings, start=1) if li is item), 1)
        return f"{position}. "
    return "- "


_INLINE_TAGS = frozenset((
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
    "del", "ins", "label", "font",
))


def _is_inline(tag: Tag) -> bool:
    return tag.name.lower() in _INLINE_TAGS


def _raw_text(tag: Tag) -> str:
    """The text as a browser runs it together: inline tags join, block tags and <br> space."""
    parts: list[str] = []
    for node in tag.descendants:
        if isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):
                parts.append(str(node))
        elif isinstance(node, Tag) and (node.name == "br" or not _is_inline(node)):
            parts.append(" ")
    return "".join(parts)


def _inline_text(tag: Tag) -> str:
    return " ".join(_raw_text(tag).split())


# --- PDF -----------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(r"^\d{1,4}$")
_BULLET = re.compile(r"^[•▪◦‣●\-–]\s+")
_SUSPENDED_HYPHEN_NEXT = re.compile(r"^(?:och|eller|samt|ja|tai|sekä|and|or)\b")


def _pdf_text(raw: bytes, shown: str) -> tuple[str, str]:
    """(text with paragraphs separated by blank lines, title from the PDF's metadata)."""
    if b"%PDF-" not in raw[:1024]:
        raise DocumentError(shown, "not a PDF file (no %PDF- header)")
    with _quiet_pypdf():
        try:
            reader = PdfReader(io.BytesIO(raw), strict=False)
            if reader.is_encrypted and not _decrypts_without_password(reader):
                raise DocumentError(shown, "the PDF is password-protected")
            pages = [page.extract_text() or "" for page in reader.pages]
            title = ""
            if reader.metadata is not None and reader.metadata.title:
                title = " ".join(str(reader.metadata.title).split())
        except DocumentError:
            raise
        except Exception as exc:  # pypdf raises many kinds of errors on damaged files
            reason = f"damaged PDF ({type(exc).__name__}: {exc})"
            raise DocumentError(shown, reason[:300]) from exc
    if not pages:
        raise DocumentError(shown, "the PDF has no pages")
    return pdf_paragraphs(pages), _clip(title)


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every oddity of a damaged file; we report one reason."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _decrypts_without_password(reader: Any) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # wrong password, or an AES cipher pypdf cannot load
        return False


def pdf_paragraphs(pages: list[str]) -> str:
    """Join a PDF's visual lines back into paragraphs.

    A PDF stores lines, not paragraphs. A line shorter than most lines on its
    page that is followed by a capitalised line (or a bullet) ends a paragraph
    or is a heading; other lines are wrapped text and are joined with a space.
    Words hyphenated at a line end are rejoined, except Swedish/Finnish
    suspended hyphens ("för- och nackdelar"). Bare page numbers are dropped.
    """
    paragraphs: list[str] = []
    for page in pages:
        lines = [" ".join(line.split()) for line in page.splitlines()]
        lines = [line for line in lines if line and not _PAGE_NUMBER.match(line)]
        if not lines:
            continue
        lengths = sorted(len(line) for line in lines)
        short = 0.8 * lengths[len(lengths) // 2]
        current = lines[0]
        for previous, line in itertools.pairwise(lines):
            starts_block = line[:1].isupper() or line[:1].isdigit() or line[:1] in "\"”«"
            if _BULLET.match(line) or (
                    len(previous) < short and starts_block and not previous.endswith((",", ";"))):
                paragraphs.append(current)
                current = line
            elif (previous.endswith("-") and previous[-2:-1].isalpha()
                  and not _SUSPENDED_HYPHEN_NEXT.match(line)):
                current = current[:-1] + line
            else:
                current += " " + line
        paragraphs.append(current)
    return "\n\n".join(paragraphs)


# --- adding a user's file ------------------------------------------------------------------

def add_document(src: Path, corpus_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Path:
    """Validate ``src`` and copy it into ``corpus/added/``; returns the new path.

    The copy gets a safe file name (its slug; the name gives the default id). An
    identical file already there is reused; a different file with the same name
    is never overwritten, the copy takes the next free name instead. A file
    that would clash with, or be hidden by, a document already in the corpus is
    refused with the reason.
    """
    src, corpus_dir = Path(src), Path(corpus_dir)
    if not src.is_file():
        raise DocumentError(src, "not a file")
    load_file(src, max_bytes=max_bytes)  # reject unreadable files before anything else
    raw = src.read_bytes()
    added = corpus_dir / ADDED_DIR
    added.mkdir(parents=True, exist_ok=True)
    for existing in sorted(added.iterdir()):
        if existing.is_file() and not existing.is_symlink() and existing.read_bytes() == raw:
            return existing
    stem = slugify(src.stem) or "document"
    suffix = src.suffix.lower()
    corpus = load_corpus(corpus_dir, max_bytes=max_bytes).documents
    for n in range(1, 1000):
        target = added / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}")
        if target.exists():
            continue
        doc = parse_document(raw, target.name, shown=str(src), max_bytes=max_bytes)
        _check_no_clash(doc, corpus, src)
        if _write_new(target, raw):
            return target
    raise DocumentError(src, f"no free file name left in {added}")


def _check_no_clash(doc: Document, corpus: tuple[Document, ...], src: Path) -> None:
    for other in corpus:
        if (other.id, other.lang) != (doc.id, doc.lang):
            continue
        if other.official and not doc.official:
            raise DocumentError(src, f"the official text {other.path} has the same id "
                                     f"'{doc.id}' and language; this translation would be hidden")
        if other.official == doc.official:
            raise DocumentError(src, f"id '{doc.id}' in language '{doc.lang}' is already used "
                                     f"by {other.path}; set another id in front matter")


def _write_new(target: Path, raw: bytes) -> bool:
    """Write ``target`` only if it does not exist, atomically; False if it appeared meanwhile."""
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    temp.write_bytes(raw)
    try:
        os.link(temp, target)  # fails instead of replacing an existing file
        return True
    except FileExistsError:
        return False
    finally:
        temp.unlink(missing_ok=True)


# --- change detection ----------------------------------------------------------------------

def document_hash(doc: Document) -> str:
    """sha256 over what the index stores of a document (not its path: moving a file
    does not make it new)."""
    content = {
        "format": 1, "id": doc.id, "lang": doc.lang, "title": doc.title, "kind": doc.kind,
        "text": doc.text, "source_url": doc.source_url, "translation_of": doc.translation_of,
        "official": doc.official, "aligned": doc.aligned,
    }
    encoded = json.dumps(content, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()
