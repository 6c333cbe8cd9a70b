"""Checks of 課題3「ショーケースで公開してレビュー」 (exercises/prototyping/showcase-review).

    check("q1", {"自分のアプリ": MY_APP, "レビューしたアプリ": REVIEWED_APP})
    check("q2", MY_APP)

q1 (autograded) checks the form of the two addresses: each an app of the showcase
(`…/services/showcase/apps/<番号>/`), two different apps.

q2 (an instant check only) looks the app up in the showcase's records, server-side, for the
learner who calls it: the app is live and one of its versions was published by that learner.
The grading sandbox has no records database, so q2 carries no points: the publication is graded
by hand (「公開の記録」 in the notebook), from the same records (the app's 「管理する」 page or
`sunaba showcase versions <番号>`); a learner's ✓ of q2 is kept in the records as a passed check.
"""

import re

from sqlalchemy.orm import Session

from sunaba.checks.grader import Caller, Mistake, Question
from sunaba.checks.judge import Verdict
from sunaba.showcase.records import ShowcaseApp

APP = re.compile(r"/services/showcase/apps/(\d{1,9})(?:/|$)")
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


# -- q2: the showcase's record --------------------------------------------------------------


def check_published(answer, caller: Caller | None) -> Verdict:
    number = app_id(answer)
    if number is None:
        return Verdict.failed(
            "MY_APP がアプリの住所になっていません（…/services/showcase/apps/番号/ の形です）"
        )
    if caller is None or caller.engine is None:
        return Verdict.failed(
            "ショーケースの記録は、JupyterLab で開いたノートブックの check からだけ確かめられます"
        )
    with Session(caller.engine) as session:
        app = session.get(ShowcaseApp, int(number))
        mine = app is not None and any(v.published_by == caller.login for v in app.versions)
        live = mine and app.status == "live"
    if not mine:
        # The same words whether or not the app exists: other teams' apps stay unknown.
        return Verdict.failed(
            f"{number} 番のアプリに、あなたが公開した版は見つかりません。"
            "自分で「公開する」ボタンを押して公開し、開いたアプリの住所を MY_APP に入れましょう"
        )
    if not live:
        return Verdict.failed(
            f"{number} 番のアプリは、今は公開されていません（公開停止中か、確かめている途中です）。"
            "「管理する」のページで確かめましょう"
        )
    return Verdict.passed()


QUESTIONS.append(
    Question(
        "q2",
        check=check_published,
        caller=True,
        hints=[
            "ショーケースの記録で、MY_APP の番号のアプリを、あなたが公開したか、今も公開中かを確かめます",
            "公開の画面で「公開する」ボタンを押したあと、エラーが出ていないか確かめましょう。"
            "エラーが出たときは、何も公開されていません",
            "ギャラリーで自分のアプリのカードを押し、開いたアプリの住所を MY_APP に入れて、"
            "もう一度このセルを実行します",
        ],
        mistakes=[
            Mistake(
                "ギャラリー（アプリの一覧）の住所です。自分のアプリのカードを押して、"
                "開いたアプリの住所を MY_APP に入れましょう",
                example=lambda: f"{EXAMPLE_HUB}/services/showcase/",
                matches=lambda a: (
                    isinstance(a, str) and bool(re.search(r"/services/showcase/?(\?[^/]*)?$", a))
                ),
            ),
            Mistake(
                "公開の画面の住所です。公開が終わったら、ギャラリーで自分のアプリのカードを押して、"
                "開いたアプリの住所を MY_APP に入れましょう",
                example=lambda: f"{EXAMPLE_HUB}/services/showcase/publish",
                matches=lambda a: isinstance(a, str) and "/services/showcase/publish" in a,
            ),
        ],
    )
)
