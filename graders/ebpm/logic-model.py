"""Checks of 課題1「ロジックモデルと指標」 (exercises/ebpm/logic-model).

The notebook's setup cell defines INDICATORS (six indicators of a traffic-safety class for older
people) and STEPS (five statements A–E of its logic model, shuffled).

    check("q1", kinds)   # 各指標が "アウトプット" か "アウトカム" か（6 個のリスト）
    check("q2", order)   # インプット→活動→アウトプット→アウトカム→インパクト の順の記号（5 個）

The written logic model (q3) is graded by hand with the rubric shown in the notebook.
"""

from sunaba.checks.grader import Mistake, Question

OUTPUT, OUTCOME = "アウトプット", "アウトカム"
INDICATORS = [
    ("交通安全教室の開催回数", OUTPUT),
    ("夜に外出する高齢者のうち、反射材を身につけている人の割合", OUTCOME),
    ("教室に参加した高齢者の人数", OUTPUT),
    ("市内で高齢の歩行者が巻き込まれた人身事故の件数", OUTCOME),
    ("配った反射材の数", OUTPUT),
    ("参加者のうち、教室のあと横断歩道を使うようになったと答えた人の割合", OUTCOME),
]
KINDS = [kind for _, kind in INDICATORS]
PARTICIPANTS, ACCIDENTS = 2, 3

STEPS = {
    "A": "高齢者の交通事故の死傷者が減り、安心して外出できるまちになる",
    "B": "公民館で高齢者向けの交通安全教室を開き、反射材を配る",
    "C": "交通安全担当の職員 2 名と、年間の予算 120 万円",
    "D": "教室を年 24 回開き、延べ 600 人が参加する",
    "E": "参加した人が、夜に反射材を身につけ、横断歩道を渡るようになる",
}
ORDER = ["C", "B", "D", "E", "A"]


def _replaced(values, index, value):
    changed = list(values)
    changed[index] = value
    return changed


def _swapped(values, i, j):
    changed = list(values)
    changed[i], changed[j] = changed[j], changed[i]
    return changed


def _is_list(answer, length):
    return isinstance(answer, (list, tuple)) and len(answer) == length


QUESTIONS = [
    Question(
        "q1",
        expected=lambda: list(KINDS),
        hints=[
            "アウトプットは「市が事業をどれだけ行ったか」（回数・人数・配った数）、アウトカムは"
            "「その結果、対象の人や地域に何が変わったか」です",
            "一つずつ「この数は、市が事業をやればやるほど必ず増えるか」を考えます。必ず増えるならアウトプット、"
            "相手の行動や地域の状態しだいで決まるならアウトカムです",
            '答えは、「アウトプット」か「アウトカム」の文字列 6 個を、INDICATORS と同じ順に角かっこ [ ] の中へカンマで区切って並べたリストです。文字列は " " で囲みます',
        ],
        mistakes=[
            Mistake(
                "「アウトプット」か「アウトカム」のどちらかを、全角のカタカナで書いてください（前後に空白を入れません）",
                example=lambda: ["output", "outcome", "output", "outcome", "output", "outcome"],
                matches=lambda answer: (
                    _is_list(answer, len(KINDS))
                    and any(item not in (OUTPUT, OUTCOME) for item in answer)
                ),
            ),
            Mistake(
                "すべて同じ種類になっています。事業の量を表す指標と、その結果起きた変化を表す指標を分けましょう",
                example=lambda: [OUTPUT] * len(KINDS),
                matches=lambda answer: _is_list(answer, len(KINDS)) and len(set(answer)) == 1,
            ),
            Mistake(
                "「参加した人数」の分類を見直しましょう。人数は、市が教室をどれだけ開いたかで決まる「事業の量」ですか、"
                "それとも参加した人に起きた「変化」ですか",
                example=lambda: _replaced(KINDS, PARTICIPANTS, OUTCOME),
                matches=lambda answer: (
                    _is_list(answer, len(KINDS)) and answer[PARTICIPANTS] == OUTCOME
                ),
            ),
            Mistake(
                "「事故の件数」の分類を見直しましょう。事故が減るかどうかは、市が事業をどれだけ行ったかだけで決まりますか",
                example=lambda: _replaced(KINDS, ACCIDENTS, OUTPUT),
                matches=lambda answer: _is_list(answer, len(KINDS)) and answer[ACCIDENTS] == OUTPUT,
            ),
        ],
    ),
    Question(
        "q2",
        expected=lambda: list(ORDER),
        hints=[
            "インプットは投入する資源（人・お金）、活動は実際に行うこと、アウトプットは活動の量、"
            "アウトカムは対象の人に起きる変化、インパクトは地域全体の最終的な目標です",
            "まず「資源」を表す文（人数と予算）を探し、最後に「まち全体の姿」を表す文を置きます。残りの3つは、"
            "やること → やった量 → 相手の変化 の順です",
            "答えは、A〜E の記号を 1 回ずつ、大文字の文字列にして順に並べたリストです（例の形は問題文にあります）",
        ],
        mistakes=[
            Mistake(
                "A〜E の大文字の記号を、1 回ずつ使って並べてください",
                example=lambda: [s.lower() for s in ORDER],
                matches=lambda answer: (
                    _is_list(answer, len(ORDER)) and sorted(answer) != sorted(ORDER)
                ),
            ),
            Mistake(
                "インプット（投入する人やお金）と活動（実際に行うこと）の順番を見直しましょう。"
                "資源があって、はじめて活動ができます",
                example=lambda: _swapped(ORDER, 0, 1),
            ),
            Mistake(
                "アウトプット（活動の量）とアウトカム（相手に起きる変化）の順番を見直しましょう。"
                "教室を開いた回数や参加者数は、変化より先に数えられる「量」です",
                example=lambda: _swapped(ORDER, 2, 3),
            ),
            Mistake(
                "アウトカムとインパクトの順番を見直しましょう。参加した人の行動の変化が先で、まち全体の事故が減るのは"
                "その先の最終的な目標です",
                example=lambda: _swapped(ORDER, 3, 4),
            ),
        ],
    ),
]
