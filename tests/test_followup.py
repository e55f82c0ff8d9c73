"""Follow-up questions are searched together with the previous question."""

from __future__ import annotations

from assistant.followup import formulations, is_followup

HISTORY = [
    {"role": "user", "content": "Vad är visionen för små kommuner?"},
    {"role": "assistant", "content": "Så här står det ..."},
]


def test_elliptic_questions_are_follow_ups() -> None:
    assert is_followup("Och vad säger den om distansarbete?", "sv")
    assert is_followup("Entä kehyskunnat?", "fi")
    assert is_followup("Hur är det med bredband?", "sv")
    assert not is_followup("Vilka mål har Kommunförbundet för framtidens kommuner "
                           "när det gäller digitalisering och hållbarhet?", "sv")


def test_pronoun_follow_up_leans_on_the_previous_question() -> None:
    queries = formulations("Och vad säger den om distansarbete?", HISTORY, "sv")
    assert [q.text for q in queries] == [
        "Och vad säger den om distansarbete?",
        "Vad är visionen för små kommuner? Och vad säger den om distansarbete?"]
    assert queries[1].weight > queries[0].weight


def test_new_topic_follow_up_leans_on_itself() -> None:
    history = [{"role": "user", "content": "Mikä on pienten kuntien visio?"}]
    queries = formulations("Entä kehyskunnat?", history, "fi")
    assert queries[0].text == "Entä kehyskunnat?" and queries[0].weight > queries[1].weight


def test_without_history_the_question_stands_alone() -> None:
    assert [q.text for q in formulations("Entä kehyskunnat?", [], "fi")] == ["Entä kehyskunnat?"]


def test_small_talk_in_between_does_not_hide_the_topic() -> None:
    history = [{"role": "user", "content": "Mikä on pienten kuntien visio?"},
               {"role": "assistant", "content": "…"},
               {"role": "user", "content": "Kiitos!"}]
    assert formulations("Entä laajakaista?", history, "fi")[1].text == (
        "Mikä on pienten kuntien visio? Entä laajakaista?")
