"""Read an author's notebook and the files it names from their own running Jupyter server.

On Kubernetes an author's home is a volume of their own pod, which the showcase (in the hub pod)
cannot mount. So the showcase asks the author's server itself, through its contents API
(`/user/<name>/api/contents/...`), with the author's own OAuth token of the showcase (the
service's OAuth client is allowed `access:servers!user`, so the token opens only the author's
own server, never anyone else's) — never with an admin token.

The snapshot is the same uncompressed tar, with the same manifest, limits and refusal codes as
`sandboxed/snapshot_reader.py` writes on one machine, so the store unpacks both alike. What keeps
it inside the author's files:
- names are checked here before anything is asked: no absolute path, no `..` that leaves the
  notebook's folder, no NUL, at most `MAX_NAMED_FILES` files, `max_bytes` in total (sizes from
  the file models before any content is fetched, and each response body capped as well);
- the server answers 404 for a path that leaves its root (a lexical check) and for hidden files;
- the server does follow symlinks, but it runs as the author in the author's own pod: whatever
  it can read is what the author could read anyway (their volume, the read-only shared
  datasets), exactly what the one-machine reader, run as the author, is limited to.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
import tarfile
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlencode

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from sunaba.showcase.messages import ShowcaseError, snapshot_refused
from sunaba.showcase.sandboxed.snapshot_reader import (
    MANIFEST,
    MAX_DEPTH,
    MAX_LISTED,
    MAX_NAMED_FILES,
    named_files,
)

MAX_DIRECTORIES = 200  # folders visited to list notebooks: one request each
REQUEST_TIMEOUT = 60
NOT_RUNNING = (
    "JupyterLab が起動していないため、ノートブックを読めません。"
    "JupyterLab を起動してから、もう一度公開してください。"
)
NO_PERMISSION = (
    "JupyterLab のファイルを読む許可がありません。"
    "ショーケースからいったんログアウトし、もう一度ログインしてから公開してください。"
)
UNREACHABLE = "JupyterLab に接続できませんでした。少し待ってから、もう一度公開してください。"


class Refused(Exception):
    """A snapshot refusal with `snapshot_reader`'s codes (turned into Japanese by the caller)."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class AuthorServer:
    """The author's running server: where its API is and the token that opens it."""

    url: str  # e.g. http://proxy-public/user/alice/
    token: str

    def contents_url(self, path: str, **query) -> str:
        return f"{self.url.rstrip('/')}/api/contents/{quote(path)}?{urlencode(query)}"

    async def get(self, url: str, max_body: int = 1 << 20) -> dict:
        client = AsyncHTTPClient(force_instance=True, max_body_size=max_body)
        try:
            response = await client.fetch(
                url,
                headers={"Authorization": f"token {self.token}"},
                request_timeout=REQUEST_TIMEOUT,
                follow_redirects=False,
            )
        finally:
            client.close()
        return json.loads(response.body)

    async def model(self, path: str, **query) -> dict | None:
        """The contents model of `path`, or None if the server has no such (visible) file."""
        try:
            # A folder's listing of MAX_LISTED entries stays well under this.
            return await self.get(self.contents_url(path, **query), max_body=8 << 20)
        except HTTPClientError as exc:
            if exc.code == 404:
                return None
            raise

    async def file_bytes(self, path: str, size: int) -> bytes:
        # Base64 in JSON: a third more than the file, plus the model's other keys.
        url = self.contents_url(path, type="file", format="base64", content=1)
        found = await self.get(url, max_body=size * 4 // 3 + (64 << 10))
        if found.get("format") != "base64" or not isinstance(found.get("content"), str):
            raise Refused("unreadable", path)
        data = base64.b64decode(found["content"])
        if len(data) != size:  # changed while being read: the size check would not hold
            raise Refused("unreadable", path)
        return data


async def find_author_server(hub_api_url: str, servers_url: str, token: str) -> AuthorServer:
    """The author's default server, looked up with their own token (`GET /hub/api/user`)."""
    client = AsyncHTTPClient(force_instance=True)
    try:
        response = await client.fetch(
            f"{hub_api_url.rstrip('/')}/user",
            headers={"Authorization": f"token {token}"},
            request_timeout=30,
        )
    except HTTPClientError as exc:
        if exc.code in (401, 403):
            raise ShowcaseError(NO_PERMISSION, status=403, reason="no_server_access") from exc
        raise ShowcaseError(UNREACHABLE, status=502, reason="server_unreachable") from exc
    except OSError as exc:
        raise ShowcaseError(UNREACHABLE, status=502, reason="server_unreachable") from exc
    finally:
        client.close()
    model = json.loads(response.body)
    if "servers" not in model:  # a token issued before the showcase could read servers
        raise ShowcaseError(NO_PERMISSION, status=403, reason="no_server_access")
    server = (model["servers"] or {}).get("")
    if not server or not server.get("ready") or not server.get("url"):
        raise ShowcaseError(NOT_RUNNING, status=409, reason="server_not_running")
    return AuthorServer(servers_url.rstrip("/") + server["url"], token)


# -- names --------------------------------------------------------------------------------------


def checked_notebook_path(relative: str) -> str:
    """The same refusals as `snapshot_reader.resolve_notebook`, on the API path."""
    if not relative or relative.startswith("/") or "\x00" in relative or "\\" in relative:
        raise Refused("bad_path", relative)
    if ".." in relative.split("/"):
        raise Refused("bad_path", relative)
    if not relative.endswith(".ipynb"):
        raise Refused("not_notebook", relative)
    return posixpath.normpath(relative)


def inside_folder(folder: str, name: str) -> str | None:
    """`name` (relative to the notebook's folder) as an API path, or None if it leaves it."""
    if "\x00" in name or "\\" in name:
        return None
    joined = (
        posixpath.normpath(posixpath.join(folder, name)) if folder else posixpath.normpath(name)
    )
    if joined in (".", folder) or joined.startswith(("../", "/")) or joined == "..":
        return None
    if folder and not joined.startswith(folder + "/"):
        return None
    return joined


def leaves_home(folder: str, name: str) -> bool:
    joined = posixpath.normpath(posixpath.join(folder, name))
    return joined == ".." or joined.startswith(("../", "/"))


# -- listing and snapshot -------------------------------------------------------------------


async def list_notebooks(server: AuthorServer) -> list[dict]:
    """What `snapshot_reader`'s list mode gives: notebooks under the root, depth-limited."""
    found: list[dict] = []
    queue = [("", 0)]
    visited = 0
    while queue and visited < MAX_DIRECTORIES and len(found) < MAX_LISTED:
        path, depth = queue.pop(0)
        visited += 1
        listing = await server.model(path, type="directory", content=1)
        entries = sorted((listing or {}).get("content") or [], key=lambda e: e.get("name", ""))
        for entry in entries:
            name = entry.get("name", "")
            if name.startswith("."):
                continue
            if entry.get("type") == "directory":
                if depth < MAX_DEPTH:
                    queue.append((entry["path"], depth + 1))
            elif entry.get("type") == "notebook" and name.endswith(".ipynb"):
                found.append(
                    {
                        "path": entry["path"],
                        "size": entry.get("size") or 0,
                        "modified": epoch_seconds(entry.get("last_modified")),
                    }
                )
                if len(found) >= MAX_LISTED:
                    break
    return found


def epoch_seconds(iso: str | None) -> int:
    try:
        return int(datetime.fromisoformat(str(iso).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0


async def files_in(server: AuthorServer, directory: str, limit: int) -> list[tuple[str, int]]:
    """Regular, non-hidden files under a named folder, (path, size), at most `limit` + 1."""
    found: list[tuple[str, int]] = []
    queue = [directory]
    visited = 0
    while queue and len(found) <= limit:
        visited += 1
        if visited > MAX_DIRECTORIES:  # a tree of empty folders would cost a request each
            raise Refused("too_many_files", str(limit))
        listing = await server.model(queue.pop(0), type="directory", content=1)
        for entry in (listing or {}).get("content") or []:
            if entry.get("name", "").startswith("."):
                continue
            if entry.get("type") == "directory":
                queue.append(entry["path"])
            elif entry.get("size") is not None:
                found.append((entry["path"], int(entry["size"])))
    return found


async def collect(
    server: AuthorServer, notebook_path: str, notebook: dict
) -> tuple[dict[str, tuple[str, int]], list[dict]]:
    """({name in the snapshot: (API path, size)}, files named but left out)."""
    folder = posixpath.dirname(notebook_path)
    chosen: dict[str, tuple[str, int]] = {}
    skipped: list[dict] = []
    for name in named_files(notebook):
        path = inside_folder(folder, name)
        if path is None:
            reason = "outside_home" if leaves_home(folder, name) else "outside_folder"
            skipped.append({"path": name, "reason": reason})
            continue
        found = await server.model(path, content=0)
        if found is None:
            continue
        if found.get("type") == "directory":
            targets = await files_in(server, path, MAX_NAMED_FILES)
        elif found.get("size") is not None:
            targets = [(path, int(found["size"]))]
        else:
            continue
        for target, size in targets:
            chosen.setdefault(posixpath.relpath(target, folder or "."), (target, size))
        if len(chosen) + 1 > MAX_NAMED_FILES:
            raise Refused("too_many_files", str(MAX_NAMED_FILES))
    return chosen, skipped


async def snapshot_tar(server: AuthorServer, relative: str, max_bytes: int) -> bytes:
    """The notebook and the files it names, as `snapshot_reader` packs them."""
    notebook_path = checked_notebook_path(relative)
    found = await server.model(notebook_path, content=0)
    if found is None or found.get("type") == "directory":
        raise Refused("not_found", relative)
    size = int(found.get("size") or 0)
    if size > max_bytes:
        raise Refused("too_large", str(size))
    source = await server.file_bytes(notebook_path, size)
    try:
        notebook = json.loads(source.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refused("not_notebook", posixpath.basename(notebook_path)) from exc
    if not isinstance(notebook, dict) or "cells" not in notebook:
        raise Refused("not_notebook", posixpath.basename(notebook_path))
    others, skipped = await collect(server, notebook_path, notebook)
    name = posixpath.basename(notebook_path)
    others.pop(name, None)
    total = size + sum(size for _, size in others.values())
    if total > max_bytes:
        raise Refused("too_large", str(total))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        add_member(tar, name, source)
        for member, (path, file_size) in sorted(others.items()):
            add_member(tar, member, await server.file_bytes(path, file_size))
        manifest = {
            "notebook": name,
            "files": [name, *sorted(others)],
            "skipped": skipped,
            "bytes": total,
        }
        add_member(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False).encode())
    return out.getvalue()


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


async def read_snapshot(server: AuthorServer, relative: str, max_bytes: int) -> bytes:
    """`snapshot_tar` with the server's failures as the author reads them."""
    try:
        return await snapshot_tar(server, relative, max_bytes)
    except Refused as exc:
        raise snapshot_refused(exc.code, exc.detail) from exc
    except HTTPClientError as exc:
        raise server_error(exc) from exc
    except OSError as exc:
        raise ShowcaseError(UNREACHABLE, status=502, reason="server_unreachable") from exc


async def read_notebook_list(server: AuthorServer) -> list[dict]:
    try:
        return await list_notebooks(server)
    except HTTPClientError as exc:
        raise server_error(exc) from exc
    except OSError as exc:
        raise ShowcaseError(UNREACHABLE, status=502, reason="server_unreachable") from exc


def server_error(exc: HTTPClientError) -> ShowcaseError:
    if exc.code in (401, 403):
        return ShowcaseError(NO_PERMISSION, status=403, reason="no_server_access")
    if exc.code in (424, 503, 302):  # the hub answers for a server that stopped meanwhile
        return ShowcaseError(NOT_RUNNING, status=409, reason="server_not_running")
    if exc.code == 599:  # tornado: body over max_body_size, timeout, connection refused
        return ShowcaseError(UNREACHABLE, status=502, reason="server_unreachable")
    return ShowcaseError(f"ノートブックを読み込めませんでした（{exc.code}）。", status=502)
