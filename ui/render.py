"""HTML for the web interface, built only from escaped text.

Everything that comes from documents, users or models passes through
:func:`esc` before it meets markup, so a corpus file or an answer containing
``<script>``, event attributes or template syntax is shown as text, never run.
Links are only ever ``http(s)``. The functions are pure (data in, string out)
so they are tested without a browser.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from assistant import languages
from assistant.types import Answer, Citation, WordingMatch
from ui.labels import label, language_name, ui_language

#: Characters kept around the highlighted sentences of a source quote.
QUOTE_CHARS = 360

_MARKER = re.compile(r"\[(\d{1,3})\]")
_TEMPLATE_CHARS = str.maketrans({"$": "&#36;", "{": "&#123;", "}": "&#125;", "`": "&#96;"})

Span = tuple[int, int]


# --- escaping ---------------------------------------------------------------------------

def esc(text: object) -> str:
    """Text safe inside HTML elements and quoted attributes.

    Besides ``& < > " '`` this also encodes ``$ { } `` ` `` so that no frontend
    template (Gradio's HTML component renders JS/Handlebars templates) can read
    document text as an expression.
    """
    return html.escape("" if text is None else str(text), quote=True).translate(_TEMPLATE_CHARS)


def safe_url(url: object) -> str | None:
    """``url`` when it is an absolute http(s) address without whitespace, else None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if re.fullmatch(r"https?://[^\s<>\"'`]+", url, flags=re.IGNORECASE):
        return url
    return None


def link(url: object, text: str, hidden: str = "") -> str:
    """An external link opening in a new tab, or nothing for an unsafe address.

    ``hidden`` (already escaped HTML) is read by screen readers only: what the link
    opens and that it opens a new tab, when the visible text cannot say it.
    """
    href = safe_url(url)
    if href is None:
        return ""
    extra = f'<span class="visio-sr">{hidden}</span>' if hidden else ""
    return (f'<a class="visio-link" href="{esc(href)}" target="_blank" '
            f'rel="noopener noreferrer">{esc(text)}{extra}</a>')


# --- highlighting -----------------------------------------------------------------------

def merge_spans(spans: Iterable[Sequence[int]], length: int) -> list[Span]:
    """Spans clipped to ``0..length``, empty ones dropped, overlaps merged, in order."""
    clipped = sorted((max(0, int(s)), min(length, int(e))) for s, e in spans)
    merged: list[Span] = []
    for start, end in clipped:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, spans: Iterable[Sequence[int]]) -> str:
    """``text`` escaped, with each span wrapped in ``<mark>``.

    Spans separated only by whitespace (consecutive quoted sentences) read as one mark.
    """
    joined: list[Span] = []
    for start, end in merge_spans(spans, len(text)):
        if joined and not text[joined[-1][1]:start].strip():
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    parts: list[str] = []
    position = 0
    for start, end in joined:
        parts.append(esc(text[position:start]))
        parts.append(f"<mark>{esc(text[start:end])}</mark>")
        position = end
    parts.append(esc(text[position:]))
    return "".join(parts)


def citation_spans(citation: Citation) -> list[Span]:
    """The quoted sentences as offsets inside ``citation.text`` (they are document offsets)."""
    return merge_spans(((s - citation.char_start, e - citation.char_start)
                        for s, e in citation.highlights), len(citation.text))


def excerpt_window(text: str, spans: Sequence[Span], max_chars: int = QUOTE_CHARS) -> Span:
    """The part of ``text`` to show: the highlighted sentences with some context.

    All highlights when they fit in ``max_chars``, else the first one (whole, even
    if longer); the remaining room is shared before and after, cut at spaces and
    never reaching into another paragraph.
    """
    if not spans:
        end = text.find("\n\n")
        end = len(text) if end < 0 else end
        return 0, end if end <= max_chars else _cut_forward(text, max_chars)
    start, end = spans[0][0], spans[-1][1]
    if end - start > max_chars:
        start, end = spans[0]
    paragraph_start = text.rfind("\n\n", 0, start)
    paragraph_start = 0 if paragraph_start < 0 else paragraph_start + 2
    paragraph_end = text.find("\n\n", end)
    paragraph_end = len(text) if paragraph_end < 0 else paragraph_end
    room = max(0, max_chars - (end - start))
    room_before, room_after = start - paragraph_start, paragraph_end - end
    before = min(room_before, room // 2)
    after = min(room_after, room - before)
    before = min(room_before, room - after)  # room the paragraph end left unused goes before
    lo = paragraph_start if before == room_before else _cut_backward(text, start - before)
    hi = paragraph_end if after == room_after else _cut_forward(text, end + after)
    return min(lo, start), max(hi, end)


def _cut_backward(text: str, position: int) -> int:
    """Move ``position`` forward to the start of a word (never past the original text)."""
    if position <= 0:
        return 0
    space = text.find(" ", position)
    return space + 1 if space >= 0 else position


def _cut_forward(text: str, position: int) -> int:
    """Move ``position`` back to the end of a word."""
    if position >= len(text):
        return len(text)
    space = text.rfind(" ", 0, position)
    return space if space > 0 else position


def quote_html(text: str, spans: Sequence[Span], max_chars: int = QUOTE_CHARS) -> str:
    """A short quote of ``text`` around its highlighted spans, with ellipses where cut."""
    spans = merge_spans(spans, len(text))
    lo, hi = excerpt_window(text, spans, max_chars)
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    shifted = [(s - lo, e - lo) for s, e in spans]
    body = highlight(text[lo:hi], shifted)
    return ("… " if text[:lo].strip() else "") + body + (" …" if text[hi:].strip() else "")


# --- chat -------------------------------------------------------------------------------

def answer_html(text: str, final: bool = True, lang: str = "", anchor: str = "") -> str:
    """The answer text as paragraphs, with citation markers like [1] set as references.

    With an ``anchor`` (the turn's id) each marker is a link to its numbered source
    below the answer, named "källa [1]" in the answer's language ``lang``; without
    one it is a plain superscript. A finished answer is marked ``visio-final``
    (streamed pieces are not), which lets the page and its tests tell a complete
    answer from one still arriving.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    rendered = []
    for paragraph in paragraphs:
        body = esc(paragraph.strip()).replace("\n", "<br>")
        if anchor:
            body = _MARKER.sub(lambda m: _ref_link(int(m.group(1)), lang, anchor), body)
        else:
            body = _MARKER.sub(r'<sup class="visio-ref">[\1]</sup>', body)
        rendered.append(f"<p>{body}</p>")
    css = "visio-answer visio-final" if final else "visio-answer"
    return f'<div class="{css}">{"".join(rendered)}</div>'


def _ref_link(n: int, lang: str, anchor: str) -> str:
    name = esc(label(lang, "source_ref", n="\x00")).split("\x00")[0]
    return (f'<a class="visio-ref" href="#{esc(anchor)}-s{n}">'
            f'<span class="visio-sr">{name}</span>[{n}]</a>')


def streaming_html(partial: str, lang: str) -> str:
    """What the chat shows while the answer is still arriving."""
    if not partial.strip():
        pending = esc(label(lang, "thinking"))
        return f'<div class="visio-answer visio-pending"><p>{pending}</p></div>'
    return answer_html(partial, final=False)


def passage_status(ui_lang: str, lang: str, translation: bool, official: bool = True) -> str:
    """"svenska" / "finska · översättning från svenska" / "… · inofficiell text"."""
    return " · ".join([language_name(ui_lang, lang), *_origin(ui_lang, lang, translation,
                                                              official)])


def passage_heading(ui_lang: str, lang: str, translation: bool, official: bool) -> str:
    """"På svenska · originaltext" / "På finska · översättning från svenska"."""
    origin = _origin(ui_lang, lang, translation, official) or [label(ui_lang, "original")]
    return " · ".join([label(ui_lang, "in_language", language=language_name(ui_lang, lang)),
                       *origin])


def _origin(ui_lang: str, lang: str, translation: bool, official: bool) -> list[str]:
    if translation:
        return [label(ui_lang, "translated_from", language=language_name(ui_lang, _other(lang)))]
    if not official:
        return [label(ui_lang, "unofficial")]
    return []


def source_html(citation: Citation, lang: str, anchor: str = "") -> str:
    """One numbered source: title, section, language (and translation), quote, link.

    Labels are in ``lang`` (the answer's language); the title and the quote carry the
    document's own language, so a Finnish passage under a Swedish answer is read as
    Finnish. With an ``anchor`` the item is the target of the answer's [n] links.
    """
    status = passage_status(lang, citation.lang, citation.translation)
    flag = ' data-translation="true"' if citation.translation else ""
    target = f' id="{esc(anchor)}-s{citation.n}" tabindex="-1"' if anchor else ""
    doc_lang = esc(citation.lang)
    section = (f' <span class="visio-section">· <span lang="{doc_lang}">'
               f'{esc(citation.section)}</span></span>' if citation.section else "")
    title = esc(citation.title)
    return (
        f'<li class="visio-source" data-n="{citation.n}" data-lang="{doc_lang}"{flag}{target}>'
        f'<div class="visio-source-head"><span class="visio-n">[{citation.n}]</span> '
        f'<strong class="visio-title" lang="{doc_lang}">{title}</strong>{section} '
        f'<span class="visio-status">· {esc(status)}</span></div>'
        f'<blockquote class="visio-quote" lang="{doc_lang}">'
        f'{quote_html(citation.text, citation_spans(citation))}</blockquote>'
        f'{_source_link(citation, lang)}'
        f"</li>"
    )


def _source_link(citation: Citation, lang: str) -> str:
    """"Öppna källsidan", named with the source's title and saying it opens a new tab."""
    href = safe_url(citation.source_url)
    if href is None:
        return ""
    hidden = (f' – <span lang="{esc(citation.lang)}">{esc(citation.title)}</span> '
              f'({esc(label(lang, "opens_new_tab"))})')
    return (f'<a class="visio-link" href="{esc(href)}" target="_blank" '
            f'rel="noopener noreferrer">{esc(label(lang, "open_source"))}'
            f'<span class="visio-sr">{hidden}</span></a>')


def sources_html(citations: Sequence[Citation], lang: str, anchor: str = "") -> str:
    if not citations:
        return ""
    items = "".join(source_html(c, lang, anchor)
                    for c in sorted(citations, key=lambda c: c.n))
    return (f'<div class="visio-sources"><div class="visio-sources-title" role="heading" '
            f'aria-level="4">{esc(label(lang, "sources"))}</div><ol>{items}</ol></div>')


def message_html(answer: Answer, anchor: str = "") -> str:
    """A finished answer: its text, then its numbered sources (labelled in its language)."""
    return (answer_html(answer.answer, lang=answer.language, anchor=anchor)
            + sources_html(answer.citations, answer.language, anchor))


def question_html(question: str, lang: str = "") -> str:
    attr = f' lang="{esc(lang)}"' if lang else ""
    return f'<div class="visio-question"{attr}>{esc(question).replace(chr(10), "<br>")}</div>'


# --- the conversation -------------------------------------------------------------------

def turn_html(number: int, question: str, answer: Answer | None, ui_lang: str,
              partial: str = "", after_answer: str = "") -> str:
    """One question and its answer (or the answer still arriving: ``answer`` None).

    Each side is headed by who speaks ("Du" / "Assistenten (automatiskt svar)"), so a
    screen reader moves between messages by heading and every answer says it is
    automated. ``after_answer`` is HTML in the interface language shown under the
    answer (the way to a person after a refusal).
    """
    anchor = f"visio-t{number}"
    parts = [f'<li class="visio-turn" id="{anchor}">']
    if question.strip():
        question_lang = answer.language if answer is not None and not answer.refused else ""
        parts.append(f'<div class="visio-q"><h3 class="visio-speaker">'
                     f'{esc(label(ui_lang, "speaker_you"))}</h3>'
                     f'{question_html(question, question_lang)}</div>')
    parts.append(f'<div class="visio-a"><h3 class="visio-speaker">'
                 f'{esc(label(ui_lang, "speaker_assistant"))}</h3>')
    if answer is None:
        parts.append(f'<div class="visio-answer-body" lang="{esc(ui_lang)}">'
                     f'{streaming_html(partial, ui_lang)}</div>')
    else:
        parts.append(f'<div class="visio-answer-body" lang="{esc(answer.language)}">'
                     f'{message_html(answer, anchor)}</div>{after_answer}')
    parts.append("</div></li>")
    return "".join(parts)


def conversation_html(turns_html: Sequence[str], ui_lang: str) -> str:
    """The finished turns as a list, or the invitation to ask when there are none."""
    if not turns_html:
        return (f'<p class="visio-empty">{esc(label(ui_lang, "chat_placeholder"))}</p>')
    return f'<ol class="visio-turns">{"".join(turns_html)}</ol>'


def current_html(turn: str) -> str:
    """The turn being answered, kept apart so that streaming re-sends only it."""
    return f'<ol class="visio-turns visio-current" aria-busy="true">{turn}</ol>' if turn else ""


def answer_announcement(answer: Answer, ui_lang: str) -> str:
    """What a screen reader hears when an answer is complete: the text (in its own
    language), then how many sources follow (in the interface language)."""
    text = re.sub(r"\s*\[\d{1,3}\]", "", answer.answer).strip()
    lang = answer.language if answer.language in languages.registry() else ui_language(ui_lang)
    spoken = esc(label(ui_lang, "answer_announcement", text="\x00"))
    spoken = spoken.replace("\x00", f'<span lang="{esc(lang)}">{esc(text)}</span>')
    n = len(answer.citations)
    if n == 1:
        spoken += " " + esc(label(ui_lang, "source_announcement"))
    elif n > 1:
        spoken += " " + esc(label(ui_lang, "sources_announcement", n=n))
    return f"<p>{spoken}</p>"


# --- staff: wording ---------------------------------------------------------------------

def copy_text(match: WordingMatch, ui_lang: str) -> str:
    """The exact words and where they stand, as copied by the copy button: the passage,
    or the title or heading the phrase stands in."""
    status = passage_status(ui_lang, match.lang, match.translation, match.official)
    where = ", ".join(p for p in (match.title, _place(match)) if p)
    source = f"{label(ui_lang, 'source')}: {where} ({status})"
    url = safe_url(match.source_url)
    if url:
        source += f" {url}"
    quoted = match.text if match.shape == "sentence" else match.heading
    return f"”{quoted}”\n{source}"


def _place(match: WordingMatch) -> str:
    """The section a passage stands in, or the headings down to the heading found."""
    return match.section if match.shape == "sentence" else match.heading_path


def _kind(match: WordingMatch, ui_lang: str) -> str:
    """What kind of find this is ("ordagrann träff", "ordagrant i en rubrik" …)."""
    if match.shape != "sentence":
        return label(ui_lang, f"wording_{match.shape}")
    return label(ui_lang, "wording_exact" if match.exact else
                 "wording_inflected" if match.inflected else "wording_near")


def _found_heading(match: WordingMatch, heading_html: str, ui_lang: str) -> str:
    """A title or heading find's words above the first text under them (nothing for a
    sentence): staff see the heading itself, then the place it names."""
    if match.shape == "sentence" or not heading_html:
        return ""
    return (f'<p class="visio-passage-heading"><strong>{heading_html}</strong></p>'
            f'<div class="visio-passage-lang"{_ui_lang_attr(ui_lang)}>'
            f'{esc(label(ui_lang, f"wording_under_{match.shape}"))}</div>')


def _ui_lang_attr(ui_lang: str) -> str:
    """Interface text inside a passage marked with the passage's own language carries the
    page's language (WCAG 3.1.2, language of parts)."""
    return f' lang="{esc(ui_language(ui_lang))}"'


def match_html(match: WordingMatch, ui_lang: str) -> str:
    """One found passage (or title, or heading) beside its counterpart in the other language,
    with a copy button."""
    found = _found_heading(match, highlight(match.heading, match.heading_highlights), ui_lang)
    ui_lang_attr = _ui_lang_attr(ui_lang)  # "På finska · …" is interface text
    main = (f'<div class="visio-passage" lang="{esc(match.lang)}">'
            f'<div class="visio-passage-lang"{ui_lang_attr}>'
            f'{esc(passage_heading(ui_lang, match.lang, match.translation, match.official))}'
            f'</div>{found}<p class="visio-passage-text">'
            f'{highlight(match.text, match.highlights)}</p></div>')
    counterpart = match.counterpart
    if counterpart is not None:
        heading = passage_heading(ui_lang, counterpart.lang, counterpart.translation,
                                  counterpart.official)
        flag = ' data-translation="true"' if counterpart.translation else ""
        twin = _found_heading(match, esc(counterpart.heading), ui_lang)
        other = (f'<div class="visio-passage visio-counterpart" lang="{esc(counterpart.lang)}"'
                 f'{flag}><div class="visio-passage-lang"{ui_lang_attr}>{esc(heading)}</div>{twin}'
                 f'<p class="visio-passage-text">{esc(counterpart.text)}</p></div>')
    else:
        other = (f'<div class="visio-passage visio-counterpart visio-missing">'
                 f'<p>{esc(label(ui_lang, "wording_no_counterpart"))}</p></div>')
    place = _place(match)
    section = (f' · {esc(label(ui_lang, "section"))}: <span lang="{esc(match.lang)}">'
               f'{esc(place)}</span>' if place else "")
    return (
        f'<article class="visio-match" data-exact="{str(match.exact).lower()}"'
        f' data-shape="{esc(match.shape)}">'
        f'<header class="visio-match-head"><strong class="visio-title" lang="{esc(match.lang)}">'
        f'{esc(match.title)}</strong>{section} · <span class="visio-kind">'
        f'{esc(_kind(match, ui_lang))}</span>'
        f'<button type="button" class="visio-copy" data-copy="{esc(copy_text(match, ui_lang))}"'
        f' data-done="{esc(label(ui_lang, "copied"))}">{esc(label(ui_lang, "copy"))}</button>'
        f"</header><div class=\"visio-pair\">{main}{other}</div>"
        f"{link(match.source_url, label(ui_lang, 'open_source'), _link_hint(match, ui_lang))}"
        f"</article>"
    )


def _link_hint(match: WordingMatch, ui_lang: str) -> str:
    return (f' – <span lang="{esc(match.lang)}">{esc(match.title)}</span> '
            f'({esc(label(ui_lang, "opens_new_tab"))})')


def wording_html(phrase: str, matches: Sequence[WordingMatch], ui_lang: str) -> str:
    if not phrase.strip():
        return notice_html(label(ui_lang, "wording_empty"))
    if not matches:
        return notice_html(label(ui_lang, "wording_none", phrase=phrase))
    head = (f'<div class="visio-count">'
            f'{esc(label(ui_lang, "wording_count", n=len(matches), phrase=phrase))}</div>')
    return (f'<div class="visio-wording">{head}'
            f'{"".join(match_html(m, ui_lang) for m in matches)}</div>')


def notice_html(text: str) -> str:
    """A friendly message in place of results (nothing found, index missing …)."""
    return f'<div class="visio-notice" role="status">{esc(text)}</div>'


# --- evaluators -------------------------------------------------------------------------

def gate_outcome(value: float | None, minimum: float | None) -> str:
    """How a figure stands against its CI minimum: "ok", "fail", "not_measured" (the set
    cannot measure it), or "" when it has no minimum."""
    if minimum is None:
        return ""
    if value is None:
        return "not_measured"
    return "ok" if value >= minimum - 1e-9 else "fail"


def eval_html(summary: Mapping[str, Any], charts: Sequence[tuple[str, str]], ui_lang: str,
              metric_names: Mapping[str, str], thresholds: Mapping[str, float],
              format_value: Any) -> str:
    """Scores (overall and per language) against their minimums, then the report's charts."""
    overall = summary.get("overall", {})
    by_language = summary.get("by_language", {})
    order = languages.codes()
    langs = sorted(by_language, key=lambda lang: (lang not in order, order.index(lang)
                                                  if lang in order else 0, lang))

    def shown(key: str, value: Any) -> str:
        return "–" if value is None else str(format_value(key, value))

    header = [label(ui_lang, "eval_metric"), label(ui_lang, "eval_value"),
              *(language_name(ui_lang, lang) for lang in langs),
              label(ui_lang, "eval_minimum"), label(ui_lang, "eval_verdict")]
    rows = []
    for key, name in metric_names.items():
        if key not in overall:
            continue
        value = overall.get(key)
        minimum = thresholds.get(key)
        outcome = gate_outcome(value, minimum)
        verdict = label(ui_lang, f"eval_{outcome}") if outcome else ""
        css = outcome if outcome in ("ok", "fail") else "none"
        cells = [esc(name), esc(shown(key, value)),
                 *(esc(shown(key, by_language[lang].get(key))) for lang in langs),
                 esc("" if minimum is None else f"≥ {minimum:.2f}"),
                 f'<span class="visio-{css}">{esc(verdict)}</span>']
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    table = ("<table class=\"visio-scores\"><thead><tr>"
             + "".join(f"<th>{esc(h)}</th>" for h in header)
             + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    figures = "".join(
        f'<figure><img src="{esc(uri)}" alt="{esc(caption)}">'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
        for caption, uri in charts if uri.startswith("data:image/png;base64,"))
    return f'<div class="visio-eval">{table}{figures}</div>'


def _other(lang: str) -> str:
    """The language a translation was made from: the first other enabled language."""
    return next((code for code in languages.codes() if code != lang), lang)
