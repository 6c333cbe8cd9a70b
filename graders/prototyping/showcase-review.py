"""Checks of 課題3「ショーケースで公開してレビュー」 (exercises/prototyping/showcase-review).

    check("q1", {"自分のアプリ": MY_APP, "レビューしたアプリ": REVIEWED_APP})

Only the form of the two addresses is checked here: each must be an app of the showcase
(`…/services/showcase/apps/<番号>/`), and they must be two different apps. Whether the learner
really published the app is graded by hand (the rubric of 「公開の記録」 in the notebook): the
check service and the grading sandbox do not see who published what in the showcase.
"""

import re

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict

APP = re.compile(r"/services/showcase/apps/(\d+)(?:/|$)")
KEYS = ("自分のアプリ", "レビューしたアプリ")
EXAMPLE_HUB = "https://sunaba.example.lg.jp"


def app_id(address) -> str | None:
    match = APP.search(str(address)) if isinstance(address, str) else None
    return match.group(1) if match else None


def check_addresses(answer) -> Verdict:
    if not isinstance(answer, dict) or set(answer) != set(KEYS):
        return Verdict.failed(
            "「自分のアプリ」と「レビューしたアプリ」の 2 つを辞書にして渡してください"
        )
    messages = []
    for key in KEYS:
        if app_id(answer[key]) is None:
            messages.append(
                f"「{key}」がアプリの住所になっていません。アプリを開いたときにブラウザーの"
                "アドレス欄に出る、…/services/showcase/apps/番号/ の形の住所を貼り付けましょう"
            )
    if not messages and app_id(answer[KEYS[0]]) == app_id(answer[KEYS[1]]):
        messages.append("2 つが同じアプリです。レビューするのはチームのほかの人のアプリです")
    return Verdict.failed(*messages) if messages else Verdict.passed()


def _any(answer, pattern: str) -> bool:
    return isinstance(answer, dict) and any(
        isinstance(answer.get(key), str) and re.search(pattern, answer[key]) for key in KEYS
    )


QUESTIONS = [
    Question(
        "q1",
        check=check_addresses,
        hints=[
            "ショーケースのカードを押すと、アプリが開きます。そのときブラウザーのアドレス欄に出ている住所を使います",
            "アプリの住所は …/services/showcase/apps/ のあとに番号が付いた形です。"
            "ギャラリーや管理ページの住所とは違います",
            '住所は文字列なので、MY_APP = "https://…/services/showcase/apps/番号/" のように '
            '" で囲んで書きます。レビューしたアプリも同じ形で、番号が違うはずです',
        ],
        mistakes=[
            Mistake(
                "ギャラリー（アプリの一覧）の住所になっています。一覧のカードを押して、"
                "開いたアプリの住所を貼り付けましょう",
                example=lambda: {
                    "自分のアプリ": f"{EXAMPLE_HUB}/services/showcase/?team=hinan",
                    "レビューしたアプリ": f"{EXAMPLE_HUB}/services/showcase/apps/4/",
                },
                matches=lambda a: _any(a, r"/services/showcase/?(\?[^/]*)?$"),
            ),
            Mistake(
                "「管理する」のページの住所になっています。管理ページではなく、"
                "ギャラリーのカードを押して開いたアプリの住所を使いましょう",
                example=lambda: {
                    "自分のアプリ": f"{EXAMPLE_HUB}/services/showcase/manage/3",
                    "レビューしたアプリ": f"{EXAMPLE_HUB}/services/showcase/apps/4/",
                },
                matches=lambda a: _any(a, r"/services/showcase/manage/"),
            ),
            Mistake(
                "自分のアプリとレビューしたアプリが同じです。レビューするのは、"
                "チームのほかの人が公開したアプリです",
                example=lambda: {
                    "自分のアプリ": f"{EXAMPLE_HUB}/services/showcase/apps/3/",
                    "レビューしたアプリ": f"{EXAMPLE_HUB}/services/showcase/apps/3/",
                },
                matches=lambda a: (
                    isinstance(a, dict)
                    and app_id(a.get(KEYS[0])) is not None
                    and app_id(a.get(KEYS[0])) == app_id(a.get(KEYS[1]))
                ),
            ),
        ],
    ),
]
