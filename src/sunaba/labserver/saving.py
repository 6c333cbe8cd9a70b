"""Saving a learner's file when their disk is full: the save fails with a Japanese message, and
the file keeps its previous, complete content.

jupyter_server answers a save that hits ENOSPC (no space left) or EDQUOT (quota used up) with
"Unexpected error while saving file: ... [Errno 28] No space left on device", in English, and
its atomic writing truncates the file before writing the new content: when the new content only
fails once it is flushed (a small notebook sits in Python's buffer until then), the file is left
empty or cut short. This extension, loaded by the learners' Jupyter config (see
`sunaba.exchange.learner_files`), changes the server's contents manager so that

- a file is written to a temporary file beside it and renamed over it only once complete
  (fsynced), so a failed save leaves the previous version as it was;
- a save that fails for lack of space answers HTTP 507 with a Japanese `message`, which
  JupyterLab shows in its 「保存エラー」 dialog.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import os
import shutil
import sqlite3
import tempfile

from tornado import web

FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
SQLITE_FULL = 13  # "database or disk is full": the notebook signatures' database, in the home
DISK_FULL_MESSAGE = (
    "ディスクの空き容量がないため、「{path}」を保存できませんでした。"
    "ファイルは前回保存したときの内容のままです。"
    "不要なファイル（特に大きなファイル）を削除してから、もう一度保存してください。"
)


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def disk_full(error: BaseException | None) -> bool:
    """Whether `error`, or an error it was raised from, is ENOSPC, EDQUOT or SQLite's full
    disk."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in FULL_ERRNOS:
            return True
        if (
            isinstance(error, sqlite3.Error)
            and getattr(error, "sqlite_errorcode", 0) == SQLITE_FULL
        ):
            return True
        error = error.__cause__ or error.__context__
    return False


def _refusal(path: str, error: BaseException) -> web.HTTPError:
    # tornado formats a log message with `%`: a path's own "%" is shown full-width.
    message = DISK_FULL_MESSAGE.format(path=path.strip("/").replace("%", "％"))
    refusal = web.HTTPError(507, message, reason="Insufficient Storage")
    refusal.__cause__ = error
    return refusal


@contextlib.contextmanager
def replacing_writing(path: str, text: bool = True, encoding: str = "utf-8", log=None, **kwargs):
    """Write `path` through a temporary file in its folder, renamed over it when complete."""
    if os.path.islink(path):
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    folder = os.path.dirname(path) or os.getcwd()
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".~{os.path.basename(path)}.")
    try:
        if text:
            kwargs.setdefault("newline", "\n")
            handle = os.fdopen(fd, "w", encoding=encoding, **kwargs)
        else:
            handle = os.fdopen(fd, "wb", **kwargs)
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(path):
            with contextlib.suppress(OSError):
                shutil.copymode(path, tmp)
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _writing(manager, original):
    """`manager.atomic_writing`, through a temporary file where the folder may be written to
    (else, as jupyter_server does, straight into the file)."""

    @contextlib.contextmanager
    def writing(os_path, *args, **kwargs):
        folder = os.path.dirname(os_path) or os.getcwd()
        if not getattr(manager, "use_atomic_writing", True) or not os.access(folder, os.W_OK):
            with original(os_path, *args, **kwargs) as handle:
                yield handle
            return
        with manager.perm_to_403(os_path), replacing_writing(os_path, *args, **kwargs) as handle:
            yield handle

    return writing


def _saving(save):
    if inspect.iscoroutinefunction(save):

        @functools.wraps(save)
        async def saving(model, path="", *args, **kwargs):
            try:
                return await save(model, path, *args, **kwargs)
            except Exception as error:
                if disk_full(error):
                    raise _refusal(path, error) from error
                raise

        return saving

    @functools.wraps(save)
    def saving_sync(model, path="", *args, **kwargs):
        try:
            return save(model, path, *args, **kwargs)
        except Exception as error:
            if disk_full(error):
                raise _refusal(path, error) from error
            raise

    return saving_sync


def install(manager) -> None:
    """Change one contents manager (an instance, not its class)."""
    if hasattr(manager, "atomic_writing") and hasattr(manager, "perm_to_403"):
        manager.atomic_writing = _writing(manager, manager.atomic_writing)
    manager.save = _saving(manager.save)


def _load_jupyter_server_extension(serverapp):
    install(serverapp.contents_manager)
    serverapp.log.info("sunaba: saves that fail for lack of space answer in Japanese")
