"""Questions typed without å/ä/ö or with a typo find what the correctly spelled ones find."""

from __future__ import annotations

import pytest
from fakes import document, library, memory_assistant

from assistant.answerability import holds
from assistant.config import Settings
from assistant.spelling import respell

DOCS = [
    document("parkering", "sv", "Parkeringstillstånd för boende", """# Parkering för boende

Boende i centrum kan ansöka om ett parkeringstillstånd hos parkeringsbyrån.
"""),
    document("bibliotek", "sv", "Stadsbiblioteket", """# Stadsbiblioteket

Stadsbiblioteket lånar ut böcker till alla invånare. Lånekortet är gratis.
"""),
    document("kirjasto", "fi", "Kaupunginkirjasto", """# Kaupunginkirjasto

Kaupunginkirjasto lainaa kirjoja kaikille asukkaille. Kirjastokortti on maksuton.
"""),
]


@pytest.fixture(scope="module")
def snapshot():
    return library(DOCS, Settings())


@pytest.mark.parametrize(("typed", "meant"), [
    ("var kan man ansoka om parkeringstillstand", "var kan man ansöka om parkeringstillstånd"),
    ("ar lanekortet gratis", "är lånekortet gratis"),         # a stop word and a text word
    ("onko kirjastokortti maksuton", "onko kirjastokortti maksuton"),  # spelled right
    ("vad kostar stadsbibliotket", "vad kostar stadsbiblioteket"),  # one letter dropped
])
def test_words_the_index_never_uses_are_respelled(snapshot, typed: str, meant: str) -> None:
    assert respell(typed, snapshot) == meant


def test_names_and_inflected_forms_are_left_as_typed(snapshot) -> None:
    # A name inside a sentence must reach the answer as typed ("the sources do not
    # mention Borga"), and an inflection of a known word is not a typo.
    assert respell("Har Borga ett stadsbibliotek?", snapshot) == "Har Borga ett stadsbibliotek?"
    assert respell("Lainaako kaupunginkirjastot kirjoja?", snapshot) == \
        "Lainaako kaupunginkirjastot kirjoja?"


def test_a_question_without_diacritics_is_answered_as_the_spelled_one(tmp_path) -> None:
    assistant = memory_assistant(DOCS, tmp_path)
    typed = assistant.ask("Hur ansoker man om parkeringstillstand?")
    spelled = assistant.ask("Hur ansöker man om parkeringstillstånd?")
    assert not typed.refused
    assert [c.doc_id for c in typed.citations] == [c.doc_id for c in spelled.citations]
    assert typed.answer == spelled.answer


@pytest.mark.parametrize(("text", "is_date"), [
    ("Skapa en ny GIMP/2.10-katalog.", False),      # a version, not 2 October
    ("Starta gimp-2.10 för engelska.", False),      # a version, not ten past two
    ("Klicka på knappen.", False),                  # "kl" is a time word only as such
    ("Majoriteten av användarna.", False),          # and "maj" a month only as such
    ("Öppet vardagar kl. 8.30–16.00.", True),
    ("Svara senast 24.12.", True),
    ("Hakuaika päättyy tammikuussa.", True),
])
def test_a_date_is_told_from_versions_and_lookalike_words(text: str, is_date: bool) -> None:
    lang = "fi" if "tammikuu" in text else "sv"
    assert holds(text, "date", lang, frozenset()) is is_date
