"""Every text of the user interface, from the language files' ``[ui]`` tables.

The assistant's own sentences (answer frames, refusals, notices) are the
``[texts]`` of the same files; this module reads what only the web interface
says: labels, placeholders, buttons and its own status messages. What the
interface says *about the collection* (its name, description and example
questions) comes from the corpus's ``collection.yaml``.
"""

from __future__ import annotations

from typing import Any

from assistant import languages
from assistant.collection import CollectionInfo


def default_language() -> str:
    """The interface language when the browser asks for none we have: the first enabled."""
    return languages.registry().default.code


def language_choices() -> list[tuple[str, str]]:
    """The language switch names each language in that language, so anyone finds their own."""
    return [(language.name.capitalize(), language.code) for language in languages.registry()]


def joined(key: str) -> str:
    """One interface text in every language at once ("Språk · Kieli"), for the places
    shown before a language is chosen (the switch's own label, the login page)."""
    return " · ".join(dict.fromkeys(language.label(key) for language in languages.registry()))


def ui_language(lang: object) -> str:
    """A supported interface language; anything else gives the default."""
    return lang if isinstance(lang, str) and lang in languages.registry() else default_language()


def label(lang: object, key: str, **values: object) -> str:
    """The interface text ``key`` in ``lang``."""
    return languages.get(ui_language(lang)).label(key, **values)


def notice(lang: object, key: str, **values: object) -> str:
    """One of the assistant's own notices (index missing, internal error …) in ``lang``."""
    return languages.get(ui_language(lang)).text(key, **values)


def language_name(ui_lang: object, lang: str) -> str:
    """The name of ``lang`` written in the interface language ("finska", "ruotsi" …)."""
    return languages.get(ui_language(ui_lang)).name_of(lang)


def metric_labels(ui_lang: object) -> dict[str, str]:
    """Evaluation metric names in the interface language."""
    metrics: Any = languages.get(ui_language(ui_lang)).ui.get("metrics", {})
    return dict(metrics)


def examples(collection: CollectionInfo, ui_lang: object) -> list[str]:
    """The collection's example questions in the interface language."""
    return list(collection.examples.get(ui_language(ui_lang), ()))


def intro(collection: CollectionInfo, ui_lang: object) -> str:
    """The page's introduction, naming the collection (or "the sources")."""
    lang = ui_language(ui_lang)
    description = collection.description(lang) or label(lang, "sources").lower()
    return label(lang, "app_intro", collection=description)


def pick_language(browser_languages: object) -> str:
    """The interface language for a browser's preference list ("fi-FI,en-US;q=0.8" …).

    The first preferred language we support wins; the default is the fallback.
    """
    if not isinstance(browser_languages, str):
        return default_language()
    for item in browser_languages.replace(";", ",").split(","):
        code = item.strip().lower().split("-")[0].split("_")[0]
        if code in languages.registry():
            return code
    return default_language()
