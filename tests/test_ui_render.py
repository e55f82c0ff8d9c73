"""ui.render and ui.labels: escaping, highlighting, sources and wording cards, label tables."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.types import Answer, Citation, Counterpart, WordingMatch
from ui import labels, render

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)> ${alert(2)} {{x}} `y`'
TAG = re.compile(r"<(/?)([a-zA-Z0-9]+)")


def tags(markup: str) -> set[str]:
    return {m.group(2).lower() for m in TAG.finditer(markup)}


def citation(**changes) -> Citation:
    text = ("Kommunen är en plats för gott liv. Invånarna deltar i beslut. "
            "Tjänsterna är digitala och nära.")
    base = dict(n=1, doc_id="vision-general", lang="sv", title="Allmän vision",
                section="Första visionen", text=text, char_start=100, char_end=100 + len(text),
                score=0.9, source_url="https://www.kommunforbundet.fi/nya",
                translation=False, highlights=((135, 161),))
    base.update(changes)
    return Citation(**base)


# --- escaping ---------------------------------------------------------------------------

def test_esc_neutralises_markup_and_template_syntax():
    out = render.esc(EVIL)
    assert "<" not in out and ">" not in out and '"' not in out
    assert "$" not in out and "{" not in out and "`" not in out
    assert html.unescape(out) == EVIL


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,<b>", " ", "",
                                 "https://ok.example/a b", 'https://x.example/"onmouseover=1',
                                 None, 42])
def test_unsafe_urls_give_no_link(url):
    assert render.safe_url(url) is None
    assert render.link(url, "open") == ""


def test_http_links_open_in_new_tab_without_opener():
    out = render.link("https://www.kommunforbundet.fi/a?b=1&c=2", "Öppna")
    assert 'href="https://www.kommunforbundet.fi/a?b=1&amp;c=2"' in out
    assert 'target="_blank"' in out and 'rel="noopener noreferrer"' in out


def test_answer_with_script_is_shown_as_text():
    out = render.answer_html(f"Svar {EVIL} [1]\n\nMer text [2]")
    assert tags(out) <= {"div", "p", "sup"}
    assert "&lt;script&gt;" in out
    assert out.count("<p>") == 2
    assert '<sup class="visio-ref">[1]</sup>' in out and '<sup class="visio-ref">[2]</sup>' in out


def test_citation_markers_in_a_turn_are_named_links_to_their_sources():
    answer = Answer(answer="Svar [1]. Mer [2].", language="fi", refused=False,
                    citations=(citation(n=1), citation(n=2)))
    out = render.message_html(answer, anchor="visio-t3")
    assert '<a class="visio-ref" href="#visio-t3-s1"><span class="visio-sr">lähde </span>[1]</a>' \
        in out
    assert 'id="visio-t3-s2" tabindex="-1"' in out  # the link's target takes focus


def test_corpus_text_with_script_in_every_field_is_escaped():
    text = f"Inledning. {EVIL} Slut."
    c = citation(title=EVIL, section=EVIL, text=text, char_start=0, char_end=len(text),
                 highlights=((11, 11 + len(EVIL)),), source_url="javascript:alert(3)")
    out = render.message_html(Answer(answer=f"{EVIL} [1]", language="sv", refused=False,
                                     citations=(c,)))
    assert tags(out) <= {"div", "p", "sup", "ol", "li", "span", "strong", "blockquote", "mark",
                         "a"}
    assert "onerror=" not in out.replace("onerror=alert(1)&gt;", "")  # only as escaped text
    assert "javascript:" not in out
    assert "<mark>&lt;script&gt;" in out


# --- highlighting -----------------------------------------------------------------------

def test_highlights_are_document_offsets_shifted_into_the_citation_text():
    c = citation()
    spans = render.citation_spans(c)
    assert spans == [(35, 61)]
    assert c.text[35:61] == "Invånarna deltar i beslut."
    assert "<mark>Invånarna deltar i beslut.</mark>" in render.source_html(c, "sv")


def test_merge_spans_clips_drops_and_merges():
    assert render.merge_spans([(5, 8), (-3, 2), (7, 12), (20, 20), (30, 99)], 40) == \
        [(0, 2), (5, 12), (30, 40)]


@given(st.text(max_size=200), st.lists(st.tuples(st.integers(-10, 210), st.integers(-10, 210)),
                                       max_size=6))
def test_highlight_keeps_the_text_exactly(text, spans):
    out = render.highlight(text, spans)
    assert tags(out) <= {"mark"}
    assert html.unescape(out.replace("<mark>", "").replace("</mark>", "")) == text


def test_long_passage_is_cut_around_the_quoted_sentence():
    before = "Ord " * 300
    sentence = "Det här är den citerade meningen."
    after = " Mer" * 300
    text = before + sentence + after
    start = len(before)
    out = render.quote_html(text, [(start, start + len(sentence))])
    assert f"<mark>{sentence}</mark>" in out
    assert out.startswith("… ") and out.endswith(" …")
    assert len(html.unescape(out)) <= render.QUOTE_CHARS + 20


def test_highlight_longer_than_the_window_is_still_shown_whole():
    sentence = ("lång " * 120).strip()
    text = "A " * 50 + sentence + " B" * 50
    start = 100
    out = render.quote_html(text, [(start, start + len(sentence))], max_chars=100)
    assert f"<mark>{sentence}</mark>" in out


def test_short_passage_without_highlight_is_shown_whole():
    assert render.quote_html("Kort text.", []) == "Kort text."


# --- sources ----------------------------------------------------------------------------

def test_source_shows_number_title_section_language_quote_and_link():
    out = render.sources_html([citation(n=2), citation(n=1)], "sv")
    assert out.index('data-n="1"') < out.index('data-n="2"')
    assert "Källor" in out and "Allmän vision" in out and "Första visionen" in out
    assert "· svenska" in out and "Öppna källsidan" in out
    assert 'href="https://www.kommunforbundet.fi/nya"' in out
    # The link is named by its source and says it opens a new tab (for screen readers).
    assert '<span class="visio-sr"> – <span lang="sv">Allmän vision</span> ' \
           '(öppnas i en ny flik)</span></a>' in out


def test_a_passage_in_another_language_carries_its_own_lang():
    out = render.source_html(citation(lang="fi", translation=True, title="Yleinen visio"), "sv")
    assert '<strong class="visio-title" lang="fi">Yleinen visio</strong>' in out
    assert '<blockquote class="visio-quote" lang="fi">' in out
    assert 'class="visio-status">· finska' in out  # the label stays in the page's language
    assert "<li" in out and ' lang="' not in out.split(">", 1)[0]


@pytest.mark.parametrize(("lang", "expected"), [
    ("sv", "finska · översättning från svenska"),
    ("fi", "suomi · käännös, alkuperäinen kieli: ruotsi")])
def test_translated_finnish_passage_is_marked_as_translation(lang, expected):
    c = citation(lang="fi", translation=True, title="Yleinen visio")
    out = render.source_html(c, lang)
    assert expected in out and 'data-translation="true"' in out


def test_no_citations_no_sources_block():
    refusal = Answer(answer="Jag hittar inget svar.", language="sv", refused=True)
    assert "visio-sources" not in render.message_html(refusal)


def test_streaming_placeholder_in_the_interface_language():
    assert "Haen lähteistä" in render.streaming_html("", "fi")
    assert "Söker i källorna" in render.streaming_html("  ", "sv")
    assert "Så här" in render.streaming_html("Så här ", "sv")
    assert "visio-final" not in render.streaming_html("Så här ", "sv")
    assert "visio-final" in render.answer_html("Så här står det.")


# --- wording ----------------------------------------------------------------------------

def wording_match(**changes) -> WordingMatch:
    base = dict(doc_id="vision-small", lang="sv", title="Vision för små kommuner",
                section="Femte visionen: Små kommuner",
                text="En liten kommun erbjuder ofta ett naturnära liv.", char_start=10,
                char_end=58, highlights=((3, 15),), exact=True, score=2.0,
                source_url="https://www.kommunforbundet.fi/nya", translation=False,
                official=True,
                counterpart=Counterpart(lang="fi", text="Pieni kunta tarjoaa usein "
                                        "luonnonläheisen elämän.", char_start=12, char_end=60,
                                        translation=True, official=False))
    base.update(changes)
    return WordingMatch(**base)


def test_wording_card_shows_both_languages_side_by_side_with_translation_marked():
    out = render.wording_html("liten kommun", [wording_match()], "sv")
    assert "<mark>liten kommun</mark>" in out
    assert "Pieni kunta tarjoaa usein luonnonläheisen elämän." in out
    assert "På svenska · originaltext" in out and "På finska · översättning från svenska" in out
    assert "ordagrann träff" in out and "avsnitt: <span lang=\"sv\">Femte visionen" in out
    assert "Träffar för ”liten kommun”: 1" in out  # titles and headings count too


def test_the_line_naming_a_passages_language_is_marked_in_the_pages_language():
    """"På finska · översättning från svenska" is Swedish interface text inside a Finnish
    passage: screen readers must read it as Swedish (WCAG 3.1.2)."""
    out = render.match_html(wording_match(), "sv")
    assert '<div class="visio-passage-lang" lang="sv">På finska · översättning' in out
    assert '<div class="visio-passage-lang" lang="sv">På svenska · originaltext' in out
    assert '<div class="visio-passage visio-counterpart" lang="fi"' in out


def test_wording_card_says_which_kind_of_find_it_is():
    inflected = wording_match(exact=False, inflected=True, highlights=((3, 16),))
    assert "böjd form" in render.match_html(inflected, "sv")
    assert "taivutettu muoto" in render.match_html(inflected, "fi")
    near = wording_match(exact=False, highlights=())
    assert "närliggande passage" in render.match_html(near, "sv")


def heading_match(**changes) -> WordingMatch:
    """A phrase standing only in a section heading: the place is the first text under it."""
    base = dict(shape="heading", heading="Femte visionen: Små kommuner",
                heading_highlights=((0, 14),), heading_path="Femte visionen: Små kommuner",
                exact=False, highlights=(), text="I små kommuner är vi nära människorna.",
                counterpart=Counterpart(lang="fi", text="Pienissä kunnissa olemme lähellä "
                                        "ihmisiä.", char_start=40, char_end=80,
                                        translation=True, official=False,
                                        heading="Viides visio: Pienet kunnat"))
    base.update(changes)
    return wording_match(**base)


def test_wording_card_of_a_heading_shows_the_heading_its_place_and_its_twin():
    out = render.match_html(heading_match(), "sv")
    assert 'data-shape="heading"' in out and "ordagrant i en rubrik" in out
    assert "<mark>Femte visionen</mark>: Små kommuner" in out
    assert "Först under rubriken:" in out and "I små kommuner är vi nära människorna." in out
    assert "Viides visio: Pienet kunnat" in out and "Pienissä kunnissa" in out
    assert "avsnitt: <span lang=\"sv\">Femte visionen: Små kommuner</span>" in out
    assert "sanatarkasti osion otsikossa" in render.match_html(heading_match(), "fi")
    copied = html.unescape(re.search(r'data-copy="([^"]*)"', out).group(1))
    assert copied.startswith("”Femte visionen: Små kommuner”\nKälla: Vision för små kommuner, "
                             "Femte visionen: Små kommuner (")


def test_wording_card_of_a_title_names_it_as_the_title():
    title = heading_match(shape="title", heading="Vision för små kommuner",
                          heading_highlights=((0, 6),), heading_path="")
    out = render.match_html(title, "sv")
    assert 'data-shape="title"' in out and "ordagrant i titeln" in out
    assert "Först i dokumentet:" in out and "avsnitt:" not in out
    assert "<mark>Vision</mark> för små kommuner" in out


def test_copy_button_carries_the_exact_text_and_its_source():
    out = render.match_html(wording_match(), "fi")
    copied = html.unescape(re.search(r'data-copy="([^"]*)"', out).group(1))
    assert copied == ("”En liten kommun erbjuder ofta ett naturnära liv.”\n"
                      "Lähde: Vision för små kommuner, Femte visionen: Små kommuner (ruotsi) "
                      "https://www.kommunforbundet.fi/nya")
    assert "Kopioi lähteineen" in out


def test_wording_card_escapes_document_text_and_copy_payload():
    out = render.match_html(wording_match(text=EVIL, title=EVIL, highlights=((0, 8),),
                                          counterpart=None), "sv")
    assert "<script" not in out and "<img" not in out
    assert "Ingen motsvarande passage" in out
    copied = html.unescape(re.search(r'data-copy="([^"]*)"', out).group(1))
    assert EVIL in copied  # the clipboard gets the exact text, the page only escaped text


def test_wording_empty_and_not_found_messages():
    assert "Skriv en fras" in render.wording_html("  ", [], "sv")
    assert "Haulla ”kuu” ei löytynyt" in render.wording_html("kuu", [], "fi")
    assert "&lt;b&gt;" in render.wording_html("<b>", [], "sv")


# --- evaluation -------------------------------------------------------------------------

def test_eval_table_lists_metrics_per_language_and_verdicts():
    summary = {"overall": {"recall@3": 0.97, "mrr": 0.81, "refusal_recall": None},
               "by_language": {"sv": {"recall@3": 1.0, "mrr": 0.9},
                               "fi": {"recall@3": 0.94, "mrr": 0.72}}}
    out = render.eval_html(summary, [("cap <x>", "data:image/png;base64,AAAA"),
                                     ("bad", "javascript:alert(1)")], "fi",
                           labels.metric_labels("fi"), {"recall@3": 0.98, "refusal_recall": 0.9},
                           lambda k, v: "n/a" if v is None else f"{v:.3f}")
    assert "Osuma kolmessa ensimmäisessä lähteessä" in out
    assert "0.970" in out and "0.940" in out and "≥ 0.98" in out
    assert '<span class="visio-fail">alittaa vaatimuksen</span>' in out
    assert "ei mitattavissa" in out  # no refusal item among them: not a failure
    assert "<th>ruotsi</th>" in out and "<th>suomi</th>" in out
    assert 'src="data:image/png;base64,AAAA"' in out and "cap &lt;x&gt;" in out
    assert "javascript:" not in out


# --- labels -----------------------------------------------------------------------------

def test_both_languages_have_the_same_interface_texts_and_none_is_empty():
    from assistant import languages

    sv, fi = languages.get("sv").ui, languages.get("fi").ui
    assert set(sv) == set(fi)
    for key, value in sv.items():
        if isinstance(value, dict):
            assert set(value) == set(fi[key]), key
            assert all(str(v).strip() for v in (*value.values(), *fi[key].values())), key
        else:
            assert str(value).strip() and str(fi[key]).strip(), key


@pytest.mark.parametrize(("header", "expected"), [
    ("fi-FI,fi;q=0.9,en;q=0.8", "fi"), ("sv-SE", "sv"), ("en-US,fi;q=0.5", "fi"),
    ("en-GB,de", "sv"), ("", "sv"), (None, "sv"), ("FI", "fi"), ("sv_FI", "sv")])
def test_pick_language_from_browser_preferences(header, expected):
    assert labels.pick_language(header) == expected


def test_unknown_interface_language_falls_back_to_swedish():
    assert labels.label("en", "send") == "Skicka"
    assert labels.label("fi", "send") == "Lähetä"


def test_quote_stays_inside_the_paragraph_of_the_highlight():
    text = ("Rubrik\n\nFörsta stycket handlar om annat. " + "Fyll " * 40
            + "\n\nDen citerade meningen står här. Och en till.\n\n- Lista / Program")
    start = text.index("Den citerade")
    out = render.quote_html(text, [(start, start + len("Den citerade meningen står här."))])
    assert out.startswith("… <mark>Den citerade meningen står här.</mark> Och en till.")
    assert "Lista" not in out and "Fyll" not in out
    assert out.endswith(" …")  # more text follows in the passage


def test_consecutive_quoted_sentences_form_one_mark():
    text = "Ett. Två.  Tre. Fyra."
    out = render.highlight(text, [(0, 4), (5, 9), (16, 21)])
    assert out == "<mark>Ett. Två.</mark>  Tre. <mark>Fyra.</mark>"


# --- conversation -----------------------------------------------------------------------

def test_a_turn_says_who_speaks_and_marks_the_answer_language():
    answer = Answer(answer="Lähteessä sanotaan [1]", language="fi", refused=False,
                    citations=(citation(lang="fi", translation=True),))
    out = render.turn_html(4, "Mikä on visio?", answer, "sv")
    assert out.startswith('<li class="visio-turn" id="visio-t4">')
    assert '<h3 class="visio-speaker">Du</h3>' in out
    assert '<h3 class="visio-speaker">Assistenten (automatiskt svar)</h3>' in out
    assert '<div class="visio-question" lang="fi">Mikä on visio?</div>' in out
    assert '<div class="visio-answer-body" lang="fi">' in out
    assert 'href="#visio-t4-s1"' in out and 'id="visio-t4-s1"' in out


def test_a_refused_questions_language_is_not_guessed():
    refusal = Answer(answer="Jag svarar på svenska och finska.", language="sv", refused=True)
    out = render.turn_html(1, "What is this?", refusal, "sv")
    assert '<div class="visio-question">What is this?</div>' in out


def test_the_announcement_reads_the_answer_without_markers_and_counts_sources():
    answer = Answer(answer="Så här står det [1]. Och här [2].", language="sv", refused=False,
                    citations=(citation(n=1), citation(n=2)))
    out = render.answer_announcement(answer, "fi")
    assert out == ('<p>Avustajan vastaus: <span lang="sv">Så här står det. Och här.</span> '
                   'Vastauksen alla on 2 lähdettä.</p>')


def test_empty_conversation_invites_a_question():
    assert "Ställ en fråga" in render.conversation_html([], "sv")
    assert render.current_html("") == ""
