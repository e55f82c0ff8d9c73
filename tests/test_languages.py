"""Languages are data: every language's file has the same keys, and a third language is
one more file (here English, from tests/data/languages/en.toml) — no code changes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from fakes import document, memory_assistant

from assistant import languages
from assistant.languages import PACKAGE_DIR, LanguageError, Registry, load_language

EXTRA = Path(__file__).parent / "data" / "languages"


def _keys(data: dict, prefix: str = "") -> set[str]:
    found: set[str] = set()
    for key, value in data.items():
        found |= _keys(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return found


def test_the_shipped_language_files_have_the_same_keys() -> None:
    files = sorted(PACKAGE_DIR.glob("*.toml"))
    assert [f.stem for f in files] == ["fi", "sv"]
    keys = [_keys(tomllib.loads(f.read_text(encoding="utf-8"))) for f in files]
    assert keys[0] == keys[1]
    for path in files:
        language = load_language(path)
        assert language.code == path.stem and language.probes and language.asks


def test_a_missing_text_is_reported_with_the_file_and_the_key(tmp_path: Path) -> None:
    broken = (PACKAGE_DIR / "sv.toml").read_text(encoding="utf-8").replace(
        'refusal = "', 'refusal_renamed = "', 1)
    (tmp_path / "sv.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(LanguageError, match=r"sv\.toml.*refusal"):
        Registry(["sv"], [tmp_path])
    with pytest.raises(LanguageError, match=r"no language file xx\.toml"):
        Registry(["xx"])


@pytest.fixture()
def english(tmp_path: Path):
    docs = [
        document("library", "en", "The city library", "# The city library\n\n"
                 "The city library lends books, newspapers and e-books to every resident. "
                 "The library card is free of charge.\n"),
        document("pool", "en", "The swimming pool", "# The swimming pool\n\n"
                 "The swimming pool has a 25-metre pool and a sauna.\n"),
        document("bibliotek", "sv", "Stadsbiblioteket", "# Stadsbiblioteket\n\n"
                 "Stadsbiblioteket lånar ut böcker till alla invånare. Lånekortet är gratis.\n"),
    ]
    yield memory_assistant(docs, tmp_path, languages="sv,fi,en", language_dir=EXTRA,
                           refusal_threshold=0.0)
    languages.configure(languages.DEFAULT_LANGUAGES)  # the other tests' languages


def test_a_third_language_is_one_file(english) -> None:
    assert languages.codes() == ("sv", "fi", "en")
    answer = english.ask("Is the library card free of charge?")
    assert not answer.refused and answer.language == "en"
    assert answer.answer.startswith(languages.get("en").text("source_intro",
                                                             title="The city library"))
    assert "The library card is free of charge." in answer.answer
    assert english.ask("Write a poem about the swimming pool.").notes[0].startswith("task")
    # The two languages it had still answer in their own.
    swedish = english.ask("Är lånekortet gratis på stadsbiblioteket?")
    assert swedish.language == "sv" and "Lånekortet är gratis." in swedish.answer
