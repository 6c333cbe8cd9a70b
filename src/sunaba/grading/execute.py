"""The two processes inside a grading sandbox: the learner's kernel and the executor that runs
the notebook against it.

Both are forked from the sandbox's PID 1 (see `sunaba.grading.sandbox`) and run as two
different throwaway uids. The kernel runs the learner's code; the executor is nbgrader's own
`Execute` preprocessor talking to that kernel over IPC sockets. Being another uid, the kernel
cannot signal, trace or write into the executor, so what the executor reports is what really
happened: a kernel that dies, hangs or floods its output is recorded as such, cell by cell, and
never as a pass.

Messages that end up in a learner's feedback are Japanese.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from sunaba.grading.probes import METADATA_KEY, TAMPERED, is_autograded_test, probe_kernel

# Error outputs the executor writes into cells; the trusted side scores them like any error.
TIMEOUT = "セルの実行が制限時間（{seconds}秒）を超えたため中断しました。このセルは不合格です"
KERNEL_DIED = (
    "カーネル（コードを実行するプロセス）が途中で停止しました。メモリの使いすぎや、"
    "プロセスを終了させるコードが原因です。このセルは不合格です"
)
NOT_RUN_AFTER_DEATH = "カーネルが停止したため、このセルは実行されませんでした（不合格）"
NOT_RUN_AFTER_DEADLINE = "ノートブック全体の制限時間（{seconds}秒）を超えたため、このセルは実行されませんでした（不合格）"
OUTPUT_CAPPED = "出力が上限（{limit}）を超えたため、ここから先の出力は省略しました"
SANDBOX_FAILED = "採点用の環境でこのノートブックを実行できませんでした: {reason}"


def error_output(ename: str, evalue: str) -> dict:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [f"{ename}: {evalue}"],
    }


def mark_code_cells(notebook: dict, start: int, ename: str, evalue: str) -> None:
    """Give every code cell from `start` on an error output (and no other output)."""
    for cell in notebook["cells"][start:]:
        if cell.get("cell_type") == "code":
            cell["outputs"] = [error_output(ename, evalue)]
            cell["execution_count"] = None


def human_size(size: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:g} {unit}"
    return f"{size} B"


# ----------------------------------------------------------------------------------------------
# The kernel


def connection_info(directory: str, key: str) -> dict:
    """IPC transport: the sandbox has no network at all, not even loopback."""
    return {
        "transport": "ipc",
        "ip": f"{directory}/kernel",
        "shell_port": 1,
        "iopub_port": 2,
        "stdin_port": 3,
        "control_port": 4,
        "hb_port": 5,
        "key": key,
        "signature_scheme": "hmac-sha256",
        "kernel_name": "python3",
    }


def _cap_streams(shell, limit: int) -> None:
    """Drop what a cell prints past `limit`, in the kernel itself: a loop printing gigabytes
    would otherwise bury the executor in messages and time out the cells after it. The budget
    starts again with every cell."""
    import sys

    left = [limit]
    shell.events.register("pre_run_cell", lambda *args: left.__setitem__(0, limit))

    def capped(original):
        def write(text):
            if left[0] <= 0:
                return len(text)
            if len(text) > left[0]:
                text = text[: left[0]] + "\n" + OUTPUT_CAPPED.format(limit=human_size(limit))
            left[0] -= len(text)
            return original(text)

        return write

    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        stream.write = capped(stream.write)


def run_kernel(connection_file: str, max_output: int) -> None:
    """Become an IPython kernel (the process has already dropped to the kernel's uid)."""
    from ipykernel.kernelapp import IPKernelApp

    # Group-writable sockets, so the executor (another uid, same group) can connect.
    os.umask(0o007)
    app = IPKernelApp.instance()
    app.initialize(["-f", connection_file, "--HistoryManager.hist_file=:memory:"])
    os.umask(0o022)
    # IPython keeps a copy of everything printed, for `%history -o`: a print loop would fill
    # the memory limit with it. Grading has no use for that history.
    app.shell._tee = lambda channel: contextlib.nullcontext()
    _cap_streams(app.shell, max(max_output // 4, 1024))
    app.start()


# ----------------------------------------------------------------------------------------------
# The executor


def _kernel_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b"Z", b"X")


def _client_class():
    import asyncio
    from queue import Empty

    from jupyter_client.asynchronous.client import AsyncKernelClient

    class QuickClient(AsyncKernelClient):
        """Ready as soon as the kernel answers and its output channel is connected; the stock
        client then waits 0.2 s more for stray startup messages, once per notebook."""

        async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (timeout or 60)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    try:
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass  # output channel not connected yet: ask again
                    else:
                        self._handle_kernel_info_reply(reply)
                        break
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError("Kernel didn't respond in time")
                await asyncio.sleep(0)
            while True:
                try:
                    await self.iopub_channel.get_msg(timeout=0.01)
                except Empty:
                    break

        wait_for_ready = _async_wait_for_ready

    return QuickClient


def _manager_class():
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Integer

    class SandboxKernelManager(AsyncKernelManager):
        """A kernel started by the sandbox, not by us: connect, interrupt by message, and
        tell whether its process still lives. Stopping it is the sandbox's job."""

        kernel_pid = Integer(0)

        @property
        def has_kernel(self) -> bool:
            return _kernel_alive(self.kernel_pid)

        async def start_kernel(self, **kwargs) -> None:
            return None  # already running; the connection info came from the sandbox

        async def _async_is_alive(self) -> bool:  # what clients call
            return _kernel_alive(self.kernel_pid)

        is_alive = _async_is_alive

        async def _async_interrupt_kernel(self) -> None:
            if self._control_socket is None:
                self._connect_control_socket()
            self.session.send(self._control_socket, self.session.msg("interrupt_request", {}))

        interrupt_kernel = _async_interrupt_kernel

        async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
            return None

        async def cleanup_resources(self, restart: bool = False) -> None:
            if self._control_socket is not None and not self._control_socket.closed:
                self._control_socket.close(linger=0)
            self._control_socket = None

    return SandboxKernelManager


class _OutputBudget:
    """What all cells of a notebook print, together, up to `max_output`; an error always
    passes (without it a failed test would look passed)."""

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        text = content.get("text")  # streams: the common case, measured without a copy
        size = len(text) if isinstance(text, str) else len(json.dumps(content))
        if msg.get("msg_type") != "error" and self.output_bytes + size > self.max_output:
            if cell_index not in self.capped_cells:
                self.capped_cells.add(cell_index)
                note = OUTPUT_CAPPED.format(limit=human_size(self.max_output))
                # stdout: nbgrader fails a test cell that wrote anything to stderr.
                outs.append(_node({"output_type": "stream", "name": "stdout", "text": note}))
            return None
        self.output_bytes += size
        return super().output(outs, msg, display_id, cell_index)


class _KernelProbes:
    """A probe (`sunaba.grading.probes`) before and after every autograded test cell. The
    first one the kernel does not fail as it must puts `tampered_from` at the first cell run
    since the last honest probe; no probe runs after that."""

    tampered_from: int | None = None
    unverified_from: int | None = None  # the first cell run since the last honest probe

    async def verify_kernel(self) -> None:
        if self.tampered_from is not None or self.unverified_from is None or self.stopped:
            return
        outcome = await probe_kernel(self.kc, self.km.is_alive, self.timeout)
        if outcome == "dead":
            return  # the next cell records the death
        if outcome != "honest":
            self.tampered_from = self.unverified_from
        if outcome == "hung":  # a kernel still busy with the probe would hold up every cell
            await self.km.interrupt_kernel()
        self.unverified_from = None


def _executor_class():
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync
    from nbgrader.preprocessors import Execute

    class SandboxExecute(_OutputBudget, _KernelProbes, Execute):
        """nbgrader's Execute with a per-notebook deadline, an output budget, a dead kernel
        recorded in the cell it died in and the cells after it, and probes for a kernel that
        hides failures."""

        def __init__(self, *, deadline: float, notebook_timeout: int, max_output: int, **kw):
            super().__init__(**kw)
            self.deadline = deadline
            self.notebook_timeout = notebook_timeout
            self.max_output = max_output
            self.output_bytes = 0
            self.capped_cells: set[int] = set()
            self.stopped: tuple[str, str] | None = None
            # {cell index: [start, end]} in CLOCK_MONOTONIC ns, shared with the judge outside:
            # the verdicts asked in between belong to that cell.
            self.windows: dict[int, list[int]] = {}
            self.timeout_message = TIMEOUT.format(seconds=self.timeout)

        async def async_execute_cell(self, cell, cell_index, execution_count=None, **kw):
            if cell.cell_type != "code" or not cell.source.strip():
                return await super().async_execute_cell(cell, cell_index, execution_count, **kw)
            if self.stopped is None and time.monotonic() > self.deadline:
                self.stopped = (
                    "NotebookTimeout",
                    NOT_RUN_AFTER_DEADLINE.format(seconds=self.notebook_timeout),
                )
            if self.stopped is not None:
                cell.outputs = [_node(error_output(*self.stopped))]
                return cell
            test = is_autograded_test(cell)
            if test:
                await self.verify_kernel()
            if self.unverified_from is None:
                self.unverified_from = cell_index
            started = time.monotonic_ns()
            try:
                await super().async_execute_cell(cell, cell_index, execution_count, **kw)
            except CellTimeoutError:  # the kernel answered but its output never settled
                cell.outputs.append(_node(error_output("CellTimeoutError", self.timeout_message)))
            except DeadKernelError:
                cell.outputs.append(_node(error_output("KernelDied", KERNEL_DIED)))
                self.stopped = ("KernelDied", NOT_RUN_AFTER_DEATH)
            finally:
                self.windows[cell_index] = [started, time.monotonic_ns()]
            if test:  # the learner's code it called may have tampered with the kernel
                await self.verify_kernel()
            return cell

        # The base class binds its own coroutine; the preprocessor calls this name.
        execute_cell = run_sync(async_execute_cell)

    return SandboxExecute


def mark_tampered(notebook, start: int) -> None:
    """An error output first in every autograded test cell from `start` on: nbgrader scores
    them 0, and the learner's feedback says why."""
    note = TAMPERED.format(position=start + 1)
    for cell in notebook.cells[start:]:
        if is_autograded_test(cell):
            cell.outputs = [_node(error_output("TamperingDetected", note)), *cell.outputs]


def _node(data: dict):
    from nbformat import from_dict

    return from_dict(data)


def execute_notebook(
    notebook: dict,
    *,
    connection: dict,
    kernel_pid: int,
    workdir: str,
    cell_timeout: int,
    notebook_timeout: int,
    max_output: int,
    windows: dict | None = None,
) -> dict:
    """Run every cell of `notebook` in the sandbox's kernel; returns the executed notebook.
    `windows`, when given, gets when each code cell started and ended (see `SandboxExecute`)."""
    import nbformat

    node = nbformat.reads(json.dumps(notebook), as_version=4)  # joins multi-line sources
    executor = _executor_class()(
        deadline=time.monotonic() + notebook_timeout,
        notebook_timeout=notebook_timeout,
        max_output=max_output,
        kernel_manager_class=_manager_class(),
        timeout=cell_timeout,
        startup_timeout=60,
        error_on_timeout={
            "ename": "CellTimeoutError",
            "evalue": TIMEOUT.format(seconds=cell_timeout),
            "traceback": ["CellTimeoutError: " + TIMEOUT.format(seconds=cell_timeout)],
        },
    )
    manager = executor.kernel_manager_class(kernel_pid=kernel_pid, client_factory=_client_class())
    # From the sandbox's PID 1, not from the file the kernel could rewrite.
    manager.load_connection_info(connection)
    try:
        executor.preprocess(node, {"metadata": {"path": workdir}}, km=manager)
    except RuntimeError as exc:  # the kernel never answered (it died while starting)
        mark_code_cells(notebook, 0, "KernelDied", f"{KERNEL_DIED}（{exc}）")
        notebook.setdefault("metadata", {})[METADATA_KEY] = {"tampered_from": None}
        return notebook
    finally:
        if windows is not None:
            windows.update(executor.windows)
    if executor.tampered_from is not None:
        mark_tampered(node, executor.tampered_from)
    # Always written, over whatever the submitted notebook held there.
    node.metadata[METADATA_KEY] = {"tampered_from": executor.tampered_from}
    return json.loads(nbformat.writes(node))


def execute_and_report(out: int, name: str, notebook: dict, **execution) -> None:
    """Execute `notebook` (see `execute_notebook`) and write `{"name", "notebook", "windows"}`
    as one JSON line to the descriptor `out`. An executor that fails itself marks every code
    cell, so the notebook can never be scored as passed."""
    windows: dict = {}
    try:
        executed = execute_notebook(notebook, windows=windows, **execution)
    except Exception as exc:  # the learner sees why; the details are the instructor's business
        reason = f"{type(exc).__name__}: {exc}"
        mark_code_cells(notebook, 0, "SandboxError", SANDBOX_FAILED.format(reason=reason))
        notebook.setdefault("metadata", {})[METADATA_KEY] = {"tampered_from": None}
        executed = notebook
    message = {"name": name, "notebook": executed, "windows": windows}
    data = (json.dumps(message, ensure_ascii=False) + "\n").encode()
    while data:
        data = data[os.write(out, data) :]
