"""What the showcase tells people when something is refused: in Japanese, naming what and where."""

from __future__ import annotations


class ShowcaseError(Exception):
    """A request was refused. `message` is for people (Japanese); `details` for the page/API."""

    def __init__(self, message: str, status: int = 400, **details):
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details


PREVIOUS_STAYS = "公開中の版はそのまま表示されています。"

SNAPSHOT_REASONS = {
    "bad_path": "ノートブックの場所「{detail}」が正しくありません。ホームフォルダーの中のファイルを選んでください。",
    "not_found": "ノートブック「{detail}」が見つかりません。",
    "not_notebook": "「{detail}」はノートブック（.ipynb ファイル）ではありません。",
    "outside_home": "「{detail}」はホームフォルダーの外を指しているため、公開できません。",
    "too_large": "ノートブックとデータファイルの合計（{detail} バイト）が上限を超えています。",
    "too_many_files": "ノートブックが名前を挙げているファイルが多すぎます（上限 {detail} 個）。",
    "unreadable": "ノートブックを読み込めませんでした（{detail}）。",
    "bad_member": "ノートブックのファイル名「{detail}」は使えません。",
    "no_manifest": "ノートブックを読み込めませんでした。",
}

SKIPPED_REASONS = {
    "outside_home": "ホームフォルダーの外にあるため含めませんでした",
    "outside_folder": "ノートブックと同じフォルダー（またはその下）にないため含めませんでした",
    "symlink": "シンボリックリンク（別のファイルへの参照）のため含めませんでした",
    "too_large": "入れると合計の大きさが上限を超えるため含めませんでした",
    "not_used": (
        "コードの中に名前はありますが、ファイルを開いている場所が読み取れなかったため"
        '含めませんでした（pd.read_csv("ファイル名") のように、開く関数に直接名前を書くと含まれます）'
    ),
}


def left_out_lines(skipped: list[dict]) -> list[str]:
    """One Japanese line per file left out of a snapshot: its name and why."""
    return [
        f"「{item.get('path', '')}」: "
        + SKIPPED_REASONS.get(str(item.get("reason")), "含めませんでした")
        for item in skipped
    ]


def blamed_left_out(result: dict, skipped: list[dict]) -> list[dict]:
    """The left-out files a failed run's error names (a missing file, most often)."""
    text = " ".join(str(result.get(key, "")) for key in ("ename", "evalue", "traceback"))
    named = [item for item in skipped if str(item.get("path", "")) in text]
    if named:
        return named
    missing = "FileNotFoundError" in text or "No such file" in text
    return list(skipped) if missing else []


def snapshot_refused(code: str, detail: str) -> ShowcaseError:
    template = SNAPSHOT_REASONS.get(code, "ノートブックを読み込めませんでした（{detail}）。")
    return ShowcaseError(template.format(detail=detail), status=400, reason=code)


def check_failed(
    result: dict, cell_timeout: int, *, had_live: bool, skipped: list[dict] | None = None
) -> ShowcaseError:
    """The headless run failed: say which cell, what happened, and that nothing changed; when
    the error is about a file that was left out of the snapshot, say so and why."""
    kind = result.get("kind", "error")
    number = result.get("number")
    where = f"{number} 番目のコードセル" if number else "ノートブック"
    if kind == "timeout":
        what = f"{where}が制限時間（{cell_timeout} 秒）以内に終わりませんでした。無限ループになっていないか確かめてください。"
    elif kind == "dead":
        what = f"{where}の実行中にカーネルが止まりました（メモリの使いすぎの可能性があります）。"
    elif kind == "invalid":
        what = "ノートブックのファイルを読み込めませんでした（壊れている可能性があります）。"
    else:
        error = ": ".join(p for p in (result.get("ename"), result.get("evalue")) if p)
        what = f"{where}でエラーが起きました: {error}"
    blamed = blamed_left_out(result, skipped or [])
    if blamed:
        what += " このエラーは、公開に含めなかった次のファイルが原因と考えられます: " + "。".join(
            left_out_lines(blamed)
        )
    message = (
        "ブラウザーなしで最初から最後まで実行できなかったため、公開しませんでした。"
        f"{what}" + (f" {PREVIOUS_STAYS}" if had_live else "")
    )
    return ShowcaseError(
        message,
        status=422,
        reason=f"check_{kind}",
        cell=result.get("cell"),
        number=number,
        source=result.get("source", ""),
        ename=result.get("ename", ""),
        evalue=result.get("evalue", ""),
        traceback=result.get("traceback", ""),
        left_out=left_out_lines(skipped or []),
    )
