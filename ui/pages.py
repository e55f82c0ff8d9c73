"""What the service says about itself: the automated-assistant notice, where to reach a
person, the "About this service" page and the accessibility statement.

Defaults are the ``[ui]`` texts of the language files (``notice_*``, ``about_page``,
``accessibility_page`` …); the contact is the collection's (``contact`` in
``collection.yaml``). A deploying organisation replaces any of them with its own
Markdown files in ``VISIO_PAGES_DIR``, one per page and language:

``about.<lang>.md``, ``accessibility.<lang>.md``  the whole body of that page
``notice.<lang>.md``                            the notice's text above the chat
``contact.<lang>.md``                           where a person answers (one paragraph)

Placeholders in braces are filled in, in the defaults and in replacements alike:
``{service}``, ``{collection}``, ``{languages}``, ``{contact}``,
``{accessibility_contact}``, ``{answer_mode}``, ``{feedback_retention}``,
``{rate_limit}``, ``{sources}`` (the list of texts in the index, a block of its
own), ``{about_url}``, ``{accessibility_url}``, ``{chat_url}``. Unknown ones are
left as they are. Raw HTML in Markdown is shown as text; links may be http(s),
mailto: or tel:.

The pages are plain HTML documents served beside the Gradio app (``routes``) at
``about/<lang>`` and ``accessibility/<lang>``: stable addresses a municipality
can link to, readable without JavaScript, printable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from assistant import languages
from assistant.collection import CollectionInfo
from assistant.config import Settings
from ui.labels import label, language_name, ui_language
from ui.render import esc, passage_status

log = logging.getLogger(__name__)

PAGES = ("about", "accessibility")
REPLACEABLE = (*PAGES, "notice", "contact")
MAX_PAGE_BYTES = 200_000

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_BLOCK = "VISIOBLOCK{}"
_LINK = re.compile(r"^(https?:|mailto:|tel:|#|\.{0,2}/|[a-z0-9_-]+(/|$))", re.IGNORECASE)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.validateLink = lambda url: bool(_LINK.match(url.strip()))  # type: ignore[method-assign]
    return md


MARKDOWN = _markdown()


def page_path(page: str, lang: str) -> str:
    """The page's address relative to the app's root ("about/fi")."""
    return f"{page}/{lang}"


class ServiceTexts:
    """The texts of one deployment: language-file defaults, collection.yaml, VISIO_PAGES_DIR.

    ``sources`` lists the texts in the index (``Source`` objects); it may raise when
    the index is unavailable, which the about page says instead of failing.
    """

    def __init__(self, settings: Settings, collection: CollectionInfo,
                 sources: Callable[[], Iterable[Any]] | None = None) -> None:
        self.settings = settings
        self.collection = collection
        self._sources = sources
        self.pages_dir = Path(settings.pages_dir) if settings.pages_dir else None

    # -- replaceable texts --------------------------------------------------------------
    def replacement(self, page: str, lang: str) -> str | None:
        """The deploying organisation's own text for ``page`` in ``lang``, if it has one."""
        if self.pages_dir is None or page not in REPLACEABLE:
            return None
        path = self.pages_dir / f"{page}.{lang}.md"
        try:
            stat = path.stat()
        except OSError:
            return None
        return _read_text(path, stat.st_mtime_ns, stat.st_size)

    def contact_markdown(self, lang: str, accessibility: bool = False) -> str:
        lang = ui_language(lang)
        own = self.replacement("contact", lang)
        if own and own.strip():
            return " ".join(own.split())
        contact = (self.collection.accessibility_contact(lang) if accessibility
                   else self.collection.contact(lang))
        return contact or label(lang, "contact_fallback")

    def contact_html(self, lang: str) -> str:
        """The contact as inline HTML (links kept, everything else escaped)."""
        return MARKDOWN.renderInline(self.contact_markdown(lang))

    # -- placeholders ---------------------------------------------------------------------
    def values(self, lang: str, base: str = "") -> dict[str, str]:
        lang = ui_language(lang)
        names = [language_name(lang, code) for code in languages.codes()]
        settings = self.settings
        per_session = settings.questions_per_minute
        per_address = settings.questions_per_minute_per_address
        if per_session or per_address:
            unlimited = "–"
            rate = label(lang, "rate_limit_text", per_session=per_session or unlimited,
                         per_address=per_address or unlimited)
        else:
            rate = label(lang, "rate_limit_none")
        days = settings.feedback_retention_days
        retention = (label(lang, "retention_days", days=days) if days
                     else label(lang, "retention_kept"))
        mode = "mode_llm" if settings.answer_mode == "llm" else "mode_extractive"
        return {
            "service": label(lang, "app_title"),
            "collection": (self.collection.description(lang)
                           or label(lang, "sources").lower()),
            "languages": languages.get(lang).join(names),
            "contact": self.contact_markdown(lang),
            "accessibility_contact": self.contact_markdown(lang, accessibility=True),
            "answer_mode": label(lang, mode),
            "feedback_retention": retention,
            "rate_limit": rate,
            "about_url": f"{base}{page_path('about', lang)}",
            "accessibility_url": f"{base}{page_path('accessibility', lang)}",
            "chat_url": f"{base}?lang={lang}",
        }

    # -- the notice above the chat ----------------------------------------------------------
    def notice_html(self, lang: str) -> str:
        """Before the first question: automated assistant, what it does, where a person is."""
        lang = ui_language(lang)
        values = self.values(lang)
        own = self.replacement("notice", lang)
        if own and own.strip():
            body = MARKDOWN.render(fill(own, values))
        else:
            key = "notice_llm" if self.settings.answer_mode == "llm" else "notice_extractive"
            body = f"<p>{esc(label(lang, key, collection=values['collection']))}</p>"
        contact = label(lang, "human_contact", contact="\x00")
        contact = esc(contact).replace("\x00", self.contact_html(lang))
        more = new_tab_link(page_path("about", lang), label(lang, "more_about"), lang)
        return (f'<section class="visio-notice-box" aria-labelledby="visio-notice-title">'
                f'<h2 id="visio-notice-title">{esc(label(lang, "notice_title"))}</h2>'
                f'{body}<p class="visio-contact">{contact}</p><p>{more}</p></section>')

    def refusal_contact_html(self, lang: str) -> str:
        """Said under a refusal: the way to a person."""
        text = esc(label(lang, "refusal_contact", contact="\x00"))
        return (f'<p class="visio-refusal-contact">'
                f'{text.replace(chr(0), self.contact_html(lang))}</p>')

    # -- the pages --------------------------------------------------------------------------
    def sources_html(self, lang: str) -> str:
        """Every text in the index: title (in its language), language, translation or not."""
        lang = ui_language(lang)
        try:
            sources = list(self._sources()) if self._sources else []
        except Exception as exc:  # index missing: say so, never fail the page
            log.warning("about page without the list of texts: %s", exc)
            sources = []
        if not sources:
            return f"<p>{esc(label(lang, 'sources_unavailable'))}</p>"
        order = languages.codes()
        sources.sort(key=lambda s: (order.index(s.lang) if s.lang in order else len(order),
                                    s.title.casefold()))
        items = []
        for source in sources:
            official = bool(getattr(source, "official", True))
            status = passage_status(lang, source.lang, bool(source.translation), official)
            if official and not source.translation:
                status += " · " + label(lang, "original")
            title = f'<span lang="{esc(source.lang)}">{esc(source.title)}</span>'
            items.append(f"<li>{esc(label(lang, 'source_item', title=chr(0), status=status))}"
                         .replace("\x00", title) + "</li>")
        note = (f"<p>{esc(label(lang, 'translations_note'))}</p>"
                if any(s.translation for s in sources) else "")
        return f'<ul class="visio-source-list">{"".join(items)}</ul>{note}'

    def page_body(self, page: str, lang: str, base: str = "") -> str:
        """The page's main content as HTML."""
        lang = ui_language(lang)
        values = self.values(lang, base)
        text = self.replacement(page, lang) or label(lang, f"{page}_page")
        blocks = {"sources": lambda: self.sources_html(lang)}
        for name in blocks:
            values[name] = "\n\n" + _BLOCK.format(name.upper()) + "\n\n"
        rendered = MARKDOWN.render(fill(text, values))
        for name, build in blocks.items():
            token = _BLOCK.format(name.upper())
            if token in rendered:
                rendered = rendered.replace(f"<p>{token}</p>", build()).replace(token, "")
        return rendered

    def page_document(self, page: str, lang: str) -> str:
        """A whole HTML document for ``page`` (about / accessibility) in ``lang``."""
        lang = ui_language(lang)
        base = "../"
        title = label(lang, f"{page}_title")
        service = label(lang, "app_title")
        others = "".join(
            f'<li><a href="{esc(code)}" lang="{esc(code)}" '
            f'hreflang="{esc(code)}">{esc(languages.get(code).label("switch_language"))}'
            f"</a></li>"
            for code in languages.codes() if code != lang)
        other_page = "accessibility" if page == "about" else "about"
        nav = (f'<nav aria-label="{esc(label(lang, "nav_label"))}"><ul>'
               f'<li><a href="{base}?lang={esc(lang)}">{esc(label(lang, "back_to_chat"))}</a></li>'
               f'<li><a href="{base}{esc(page_path(other_page, lang))}">'
               f'{esc(label(lang, other_page + "_link"))}</a></li></ul>'
               f'<ul aria-label="{esc(label(lang, "page_language_switch"))}">{others}</ul></nav>')
        return PAGE_TEMPLATE.format(
            lang=esc(lang), title=esc(f"{title} – {service}"), service=esc(service),
            home=f"{base}?lang={esc(lang)}", nav=nav, heading=esc(title),
            body=self.page_body(page, lang, base), css=PAGE_CSS)


def fill(text: str, values: Mapping[str, str]) -> str:
    """``{name}`` replaced by ``values[name]``; unknown names left as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def new_tab_link(href: str, text: str, lang: str) -> str:
    """A link that opens in a new tab, saying so to screen readers (the chat stays open)."""
    return (f'<a href="{esc(href)}" target="_blank" rel="noopener">{esc(text)}'
            f'<span class="visio-sr"> ({esc(label(lang, "opens_new_tab"))})</span>'
            f'<span aria-hidden="true"> ↗</span></a>')


@lru_cache(maxsize=32)
def _read_text(path: Path, mtime_ns: int, size: int) -> str | None:
    if size > MAX_PAGE_BYTES:
        log.warning("%s is larger than %d bytes; the built-in text is used", path,
                    MAX_PAGE_BYTES)
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s cannot be read (%s); the built-in text is used", path, exc)
        return None


def routes(texts: ServiceTexts) -> list[Any]:
    """Starlette routes serving the pages, for the app's ``app_kwargs``."""
    from starlette.responses import HTMLResponse, RedirectResponse
    from starlette.routing import Route

    def endpoint(page: str) -> Callable[..., Any]:
        def serve(request: Any) -> Any:
            lang = request.path_params.get("lang", "")
            if lang not in languages.registry():
                return RedirectResponse(url=f"{languages.registry().default.code}",
                                        status_code=307)
            return HTMLResponse(texts.page_document(page, lang),
                                headers={"Content-Language": lang,
                                         "Cache-Control": "no-cache"})
        return serve

    found: list[Any] = []
    for page in PAGES:
        found.append(Route(f"/{page}/{{lang}}", endpoint(page), methods=["GET", "HEAD"]))
    return found


PAGE_TEMPLATE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><p class="service"><a href="{home}">{service}</a></p>{nav}</header>
<main id="main">
<h1>{heading}</h1>
{body}
</main>
</body>
</html>
"""

PAGE_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; line-height: 1.55;
  color: #1f2937; background: #fff; margin: 0 auto; padding: 1rem 1.25rem 3rem;
  max-width: 44rem; overflow-wrap: break-word; }
header { border-bottom: 1px solid #d1d5db; padding-bottom: .75rem; margin-bottom: 1rem; }
header .service { font-weight: 700; font-size: 1.15rem; margin: 0 0 .4rem; }
nav ul { list-style: none; padding: 0; margin: .2rem 0; display: flex; flex-wrap: wrap;
  gap: .25rem 1.25rem; }
a { color: #0f5f58; text-decoration: underline; text-underline-offset: .15em; }
a:hover { color: #0b3f3b; }
a:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; border-radius: 2px; }
h1 { font-size: 1.75rem; line-height: 1.25; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.75rem 0 .5rem; }
li { margin: .25rem 0; }
"""
