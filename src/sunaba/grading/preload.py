"""What kernels and executors import, once, in the process that forks them: each kernel then
starts in milliseconds instead of a second. Both backends use it (the local pool before it forks
its sandboxes, the program in a grading pod before it forks its kernels)."""

from __future__ import annotations

import contextlib
import importlib
import os

PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "IPython.core.interactiveshell",
    "jupyter_client.manager",
    "nbclient",
    "nbformat",
    "nbgrader.preprocessors",
    "numpy",
    "pandas",
    "sunaba.datasets",
    "sunaba.checks",
    "sunaba.checks.autograde",
    "sunaba.checks.grader",
    "sunaba.checks.judge_service",
    "sunaba.checks.wire",
    "pyarrow",
    "sunaba.grading.execute",
)


def preload() -> None:
    """Import what kernels and executors need, once, before any fork."""
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
