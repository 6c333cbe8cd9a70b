"""Run a snapshot's notebook from top to bottom, headless, the way Voilà will run it for a viewer.

Run inside the app's sandbox (no network, the snapshot read-only) with
`python -I -c SOURCE REQUEST_JSON`, request `{"notebook": PATH, "timeout": SECONDS}`.
Prints one JSON object: `{"ok": true}` or, for the first cell that fails,
`{"ok": false, "kind": "error"|"timeout"|"dead"|"invalid", "cell": INDEX, "number": N,
"source": …, "ename": …, "evalue": …, "traceback": …}` where N counts code cells from 1.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MAX_TEXT = 4000


def plain(text: str) -> str:
    text = ANSI.sub("", text)
    return (
        text if len(text) <= MAX_TEXT else text[: MAX_TEXT // 2] + "\n…\n" + text[-MAX_TEXT // 2 :]
    )


def failure(kind: str, index: int | None, number: int | None, cell=None, **extra) -> dict:
    source = ""
    if cell is not None:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
    return {
        "ok": False,
        "kind": kind,
        "cell": index,
        "number": number,
        "source": plain(source),
        **{key: plain(str(value)) for key, value in extra.items()},
    }


def check(path: Path, timeout: int) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # nbformat raises many kinds for a broken file
        return failure("invalid", None, None, ename=type(exc).__name__, evalue=exc)
    kernel = notebook.metadata.get("kernelspec", {}).get("name") or "python3"
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name=kernel,
        allow_errors=False,
        interrupt_on_timeout=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    number = 0
    index = None
    cell = None
    try:
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                number += 1
                client.execute_cell(cell, index)
    except CellTimeoutError as exc:
        return failure("timeout", index, number, cell, ename="TimeoutError", evalue=exc)
    except CellExecutionError as exc:
        return failure(
            "error",
            index,
            number,
            cell,
            ename=exc.ename,
            evalue=exc.evalue,
            traceback=exc.traceback,
        )
    except DeadKernelError as exc:
        return failure("dead", index, number, cell, ename="DeadKernelError", evalue=exc)
    except Exception as exc:  # a kernel that cannot start, a missing kernelspec, …
        return failure("error", index, number or None, cell, ename=type(exc).__name__, evalue=exc)
    return {"ok": True, "code_cells": number}


def main(argv: list[str]) -> int:
    request = json.loads(argv[1])
    result = check(Path(request["notebook"]), int(request["timeout"]))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
