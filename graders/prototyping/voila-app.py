"""Checks of 課題2「アプリにする」 (exercises/prototyping/voila-app).

The notebook writes its 「アプリ」 cells to nanao_app.ipynb and runs that app headless, top to
bottom in a fresh namespace, the way the showcase checks a notebook before publishing it; its
`inspect_app()` reports what it saw, and each check judges one part of that report:

    check("q1", report["エラー"])            # cells (and widget callbacks) that failed
    check("q2", report["データの読み込み"])    # data reads during the run / when a widget moves
    check("q3", report["画面"])              # long tables, wide charts, number of charts
    check("q4", {"最初のセル": report["最初のセル"], "Markdown": report["Markdown"]})

The same questions back `assert_check` in the autograder.
"""

import re

from sunaba.checks.grader import Mistake, Question
from sunaba.checks.judge import Verdict

UNFINISHED = "NotImplementedError"


def _has(answer, word: str) -> bool:
    return isinstance(answer, list) and any(word in str(item) for item in answer)


def check_errors(answer) -> Verdict:
    if not isinstance(answer, list):
        return Verdict.failed('report["エラー"] をそのまま渡してください（リストです）')
    if not answer:
        return Verdict.passed()
    shown = "、".join(str(item)[:120] for item in answer[:3])
    return Verdict.failed(f"上から順に実行すると {len(answer)} か所でエラーになります: {shown}")


def check_reads(answer) -> Verdict:
    if not isinstance(answer, dict) or set(answer) != {"最初の実行", "操作したとき"}:
        return Verdict.failed('report["データの読み込み"] をそのまま渡してください')
    messages = []
    if answer["最初の実行"] != 1:
        messages.append(
            f"アプリを開いたときの読み込みが {answer['最初の実行']} 回です。"
            "データを読むのは、アプリの最初で 1 回だけにしましょう"
        )
    if answer["操作したとき"]:
        messages.append("部品を操作したときにも、データを読み込んでいます")
    return Verdict.failed(*messages) if messages else Verdict.passed()


def check_screen(answer) -> Verdict:
    keys = {"大きな表", "横に広いグラフ", "グラフの数"}
    if not isinstance(answer, dict) or set(answer) != keys:
        return Verdict.failed('report["画面"] をそのまま渡してください')
    messages = []
    if answer["大きな表"]:
        messages.append(f"長い表や文字がそのまま出ています: {'、'.join(answer['大きな表'][:3])}")
    if answer["横に広いグラフ"]:
        messages.append(
            f"タブレットの幅に収まらないグラフがあります: {answer['横に広いグラフ'][0]}"
        )
    if not answer["グラフの数"]:
        messages.append("グラフが 1 枚も描かれていません")
    return Verdict.failed(*messages) if messages else Verdict.passed()


def _lines(markdown: list) -> list[str]:
    return [line.strip() for text in markdown for line in str(text).splitlines()]


def _title(answer) -> bool:
    markdown = answer.get("Markdown") or []
    if answer.get("最初のセル") != "markdown" or not markdown:
        return False
    first = [line.strip() for line in str(markdown[0]).splitlines() if line.strip()]
    return bool(first) and re.match(r"^# \S", first[0]) is not None


def _subheading(answer) -> bool:
    return any(re.match(r"^#{2,3} \S", line) for line in _lines(answer.get("Markdown") or []))


def _credit(answer) -> bool:
    text = "\n".join(str(item) for item in answer.get("Markdown") or [])
    return "raokiey" in text and "CC BY 4.0" in text


def check_text(answer) -> Verdict:
    if not isinstance(answer, dict) or "Markdown" not in answer:
        return Verdict.failed("report の「最初のセル」と「Markdown」を辞書にして渡してください")
    messages = []
    if not _title(answer):
        messages.append("アプリの最初のセルを、「# 」で始まるタイトルの Markdown にしましょう")
    if not _subheading(answer):
        messages.append("「## 」で始まる見出し（例: 使い方）で、操作のしかたを説明しましょう")
    if not _credit(answer):
        messages.append("データの出典（作成者とライセンス）をアプリの中に書きましょう")
    return Verdict.failed(*messages) if messages else Verdict.passed()


def _unwritten(answer) -> bool:
    return isinstance(answer, dict) and any(
        "YOUR ANSWER HERE" in str(text) for text in answer.get("Markdown") or []
    )


MODEL_TEXT = [
    "# 七尾市の避難所　避難者数の移り変わり\n\n令和6年能登半島地震のあとの避難者数です。\n\n"
    "## 使い方\n\n避難所を選ぶとグラフが変わります。\n\n## 出典\n\n"
    "「令和6年能登半島地震 石川県七尾市避難所開設情報GISデータ」（raokiey, CC BY 4.0）を加工して作成。"
]

QUESTIONS = [
    Question(
        "q1",
        check=check_errors,
        hints=[
            "エラーの出たセルの番号は、アプリ（nanao_app.ipynb）の上から数えた番号です。"
            "そのセルのもとになった「アプリ」のセルを直しましょう",
            "JupyterLab では、セルを実行した順番で名前が作られます。「カーネル」メニューの"
            "「カーネルを再起動してすべてのセルを実行…」で、上から順に動くか確かめましょう",
            "アプリのセルだけで動く必要があります。問題を解くためのセル（check やテスト）で作った名前を、"
            "アプリのセルで使っていないか確かめましょう",
        ],
        mistakes=[
            Mistake(
                "まだ書きかけのセルがあります。「# YOUR CODE HERE」と raise NotImplementedError() を、"
                "あなたのコードに置きかえましょう",
                example=lambda: ["セル 3: NotImplementedError: "],
                matches=lambda a: _has(a, UNFINISHED),
            ),
            Mistake(
                "まだ作られていない名前を使っています。上から順に実行したとき、その名前はもっと下のセルか、"
                "アプリではないセルで作られていませんか。JupyterLab でセルを実行した順番に頼らず、"
                "上から順に動くように並べましょう",
                example=lambda: ["セル 4: NameError: name 'DATA' is not defined"],
                matches=lambda a: _has(a, "NameError"),
            ),
            Mistake(
                'データが見つかりません。アプリは load("nanao-shelters", …) で共有のデータを読みます。'
                "自分で用意したファイルは、ノートブックと同じフォルダーかその下に置きましょう",
                example=lambda: ["セル 3: FileNotFoundError: [Errno 2] No such file or directory"],
                matches=lambda a: _has(a, "FileNotFoundError") or _has(a, "DatasetError"),
            ),
        ],
    ),
    Question(
        "q2",
        check=check_reads,
        hints=[
            "118 個のファイルを読むには時間がかかります。見る人が部品を動かすたびに読み直すと、"
            "アプリの反応が遅くなります",
            "データを読み込む load(...) は load_data() の中だけに書き、"
            "アプリの最初で DATA = load_data() と 1 回だけ呼びます",
            "show_shelter や top_shelters の中では load(...) や load_data() を呼ばず、"
            "できあがっている DATA を使いましょう",
        ],
        mistakes=[
            Mistake(
                "部品を操作するたびにデータを読み直しています。データは最初に 1 回だけ読んで DATA に入れ、"
                "部品につないだ関数の中では DATA を使いましょう",
                example=lambda: {"最初の実行": 2, "操作したとき": 2},
                matches=lambda a: isinstance(a, dict) and bool(a.get("操作したとき")),
            ),
            Mistake(
                "データを 1 回も読み込んでいません。load_data() の中で load(...) を使い、"
                "DATA = load_data() で呼びましょう",
                example=lambda: {"最初の実行": 0, "操作したとき": 0},
                matches=lambda a: isinstance(a, dict) and a.get("最初の実行") == 0,
            ),
            Mistake(
                "アプリを開くときに、同じデータを何回も読んでいます。読み込みは load_data() の 1 か所にまとめ、"
                "ほかのセルでは DATA を使いましょう",
                example=lambda: {"最初の実行": 3, "操作したとき": 0},
                matches=lambda a: (
                    isinstance(a, dict)
                    and isinstance(a.get("最初の実行"), int)
                    and a["最初の実行"] > 1
                    and not a.get("操作したとき")
                ),
            ),
        ],
    ),
    Question(
        "q3",
        check=check_screen,
        hints=[
            "タブレットの画面は横 1000 ピクセルほどです。長い表は指で何度もスクロールしないと読めません",
            "表は .head(10) で上位だけにします。DATA そのものを表示したり print したりするセルは消しましょう",
            "グラフは plt.subplots(figsize=(8, 4)) くらいの大きさにすると、タブレットの幅に収まります",
        ],
        mistakes=[
            Mistake(
                "長い表がそのまま表示されています。タブレットでは読み切れません。"
                "確かめるために DATA を表示したセルは消し、見せる表は .head(10) で上位だけにしましょう",
                example=lambda: {
                    "大きな表": ["セル 3: 60 行の表"],
                    "横に広いグラフ": [],
                    "グラフの数": 1,
                },
                matches=lambda a: isinstance(a, dict) and bool(a.get("大きな表")),
            ),
            Mistake(
                "グラフの横幅が広すぎて、タブレットでは横にはみ出します。"
                "figsize=(8, 4) くらいにしましょう",
                example=lambda: {
                    "大きな表": [],
                    "横に広いグラフ": ["横幅 16 インチ"],
                    "グラフの数": 1,
                },
                matches=lambda a: isinstance(a, dict) and bool(a.get("横に広いグラフ")),
            ),
            Mistake(
                "グラフが 1 枚も描かれていません。show_shelter の中でグラフを描き、"
                "最後に plt.show() で表示しましょう",
                example=lambda: {"大きな表": [], "横に広いグラフ": [], "グラフの数": 0},
                matches=lambda a: isinstance(a, dict) and a.get("グラフの数") == 0,
            ),
        ],
    ),
    Question(
        "q4",
        check=check_text,
        hints=[
            "アプリではコードが見えません。見る人に伝わるのは Markdown の文章と、部品・グラフ・表だけです",
            "最初のセル（アプリのタイトル）に、「# 」で始まるタイトル、「## 使い方」、「## 出典」を書きます",
            "出典は、この課題の最初に書いてある文をそのまま写し、「を加工して作成」と添えましょう",
        ],
        mistakes=[
            Mistake(
                "アプリのタイトルのセルがまだ空です（YOUR ANSWER HERE のままです）。"
                "タイトル・使い方・出典を書きましょう",
                example=lambda: {"最初のセル": "markdown", "Markdown": ["YOUR ANSWER HERE"]},
                matches=_unwritten,
            ),
            Mistake(
                "データの出典がありません。オープンデータを見せるときは、作成者とライセンス"
                "（CC BY 4.0）を必ず書きます",
                example=lambda: {
                    "最初のセル": "markdown",
                    "Markdown": [MODEL_TEXT[0].split("## 出典")[0]],
                },
                matches=lambda a: isinstance(a, dict) and _title(a) and not _credit(a),
            ),
            Mistake(
                "最初のセルがタイトルになっていません。アプリを開いた人が最初に見るのは一番上です。"
                "「# 」で始まる 1 行で、何のアプリか書きましょう",
                example=lambda: {"最初のセル": "code", "Markdown": MODEL_TEXT},
                matches=lambda a: isinstance(a, dict) and not _title(a) and not _unwritten(a),
            ),
        ],
    ),
]
