"""Resolve follow-up questions against the conversation, without a model.

"Och vad säger den om distansarbete?" or "Entä kehyskunnat?" mean little on
their own. When a question looks elliptic (it opens with a connective, leans
on a pronoun, or is very short) it is searched twice: alone and joined to the
previous user question, the two rankings fused with weights. A pronoun
("den", "se") means the earlier topic still holds, so the joined form
weighs more; a bare "and what about X?" names a new topic, so the question
alone weighs more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from assistant import smalltalk
from assistant.lexical import terms, words
from assistant.retrieval import Query

_CONNECTIVES = re.compile(
    r"^\s*(och|men|samt|än|också|även|hur är det med|hur blir det med|vad gäller|"
    r"vad sägs om|gäller det|samma|entä|entäs|mites|mitäs|ja|mutta|myös|kuin myös|"
    r"koskeeko|päteekö|and|what about|how about)\b",
    re.IGNORECASE,
)
# "det" is left out: in Swedish it is mostly expletive ("när det gäller").
_ANAPHORA = frozenset("""
    den dem denna dessa där dess deras hen han hon honom henne samma
    se sen sitä siinä siitä siihen tämä tämän tässä tästä tähän ne niissä niistä
    niiden hän hänen häntä heidän he sama saman it its they them that those
""".split())
SHORT_QUESTION_TERMS = 3
ANAPHORA_WEIGHTS = (1.0, 0.6)  # (joined, alone)
ELLIPSIS_WEIGHTS = (0.8, 1.0)  # (joined, alone)


def previous_user_question(history: Sequence[Mapping[str, str]]) -> str | None:
    """The latest real question of the conversation (a "thanks!" is not one)."""
    for message in reversed(history):
        content = message.get("content", "").strip()
        if message.get("role") == "user" and content and smalltalk.recognise(content) is None:
            return content
    return None


def is_followup(question: str, lang: str | None) -> bool:
    if _CONNECTIVES.match(question):
        return True
    if _ANAPHORA & set(words(question)):
        return True
    return len(terms(question, [lang] if lang else ["sv", "fi"])) <= SHORT_QUESTION_TERMS


def formulations(question: str, history: Sequence[Mapping[str, str]],
                 lang: str | None) -> list[Query]:
    """What to search for: the question, and with a follow-up also the joined question."""
    previous = previous_user_question(history)
    if previous is None or not is_followup(question, lang):
        return [Query(question)]
    joined = f"{previous} {question}"
    anaphoric = bool(_ANAPHORA & set(words(question)))
    joined_weight, alone_weight = ANAPHORA_WEIGHTS if anaphoric else ELLIPSIS_WEIGHTS
    return [Query(question, alone_weight), Query(joined, joined_weight)]
