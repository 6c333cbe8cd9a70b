"""Scripts that run inside an app's sandbox, where `sunaba` itself is not importable.

The showcase service reads each script's source and runs it with `python -I -c SOURCE ARGS` as the
app's (or the author's) unprivileged account inside bubblewrap. So every module here may import
only the standard library and what the runtime venv has (voila, nbclient, playwright), and takes
all its input from its arguments and stdin. On Kubernetes the same scripts run in an app's pod
from the image's runtime, as `python -I -m sunaba.showcase.sandboxed.<name>`.

A script may use a sibling module by a relative import (`from .app_kernels import ...`): its
`-c` source then carries the sibling's source too (see `BUNDLED`) and installs it, under a
package name of its own, before running the script.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
# Script -> the sibling modules it imports.
BUNDLED: dict[str, tuple[str, ...]] = {"voila_app": ("app_kernels",)}
PACKAGE = "sunaba_sandboxed"

_LOADER = """import sys, types
_package = types.ModuleType({package!r})
_package.__path__ = []
sys.modules[{package!r}] = _package
for _name, _text in {helpers!r}:
    _module = types.ModuleType({package!r} + "." + _name)
    sys.modules[_module.__name__] = _module
    exec(compile(_text, _name + ".py", "exec"), _module.__dict__)
    setattr(_package, _name, _module)
__package__ = {package!r}
exec(compile({main!r}, {script!r}, "exec"))
"""


def _read(name: str) -> str:
    return (HERE / f"{name}.py").read_text(encoding="utf-8")


def script_source(name: str) -> str:
    """The source text of one of the scripts in this folder, e.g. `script_source("voila_app")`,
    with the sibling modules it imports bundled in front."""
    helpers = BUNDLED.get(name, ())
    if not helpers:
        return _read(name)
    return _LOADER.format(
        package=PACKAGE,
        helpers=tuple((helper, _read(helper)) for helper in helpers),
        main=_read(name),
        script=f"{name}.py",
    )
