"""Turn the GIMP user manual (Debian's gimp-help-sv / gimp-help-fi) into a test corpus.

The project's own corpus was written by the project, so an evaluation on it says
little about documents nobody here wrote. The GIMP manual is a real, long,
translated publication: about 140 of its 685 pages are really translated into
Swedish and about 180 into Finnish; the rest are English text shipped under the
sv/fi folders. This converter keeps only the really translated pages, turns their
DocBook HTML into the corpus Markdown format (``corpus/README.md``) word for word,
and writes them in one of two layouts:

* ``--layout pages``  — one document per page and language, ``DIR/<lang>/<id>.md``;
* ``--layout manual`` — one long document per language, ``DIR/<lang>/gimp-manual.md``,
  the kept pages in reading order with their headings nested by their place in the
  book (how a 100-page report or manual arrives as a single file).

Both write ``DIR/collection.yaml`` (name and description per language) and print
what was kept and skipped and why. Run as::

    python -m evals.collections.gimp --layout pages --out var/gimp-pages
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import yaml
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

DEFAULT_SOURCE = Path("/usr/share/gimp/2.0/help")
LANGS = ("sv", "fi")
BASE_URL = "https://docs.gimp.org/2.10"
MANUAL_ID = "gimp-manual"
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")

#: A paragraph shorter than this is not used to judge a language: labels such as
#: "Ctrl + N" or "Standard: 1,0" are the same in every language.
PROSE_MIN_CHARS = 40
#: … and its own words, cross-references left out, must have this many letters.
MIN_PROBE_LETTERS = 10
#: A page with less prose than this (a part's title page, a list of shortcuts) is
#: judged on its shorter texts too, those that have at least this many letters …
THIN_PROSE_CHARS = 200
FALLBACK_MIN_LETTERS = MIN_PROBE_LETTERS
#: … and kept only when nearly all of it is in L: a short text is judged less
#: surely, and a half-translated table of shortcuts shows as a mix.
FALLBACK_MIN_SHARE = 0.90
#: A page is kept for language L when at least this share of its prose characters
#: is detected as L. The shares are bimodal: most pages sit near 0 (English) or
#: above 0.9; the partly translated ones in between are mostly English to a reader
#: under 0.7, and only lost a note or an option left in English above it.
PAGE_MIN_SHARE = 0.70
#: Inside a kept page a prose paragraph is dropped as English when the detector
#: gives English at least this confidence (against Swedish and Finnish).
ENGLISH_MIN_CONFIDENCE = 0.80

DESCRIPTIONS = {
    "sv": "GIMP:s användarhandbok (delar översatta till svenska).",
    "fi": "GIMP-kuvankäsittelyohjelman käyttöohje (osa sivuista suomennettu).",
}

# DocBook XSL output: which <div class> is a division (it opens a heading level),
# which elements are not content, and which divs are admonitions.
DIVISIONS = frozenset((
    "book", "part", "reference", "preface", "chapter", "appendix", "glossary",
    "bibliography", "index", "article", "colophon", "refentry", "refnamediv",
    "refsynopsisdiv", "refsect1", "refsect2", "refsect3", "sect1", "sect2", "sect3",
    "sect4", "sect5", "section", "simplesect", "bibliodiv", "glossdiv", "indexdiv",
))
DROPPED_CLASSES = frozenset((
    "navheader", "navfooter", "toc", "list-of-figures", "list-of-tables",
    "list-of-examples", "list-of-procedures", "list-of-equations", "figure",
    "informalfigure", "mediaobject", "inlinemediaobject", "mediaobjectco", "screenshot",
    "equation", "informalequation", "indexterm", "caption", "reportbug",
))
DROPPED_TAGS = frozenset(("script", "style", "head", "img", "hr", "object", "embed",
                          "svg", "map", "area", "iframe", "form", "input", "button"))
ADMONITIONS = frozenset(("note", "tip", "warning", "caution", "important"))
#: Divisions whose <p class="title"> is a caption ("Exempel 16.1. …", "Tabell 16.1. …").
CAPTIONED = frozenset(("example", "informalexample", "table", "informaltable"))
INLINE_TAGS = frozenset((
    "a", "abbr", "acronym", "b", "big", "br", "cite", "code", "dfn", "em", "font", "i",
    "kbd", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "tt", "u", "var",
    "wbr",
))
HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
#: Private-use marks around cross-reference text inside :func:`inline_text`.
XREF_OPEN, XREF_CLOSE = "\ue000", "\ue001"
_XREF = re.compile(f"{XREF_OPEN}[^{XREF_CLOSE}]*{XREF_CLOSE}")
PAGE_SKIPS = {
    "index.html": "title page and table of contents",
}
KIND_SKIPS = {
    "index": "alphabetical index (a list of terms and links)",
}


class SourceMissing(Exception):
    """The GIMP help folder for a language is not installed."""


@dataclass
class Block:
    """One unit of the Markdown output.

    ``kind`` is heading, para, term, item, row or code. ``probe`` is the text
    the language is judged on: the text without its cross-references, whose
    wording ("Avsnitt 5.6, ”Save File”") DocBook writes in the page's language
    even on an untranslated page. ``level`` is a heading's
    division depth (1 = the page's own division) or a list item's nesting depth
    (0 = top). ``group`` ties the items of one list and the rows of one table
    together; ``entries`` are the definition-list entries a block describes, so
    that a term whose whole description was dropped can be dropped with it.
    """

    kind: str
    text: str
    level: int = 0
    ordered: bool = False
    group: int = 0
    start: int = 1
    entries: tuple[int, ...] = ()
    entry: int = 0
    probe: str = ""

    def __post_init__(self) -> None:
        """Split the cross-reference marks of :func:`inline_text` off the text."""
        marked = self.text
        if self.kind == "code":  # keeps its lines; no cross-references inside
            return
        self.text = collapse(marked.replace(XREF_OPEN, "").replace(XREF_CLOSE, ""))
        if not self.probe:
            self.probe = probe_text(marked)

    @property
    def is_prose(self) -> bool:
        """Text written in a language (not a heading or code) and long enough to judge."""
        return (self.kind in ("para", "term", "item", "row")
                and len(self.text) >= PROSE_MIN_CHARS and letters(self.probe) >= MIN_PROBE_LETTERS)


@dataclass
class Page:
    """A converted HTML page of the manual, before or after the language filter."""

    file: str
    lang: str
    title: str
    kind: str
    blocks: list[Block]
    share: float = 0.0
    dropped_english: int = 0

    @property
    def id(self) -> str:
        """The same page in both languages gets the same id: the file's stem, slugified."""
        return slugify(Path(self.file).stem)


@dataclass
class LangReport:
    """What happened to one language's pages, for the summary."""

    kept: list[str] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    dropped_english: int = 0
    words: int = 0


# --- command line ------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """Convert, write and summarise; exit 2 with one line when the source is missing."""
    args = _parse_args(argv)
    langs = [lang.strip() for lang in args.langs.split(",") if lang.strip()]
    unknown = [lang for lang in langs if lang not in LANGS]
    if unknown or not langs:
        print(f"error: --langs takes sv and/or fi, not {args.langs!r}", file=sys.stderr)
        return 2
    try:
        check_source(args.source, langs)
    except SourceMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = convert(args.source, args.out, layout=args.layout, langs=langs)
    print(summary(reports, layout=args.layout, out=args.out))
    return 0


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line; argparse itself exits 2 on a usage error."""
    parser = argparse.ArgumentParser(
        prog="python -m evals.collections.gimp",
        description="Convert the translated pages of the GIMP manual into corpus Markdown.")
    parser.add_argument("--layout", choices=("pages", "manual"), required=True,
                        help="one file per page, or one long file per language")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help=f"the gimp-help folder holding sv/ and fi/ (default {DEFAULT_SOURCE})")
    parser.add_argument("--langs", default=",".join(LANGS), help="languages, default sv,fi")
    return parser.parse_args(argv)


def check_source(source: Path, langs: Iterable[str]) -> None:
    """Fail early, with what to install, rather than write an empty collection."""
    for lang in langs:
        folder = Path(source) / lang
        if not (folder / "index.html").is_file():
            raise SourceMissing(f"no GIMP help in {folder}; install gimp-help-sv and "
                                f"gimp-help-fi (apt-get install gimp-help-sv gimp-help-fi)")


# --- the whole conversion ------------------------------------------------------------------

def convert(source: Path, out: Path, *, layout: str,
            langs: Sequence[str] = LANGS) -> dict[str, LangReport]:
    """Convert every language and write ``layout``; returns what was kept and skipped."""
    source, out = Path(source), Path(out)
    judge = LanguageJudge()
    reports: dict[str, LangReport] = {}
    titles: dict[str, str] = {}
    for lang in langs:
        folder = source / lang
        order = reading_order(folder)
        report = LangReport()
        pages = list(kept_pages(folder, lang, order, judge, report,
                                headings_only=layout == "manual"))
        titles[lang] = manual_title(folder)
        target = out / lang
        _clear_previous(target)
        target.mkdir(parents=True, exist_ok=True)
        if layout == "pages":
            for page in pages:
                text = page_document(page, lang)
                (target / f"{page.id}.md").write_text(text, encoding="utf-8")
                report.words += count_words(text)
        else:
            depths = page_depths(folder, order)
            text = manual_document(pages, lang, titles[lang], depths)
            (target / f"{MANUAL_ID}.md").write_text(text, encoding="utf-8")
            report.words += count_words(text)
        reports[lang] = report
    write_collection(out, titles)
    return reports


def kept_pages(folder: Path, lang: str, order: Sequence[str], judge: LanguageJudge,
               report: LangReport, *, headings_only: bool = False) -> Iterator[Page]:
    """The pages really translated into ``lang``, filtered, in reading order.

    ``headings_only`` keeps pages that are only a title (parts): the manual needs
    them as the headings its chapters nest under; as a page of its own a bare
    title answers nothing.

    A page that cannot be read or converted is skipped and counted, never raised:
    one odd page must not stop the collection.
    """
    seen_ids: set[str] = set()
    for name in order:
        if name in PAGE_SKIPS:
            report.skipped[PAGE_SKIPS[name]] += 1
            continue
        try:
            page = read_page(folder / name, lang)
            reason = KIND_SKIPS.get(page.kind) or judge.rejection(page)
            if reason is None and not ID_PATTERN.match(page.id):
                reason = "no valid id can be made from the file name"
            if reason is None and page.id in seen_ids:
                reason = "id already used by another page"
            if reason is None:
                judge.drop_english(page)
                page.blocks = drop_orphans(page.blocks)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            report.skipped[f"unreadable page ({type(exc).__name__})"] += 1
            continue
        except Exception as exc:  # a page we cannot convert is counted, never fatal
            report.skipped[f"cannot be converted ({type(exc).__name__})"] += 1
            continue
        if reason is not None:
            report.skipped[reason] += 1
            continue
        if not page.blocks:
            report.skipped["nothing left once English paragraphs are dropped"] += 1
            continue
        if not headings_only and not any(block.kind != "heading" for block in page.blocks):
            report.skipped["only a heading (a part's title page; in the manual layout "
                           "it opens the part)"] += 1
            continue
        seen_ids.add(page.id)
        report.kept.append(name)
        report.dropped_english += page.dropped_english
        yield page


def _clear_previous(target: Path) -> None:
    """Remove files an earlier run wrote (and only those), so no stale page lingers."""
    if not target.is_dir():
        return
    for path in target.glob("*.md"):
        head = path.read_text(encoding="utf-8", errors="replace")[:2000]
        if head.startswith("---\n") and f"source_url: {BASE_URL}/" in head:
            path.unlink()


# --- reading order and structure of the book -----------------------------------------------

_LINK = re.compile(r"<link\s+rel=\"(next|up)\"\s+href=\"([^\"#]+)\"")


def _links(path: Path) -> dict[str, str]:
    """The page's rel=next and rel=up targets, read from its head without parsing it all."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return {}
    return {rel: href for rel, href in _LINK.findall(head)}


def reading_order(folder: Path) -> list[str]:
    """Page file names in the manual's order: the rel="next" chain from index.html.

    Pages the chain does not reach (none in the Debian packages) follow in name
    order, so that nothing is silently lost.
    """
    order: list[str] = []
    seen: set[str] = set()
    name: str | None = "index.html"
    while name and name not in seen and (folder / name).is_file():
        order.append(name)
        seen.add(name)
        name = _links(folder / name).get("next")
    rest = sorted(p.name for p in folder.glob("*.html") if p.name not in seen)
    return order + rest


def page_depths(folder: Path, order: Sequence[str]) -> dict[str, int]:
    """Each page's depth in the book (parts and the preface 1, chapters 2, …) via rel="up"."""
    ups = {name: _links(folder / name).get("up") for name in order}

    @functools.cache
    def depth(name: str) -> int:
        up = ups.get(name)
        if name == "index.html" or not up or up == name:
            return 0
        return 1 + depth(up) if up in ups else 1

    return {name: depth(name) for name in order}


def manual_title(folder: Path) -> str:
    """The book's own title (index.html's <h1>, else its <title>)."""
    soup = BeautifulSoup((folder / "index.html").read_text(encoding="utf-8"), "html.parser")
    heading = soup.find("h1")
    if heading is None:
        heading = soup.find("title")
    return collapse(heading.get_text(" ")) if heading else "GIMP"


# --- one page: DocBook HTML to blocks ------------------------------------------------------

def read_page(path: Path, lang: str) -> Page:
    """Parse one HTML page of the manual into blocks; ValueError if it has no division."""
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    title_tag = soup.find("title")
    title = collapse(title_tag.get_text(" ")) if title_tag else path.stem
    body = soup.find("body")
    main = None
    if isinstance(body, Tag):
        main = next((child for child in body.find_all("div", recursive=False)
                     if set(_classes(child)) & DIVISIONS), None)
    if main is None:
        raise ValueError("no DocBook division in the page")
    kind = next(c for c in _classes(main) if c in DIVISIONS)
    converter = _Converter()
    blocks = [block for block in converter.block(main, 0, ()) if block.text]
    return Page(file=path.name, lang=lang, title=title, kind=kind, blocks=blocks)


def _classes(tag: Tag) -> list[str]:
    """The tag's CSS classes: DocBook XSL names the DocBook element in ``class``."""
    value = tag.get("class") or []
    return value.split() if isinstance(value, str) else list(value)


def letters(text: str) -> int:
    """How many letters a text has (key names and numbers tell no language)."""
    return sum(ch.isalpha() for ch in text)


def collapse(text: str) -> str:
    """One line, single spaces: the HTML is pretty-printed, its line breaks mean nothing."""
    return " ".join(text.split())


def _dropped(tag: Tag) -> bool:
    """Not content: navigation, images and their captions, index terms, scripts."""
    return tag.name in DROPPED_TAGS or bool(set(_classes(tag)) & DROPPED_CLASSES)


def _is_inline(tag: Tag) -> bool:
    """Whether the tag runs inside a line of text rather than starting a block."""
    return tag.name in INLINE_TAGS


def probe_text(marked: str) -> str:
    """The text a block's language is judged on: without its cross-references, whose
    wording DocBook writes in the page's language even on an untranslated page."""
    return collapse(_XREF.sub(" ", marked))


#: A description this short (in words) is a table cell, not a paragraph.
COMPACT_DESCRIPTION_WORDS = 6


def _compact_pairs(tag: Tag) -> list[tuple[str, str]]:
    """The (term, description) pairs of a definition list whose entries are one term and
    one short phrase each, without punctuation closing a sentence; [] for any other."""
    pairs: list[tuple[str, str]] = []
    terms: list[str] = []
    for child in tag.find_all(("dt", "dd"), recursive=False):
        if child.name == "dt":
            terms.append(inline_text(child))
            continue
        description = inline_text(child)
        if (len(terms) != 1 or not terms[0] or not description
                or child.find(("ul", "ol", "dl", "table", "pre")) is not None
                or len(child.find_all("p")) > 1
                or len(description.split()) > COMPACT_DESCRIPTION_WORDS
                or description.rstrip().endswith((".", "!", "?", ":"))):
            return []
        pairs.append((terms[0], description))
        terms = []
    return pairs if pairs and not terms else []


def inline_text(tag: Tag, *, skip: frozenset[str] = frozenset()) -> str:
    """The text of an element as a reader sees it, dropped parts left out.

    Inline elements run together; block elements and <br> separate words. Tags
    named in ``skip`` (nested lists of a list item) are left out with their text.
    Cross-references are wrapped in ``XREF_OPEN``/``XREF_CLOSE`` for
    :class:`Block` to tell them apart; a Block's ``text`` has no marks.
    """
    parts: list[str] = []
    labels = {id(label) for note in tag.find_all("div", class_=sorted(ADMONITIONS))
              if (label := _generic_label(note)) is not None}

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):  # comments, CDATA
                    parts.append(str(child))
            elif isinstance(child, Tag):
                if _dropped(child) or child.name in skip or id(child) in labels:
                    continue
                xref = child.name == "a" and "xref" in _classes(child)
                if child.name == "br" or not _is_inline(child):
                    parts.append(" ")
                parts.append(XREF_OPEN if xref else "")
                walk(child)
                parts.append(XREF_CLOSE if xref else "")
                if not _is_inline(child):
                    parts.append(" ")

    walk(tag)
    return collapse("".join(parts))


class _Converter:
    """Walks a page's main division and yields :class:`Block` objects in order."""

    def __init__(self) -> None:
        """Numbers for lists, tables and definition entries, unique within a page."""
        self._ids = count(1)

    def container(self, node: Tag, depth: int, entries: tuple[int, ...]) -> Iterator[Block]:
        """Children of a block container; loose inline text becomes a paragraph."""
        run: list[str] = []
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, PreformattedString):
                    run.append(str(child))
                continue
            if not isinstance(child, Tag) or _dropped(child):
                continue
            if _is_inline(child):
                run.append(" " if child.name == "br" else inline_text(child))
                continue
            yield from self._flush(run, entries)
            yield from self.block(child, depth, entries)
        yield from self._flush(run, entries)

    @staticmethod
    def _flush(run: list[str], entries: tuple[int, ...]) -> Iterator[Block]:
        """Text loose in a container (between blocks) as one paragraph."""
        text = collapse("".join(run))
        run.clear()
        if text:
            yield Block("para", text, entries=entries)

    def block(self, tag: Tag, depth: int, entries: tuple[int, ...]) -> Iterator[Block]:
        """One block-level element: dispatch on its tag and DocBook class."""
        classes = set(_classes(tag))
        name = tag.name
        if classes & DIVISIONS:
            yield from self.container(tag, depth + 1, entries)
        elif classes & ADMONITIONS:
            yield from self.admonition(tag, depth, entries)
        elif name in HEADING_TAGS:
            text = inline_text(tag)
            if text:
                kind = "para" if "subtitle" in classes else "heading"
                yield Block(kind, text, level=max(depth, 1), entries=entries)
        elif name == "p":
            if "title" in classes and set(_classes(tag.parent)) & CAPTIONED:
                return  # "Exempel 16.1. …", "Tabell 16.1. …": captions
            text = inline_text(tag)
            if text:
                yield Block("para", text, entries=entries)
        elif name == "pre":
            yield from self.code(tag, entries)
        elif name in ("ul", "ol"):
            yield from self.list(tag, 0, entries)
        elif name == "dl":
            yield from self.definitions(tag, depth, entries)
        elif name == "table":
            yield from self.table(tag, entries)
        else:  # div, blockquote, section wrappers, dd contents …
            yield from self.container(tag, depth, entries)

    def code(self, tag: Tag, entries: tuple[int, ...]) -> Iterator[Block]:
        """A program listing keeps its lines (without blank ones, so it stays one block)."""
        lines = [line.rstrip() for line in tag.get_text().split("\n")]
        lines = [line for line in lines if line.strip()]
        if lines:
            indent = min(len(line) - len(line.lstrip()) for line in lines)
            yield Block("code", "\n".join(line[indent:] for line in lines), entries=entries)

    def list(self, tag: Tag, nest: int, entries: tuple[int, ...]) -> Iterator[Block]:
        """List items in order, one line each; nested lists follow their item, indented."""
        group = next(self._ids)
        ordered = tag.name == "ol"
        start = _int(tag.get("start"), 1)
        for item in tag.find_all("li", recursive=False):
            text = inline_text(item, skip=frozenset(("ul", "ol")))
            if text:
                yield Block("item", text, level=nest, ordered=ordered, group=group,
                            start=start, entries=entries)
            for sub in item.find_all(("ul", "ol")):
                if sub.find_parent("li") is item and not _inside_dropped(sub, item):
                    yield from self.list(sub, nest + 1, entries)

    def definitions(self, tag: Tag, depth: int, entries: tuple[int, ...]) -> Iterator[Block]:
        """Term on its own paragraph, then its description (several terms may share one).

        A list whose every description is a short phrase (a table of keys and what they
        do: "Skift + W" / "3d-transformering") is a two-column table: each term and its
        description are one line, as a table row is. On lines of their own, two short
        lines in a row could not be told apart as term and description."""
        pairs = _compact_pairs(tag)
        if pairs:
            group = next(self._ids)
            for term, description in pairs:
                # judged on its description alone, as a term is not a text to translate
                yield Block("row", f"{term} – {description}", group=group, entries=entries,
                            probe=probe_text(description))
            return
        entry = 0
        previous_was_term = False
        for child in tag.find_all(("dt", "dd"), recursive=False):
            if child.name == "dt":
                if not previous_was_term:
                    entry = next(self._ids)
                text = inline_text(child)
                if text:
                    yield Block("term", text, entries=entries, entry=entry)
                previous_was_term = True
            else:
                yield from self.container(child, depth, (*entries, entry) if entry else entries)
                previous_was_term = False

    def table(self, tag: Tag, entries: tuple[int, ...]) -> Iterator[Block]:
        """Each row with text is one line, its cells separated by " – "."""
        group = next(self._ids)
        for row in tag.find_all("tr"):
            if row.find_parent("table") is not tag:
                continue  # a row of a nested table
            cells = [inline_text(cell) for cell in row.find_all(("td", "th"), recursive=False)]
            cells = [cell for cell in cells if cell]
            if cells:
                yield Block("row", " – ".join(cells), group=group, entries=entries)

    def admonition(self, tag: Tag, depth: int, entries: tuple[int, ...]) -> Iterator[Block]:
        """A note, tip or warning: its text as paragraphs, its bare label ("Notera") dropped.

        DocBook XSL lays a graphical admonition out as a table (icon, label, text);
        a label that is more than the generic word is a real title and is kept.
        """
        label = _admonition_label(tag)
        if label is not None and _generic_label(tag) is None:
            text = inline_text(label)
            if text:
                yield Block("para", text, entries=entries)
        table = tag.find("table")
        if isinstance(table, Tag):
            rows = table.find_all("tr", recursive=False) or table.find_all("tr")
            cells = rows[-1].find_all("td", recursive=False) if rows else []
            for cell in cells:
                if cell.find("img", recursive=False) and not inline_text(cell):
                    continue  # the icon cell
                yield from self.container(cell, depth, entries)
            return
        for child in tag.children:
            if isinstance(child, Tag) and child is not label and not _dropped(child):
                yield from self.block(child, depth, entries)


def _admonition_label(tag: Tag) -> Tag | None:
    """The label cell or heading of an admonition ("Notera", "Huomaa", or a real title)."""
    label = tag.find(["th", *HEADING_TAGS])
    return label if isinstance(label, Tag) else None


def _generic_label(tag: Tag) -> Tag | None:
    """The admonition's label when it is only the generic word (the icon's alt text)."""
    label = _admonition_label(tag)
    if label is None:
        return None
    generic = {"note", "tip", "warning", "caution", "important"}
    icon = tag.find("img")
    if isinstance(icon, Tag) and icon.get("alt"):
        generic.add(str(icon["alt"]).strip("[] ").lower())
    return label if collapse(label.get_text(" ")).lower() in generic else None


def _inside_dropped(tag: Tag, stop: Tag) -> bool:
    """Whether ``tag`` sits in dropped content (a figure) below ``stop``."""
    parent = tag.parent
    while isinstance(parent, Tag) and parent is not stop:
        if _dropped(parent):
            return True
        parent = parent.parent
    return False


def _int(value: object, default: int) -> int:
    """An HTML attribute as an integer (a list's ``start``), ``default`` if it is not one."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


# --- language ------------------------------------------------------------------------------

class LanguageJudge:
    """Tells which pages are really translated and which paragraphs are English.

    Lingua is asked to choose between English, Swedish and Finnish only: these are
    the only languages in the packages, and a closed choice is sharper than an
    open one on text full of interface words.
    """

    def __init__(self) -> None:
        """Build the detector once per run (loading its models takes a few seconds)."""
        from lingua import Language, LanguageDetectorBuilder

        self._codes = {Language.ENGLISH: "en", Language.SWEDISH: "sv", Language.FINNISH: "fi"}
        self._detector = (LanguageDetectorBuilder
                          .from_languages(*self._codes)
                          .with_preloaded_language_models()
                          .build())

    @functools.lru_cache(maxsize=65536)  # noqa: B019 - one judge per run, texts repeat
    def confidences(self, text: str) -> dict[str, float]:
        """Confidence per language code (en, sv, fi), summing to 1."""
        values = self._detector.compute_language_confidence_values(text)
        return {self._codes[v.language]: v.value for v in values}

    def language_of(self, text: str) -> str:
        """The most likely of en, sv and fi."""
        scores = self.confidences(text)
        return max(scores, key=lambda code: scores[code])

    def share(self, page: Page) -> tuple[float, int]:
        """(share of the page's prose characters in the page's language, prose characters)."""
        total = in_lang = 0
        for block in page.blocks:
            if block.is_prose:
                total += len(block.probe)
                if self.language_of(block.probe) == page.lang:
                    in_lang += len(block.probe)
        return (in_lang / total if total else 0.0), total

    def rejection(self, page: Page) -> str | None:
        """Why the page is not kept for its language, or None when it is.

        A page with little prose (a part's title page, a table of shortcuts) is
        judged on its shorter texts too, headings included, those with at least
        ``FALLBACK_MIN_LETTERS`` letters, and must be nearly all in its language.
        Terms are left out there: in the shortcut tables they are key names
        ("Ctrl + Alt + Page Up"), the same in every language.
        """
        page.share, total = self.share(page)
        if total >= THIN_PROSE_CHARS:
            if page.share < PAGE_MIN_SHARE:
                return (f"not translated (under {PAGE_MIN_SHARE:.0%} of its prose "
                        f"in {page.lang})")
            return None
        units = [b.probe for b in page.blocks if b.kind not in ("code", "term")
                 and letters(b.probe) >= FALLBACK_MIN_LETTERS]
        if not units:
            return "too little text to tell its language"
        in_lang = sum(len(u) for u in units if self.language_of(u) == page.lang)
        page.share = in_lang / sum(len(u) for u in units)
        if page.share < FALLBACK_MIN_SHARE:
            return (f"not translated (little prose, under {FALLBACK_MIN_SHARE:.0%} "
                    f"of its short texts in {page.lang})")
        return None

    def is_english(self, block: Block) -> bool:
        """Clearly English: long enough to tell, and English by a wide margin."""
        return block.is_prose and self.confidences(block.probe).get("en", 0.0) >= \
            ENGLISH_MIN_CONFIDENCE

    def drop_english(self, page: Page) -> None:
        """Remove the English paragraphs, list items and rows left in a translated page."""
        kept = []
        for block in page.blocks:
            if self.is_english(block):
                page.dropped_english += 1
            else:
                kept.append(block)
        page.blocks = kept


def drop_orphans(blocks: list[Block]) -> list[Block]:
    """Drop what dropping English paragraphs left hanging.

    A term whose whole description went, and a sub-heading whose section holds
    nothing (the next heading is of the same or a higher level), would be noise on
    their own. The page's own heading stays: in the manual layout a part's title
    page is only a heading, and it is what the part's chapters nest under.
    """
    blocks = list(blocks)
    for i in range(len(blocks) - 1, -1, -1):  # inner terms first
        term = blocks[i]
        if term.kind == "term" and term.entry and not any(
                term.entry in other.entries for other in blocks[i + 1:]):
            del blocks[i]
    top = min((block.level for block in blocks if block.kind == "heading"), default=1)
    return [block for i, block in enumerate(blocks)
            if block.kind != "heading" or block.level == top or _section_has_text(blocks, i)]


def _section_has_text(blocks: Sequence[Block], i: int) -> bool:
    """Whether the heading at ``i`` has any non-heading block in its section (subsections
    included), i.e. before the next heading of the same or a higher level."""
    for block in blocks[i + 1:]:
        if block.kind != "heading":
            return True
        if block.level <= blocks[i].level:
            return False
    return False


# --- Markdown ------------------------------------------------------------------------------

def render(blocks: Sequence[Block], *, shift: int = 0) -> str:
    """Blocks to Markdown: blank lines between blocks, list items and table rows on
    consecutive lines, ordered items numbered 1., 2., … within their list."""
    chunks: list[str] = []
    numbers: dict[int, int] = {}
    previous: Block | None = None
    for block in blocks:
        if block.kind == "heading":
            line = "#" * max(1, min(6, block.level + shift)) + " " + block.text
        elif block.kind == "item":
            number = numbers.get(block.group, block.start - 1) + 1
            numbers[block.group] = number
            marker = f"{number}. " if block.ordered else "- "
            line = "   " * block.level + marker + block.text
        elif block.kind == "code":
            line = "```\n" + block.text + "\n```"
        else:
            line = block.text
        joins = previous is not None and (
            (block.kind == "item" and previous.kind == "item"
             and (block.level > 0 or previous.group == block.group or previous.level > 0))
            or (block.kind == "row" and previous.kind == "row" and previous.group == block.group))
        if joins and chunks:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
        previous = block
    return "\n\n".join(chunks)


def front_matter(fields: dict[str, object]) -> str:
    """YAML front matter, each value on one line and quoted where YAML needs it."""
    dumped = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=10_000)
    return f"---\n{dumped}---\n\n"


def page_document(page: Page, lang: str) -> str:
    """One page as a corpus document; both languages translate English, not each other."""
    meta = {"id": page.id, "lang": lang, "title": page.title, "kind": page.kind,
            "source_url": f"{BASE_URL}/{lang}/{page.file}", "official": True}
    top = min((block.level for block in page.blocks if block.kind == "heading"), default=1)
    return front_matter(meta) + render(page.blocks, shift=1 - top) + "\n"


def manual_document(pages: Sequence[Page], lang: str, title: str,
                    depths: dict[str, int]) -> str:
    """All kept pages as one document, headings shifted to the page's place in the book."""
    meta = {"id": MANUAL_ID, "lang": lang, "title": title, "kind": "manual",
            "source_url": f"{BASE_URL}/{lang}/index.html", "official": True}
    parts = [render(page.blocks, shift=max(depths.get(page.file, 1), 1) - 1)
             for page in pages]
    return front_matter(meta) + "\n\n".join(parts) + "\n"


def write_collection(out: Path, titles: dict[str, str]) -> None:
    """``collection.yaml``: the collection's name and a one-line description per language."""
    data = {"name": dict(titles),
            "description": {lang: DESCRIPTIONS[lang] for lang in titles}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "collection.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000),
        encoding="utf-8")


def slugify(stem: str) -> str:
    """File stem → id matching ``^[a-z0-9][a-z0-9-]{0,63}$`` (``plug_in_spyrogimp`` →
    ``plug-in-spyrogimp``), as the corpus loader makes ids from file names."""
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug[:64].rstrip("-") or "page"


_WORD = re.compile(r"\w+", re.UNICODE)


def count_words(markdown: str) -> int:
    """Words of a written document, its front matter excluded."""
    body = markdown.split("\n---\n", 1)[1] if markdown.startswith("---\n") else markdown
    return len(_WORD.findall(body))


def summary(reports: dict[str, LangReport], *, layout: str, out: Path) -> str:
    """The lines printed after a run: kept, skipped by reason, words, per language."""
    lines = [f"GIMP manual → {out} (layout {layout})"]
    for lang, report in reports.items():
        skipped = sum(report.skipped.values())
        lines.append(f"{lang}: {len(report.kept)} pages kept, {skipped} skipped, "
                     f"{report.dropped_english} English paragraphs dropped from kept pages, "
                     f"{report.words} words")
        for reason, n in report.skipped.most_common():
            lines.append(f"    skipped {n:4d}: {reason}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
