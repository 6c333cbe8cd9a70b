"""Typical wrong answers kept beside a question get their own message, before the general one."""

from __future__ import annotations

from sunaba.checks.grader import Mistake, Question


def rate() -> float:
    return 12.5


def question() -> Question:
    return Question(
        "q1",
        expected=rate,
        hints=["人口で割ります", "10万人あたりにします"],
        mistakes=[
            Mistake("人数のままです。人口で割りましょう", example=lambda: 250),
            Mistake(
                "100 倍ずれています", example=lambda: 1250.0, matches=lambda a: a in (1250, 0.125)
            ),
        ],
    )


def test_a_listed_wrong_answer_gets_its_own_message_alone():
    verdict = question().judge(250)
    assert not verdict.ok
    assert verdict.messages == ["人数のままです。人口で割りましょう"]


def test_a_matcher_recognises_a_family_of_answers():
    assert question().judge(0.125).messages[0] == "100 倍ずれています"


def test_other_wrong_answers_get_only_the_general_message():
    verdict = question().judge(99.0)
    assert verdict.messages == ["数値が違います。計算をもう一度確かめてください"]


def test_a_right_answer_is_never_taken_for_a_mistake():
    assert question().judge(12.5).ok


def test_a_matcher_that_raises_is_no_match():
    q = Question(
        "q2", expected=lambda: 3, mistakes=[Mistake("x", lambda: 4, matches=lambda a: 1 / 0)]
    )
    assert q.judge(5).messages == ["数値が違います。計算をもう一度確かめてください"]
