"""Probes: test cells that must fail, run between a notebook's cells to catch a kernel that
hides failures.

A plain `assert` test cell is judged by what the learner's kernel reports, and the learner's
own cells run in that kernel first: an input transformer that rewrites asserts, a patched
`showtraceback` or a `sys.settrace` that skips lines would make a failing test look passed.
So, around every autograded test cell, the executor (another uid, see
`sunaba.grading.execute`) sends the kernel a probe straight through its kernel client: source
shaped like a grader's test, with fresh random names and values each time, whose last assert
is false. Its names are bound by a silent request just before and deleted by one just after,
so the learner's namespace ends as it was; the last error the kernel recorded
(`sys.last_value` and its kin, what `%tb` shows) is saved before and put back after. An honest
kernel answers with an `error` execute_reply and an `AssertionError` on its output channel;
anything else (a pass, another error, no answer) means the kernel was tampered with since the
last probe that failed as it should.

Test cells from that point on get an error output here (nbgrader scores them 0) and the
notebook says where (`metadata.sunaba_probes`); the grader account then flags those grades
for manual grading (`flag_for_manual_grading`, from `replay.FlagTampering`) and the report says why (`tampering_note`).

Only nbgrader, nbformat and the standard library are imported: grader accounts run this.
"""

from __future__ import annotations

import inspect
import random
import string
import time
from queue import Empty

METADATA_KEY = "sunaba_probes"  # the executed notebook's metadata: {"tampered_from": index}
TAMPERED = (
    "採点中に、テストの失敗を隠す細工が見つかりました（上から {position} 番目のセル以降）。"
    "このセル以降の自動採点の点数は 0 点とし、教員が手で確認します。"
)
_NAMES = ("answer", "result", "total", "count", "value", "data", "ans", "score", "mean", "df")
_MESSAGES = ("値が違います", "結果が正しくありません", "答えを確認してください")
_random = random.SystemRandom()
# What IPython sets when it shows an error (last_exc from Python 3.12).
_LAST_ERROR = ("last_type", "last_value", "last_traceback", "last_exc")


def is_autograded_test(cell) -> bool:
    """A graded code cell that is not an answer: nbgrader scores it by its outputs."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _name() -> str:
    return f"{_random.choice(_NAMES)}_{_random.choice(string.ascii_lowercase)}{_random.randrange(10, 1000)}"


def _message() -> str:
    return f', "{_random.choice(_MESSAGES)}"' if _random.random() < 0.5 else ""


def make_probe() -> tuple[str, list[str], list[str]]:
    """(setup, probes, names): `setup` binds some of `names`; each probe looks like a test cell
    over them, holds some true asserts and a false one: one at the top level (what an input
    transformer or a patched traceback hides), one inside a test function (where a tracer can
    jump over lines), in random order."""
    func, items, test = _name(), _name(), f"test_{_name()}"
    factor, offset = _random.randrange(2, 20), _random.randrange(100)
    values = [_random.randrange(100) for _ in range(_random.randrange(3, 8))]
    setup = f"def {func}(n):\n    return n * {factor} + {offset}\n{items} = {values!r}\n"
    x, y = _random.randrange(1, 100), _random.randrange(1, 100)
    true = [
        f"assert {func}({x}) == {x * factor + offset}",
        f"assert len({items}) == {len(values)}",
        f"assert {items}[0] == {values[0]}",
    ]
    false = [
        f"assert {func}({y}) == {y * factor + offset + _random.randrange(1, 9)}",
        f"assert sum({items}) == {sum(values) + _random.randrange(1, 30)}",
    ]

    def body() -> list[str]:
        lines = _random.sample(true, _random.randrange(1, len(true) + 1))
        return [*lines, _random.choice(false) + _message()]

    flat = "\n".join(body()) + "\n"
    inner = "".join(f"    {line}\n" for line in body())
    wrapped = f"def {test}():\n{inner}    return True\n\n{test}()\n"
    saved = _name()
    setup += f"{saved} = [getattr(__import__('sys'), n, None) for n in {_LAST_ERROR!r}]\n"
    return setup, _random.sample([flat, wrapped], 2), [func, items, test, saved]


def cleanup(names: list[str]) -> str:
    """Put back the last error saved in the last of a probe's names, and delete the names
    (the comprehension's own names stay in it: the learner's namespace keeps nothing)."""
    sys_module = "__import__('sys')"
    restore = (
        f"[{sys_module}.__dict__.pop(n, None) if v is None else setattr({sys_module}, n, v)"
        f" for n, v in zip({_LAST_ERROR!r}, {names[-1]})]\n"
    )
    return restore + f"del {', '.join(names)}\n"


async def _sent(value):
    return await value if inspect.isawaitable(value) else value


async def _message_of(channel, msg_id: str, until: float, alive) -> dict | None:
    """The next message on `channel` answering `msg_id`; None when time is up or the kernel
    died."""
    while time.monotonic() < until:
        try:
            msg = await _sent(channel.get_msg(timeout=min(1.0, until - time.monotonic())))
        except Empty:
            if not await alive():
                return None
            continue
        if msg.get("parent_header", {}).get("msg_id") == msg_id:
            return msg
    return None


async def probe_kernel(client, alive, timeout: float) -> str:
    """Run one round of probes: "honest" when the kernel reported every failure as it must,
    "tampered" when it reported anything else, "hung" when it did not finish in `timeout`
    seconds, "dead" when it died meanwhile. All requests go out at once (the kernel takes them
    in order), so a round costs about one round trip."""
    setup, probes, names = make_probe()
    # As nbclient sends a test cell for nbgrader (stop_on_error off), minus the history: the
    # learner's `In`, `_i` and execution counts stay as they were.
    await _sent(client.execute(setup, silent=True, store_history=False))
    sent = [
        await _sent(client.execute(probe, store_history=False, stop_on_error=False))
        for probe in probes
    ]
    await _sent(client.execute(cleanup(names), silent=True, store_history=False))
    until = time.monotonic() + timeout
    for msg_id in sent:
        outcome = await _one_probe(client, msg_id, until, alive)
        if outcome != "honest":
            return outcome
    return "honest"


async def _one_probe(client, msg_id: str, until: float, alive) -> str:
    reply = await _message_of(client.shell_channel, msg_id, until, alive)
    errors = []
    while reply is not None:
        msg = await _message_of(client.iopub_channel, msg_id, until, alive)
        if msg is None:
            break
        if msg.get("msg_type") == "error":
            errors.append(msg["content"].get("ename"))
        if msg.get("msg_type") == "status" and msg["content"].get("execution_state") == "idle":
            content = reply.get("content", {})
            failed = content.get("status") == "error" and content.get("ename") == "AssertionError"
            return "honest" if failed and errors == ["AssertionError"] else "tampered"
    return "hung" if await alive() else "dead"


def tampered_from(notebook: dict) -> int | None:
    """The cell index from which an executed notebook's kernel was found tampered with."""
    meta = notebook.get("metadata") if isinstance(notebook, dict) else None
    found = meta.get(METADATA_KEY) if isinstance(meta, dict) else None
    start = found.get("tampered_from") if isinstance(found, dict) else None
    return start if isinstance(start, int) and not isinstance(start, bool) else None


def tampering_note(name: str, notebook: dict) -> list[str]:
    """The instructor's report line for one executed notebook (none when it was honest)."""
    start = tampered_from(notebook)
    return [] if start is None else [f"{name}: {TAMPERED.format(position=start + 1)}"]


def flag_for_manual_grading(gradebook, cells, notebook: str, assignment: str, student: str):
    """Mark the autograded test cells among `cells` (those from the tampering point on) as
    needing manual grading; a manual score then replaces the autograded 0."""
    from nbgrader.api import MissingEntry

    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if not (grade_id and is_autograded_test(cell)):
            continue
        try:
            grade = gradebook.find_grade(grade_id, notebook, assignment, student)
        except MissingEntry:
            continue
        grade.needs_manual_grade = True
    gradebook.db.commit()
