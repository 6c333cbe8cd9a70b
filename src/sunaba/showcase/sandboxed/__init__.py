"""Scripts that run inside an app's sandbox, where `sunaba` itself is not importable.

The showcase service reads each script's source and runs it with `python -I -c SOURCE ARGS` as the
app's (or the author's) unprivileged account inside bubblewrap. So every module here may import
only the standard library and what the runtime venv has (voila, nbclient, playwright), and takes
all its input from its arguments and stdin. On Kubernetes the same scripts run in an app's pod
from the image's runtime, as `python -I -m sunaba.showcase.sandboxed.<name>`.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def script_source(name: str) -> str:
    """The source text of one of the scripts in this folder, e.g. `script_source("voila_app")`."""
    return (HERE / f"{name}.py").read_text(encoding="utf-8")
