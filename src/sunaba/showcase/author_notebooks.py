"""Reading an author's notebooks from their home on this machine: the list to choose from and
the snapshot to publish.

The reading runs in a sandbox as the author (never as the service), with only their home
writable, so the showcase sees exactly what the author may read and nothing more. On Kubernetes
the homes are volumes of the learners' own pods and `author_server` reads them instead; the
snapshot stream is unpacked the same way here.
"""

from __future__ import annotations

import json
from pathlib import Path

from sunaba.config.schema import SiteConfig, parse_size
from sunaba.showcase import store
from sunaba.showcase.jobs import run_job
from sunaba.showcase.messages import ShowcaseError, snapshot_refused
from sunaba.showcase.paths import ShowcasePaths, learner_account, learner_home
from sunaba.showcase.sandboxing import Identity, SandboxedRun, script_argv


class AuthorNotebooks:
    def __init__(self, config: SiteConfig, mode: str, paths: ShowcasePaths):
        self.config = config
        self.mode = mode
        self.paths = paths

    @property
    def max_bytes(self) -> int:
        return parse_size(self.config.showcase.max_snapshot_size)

    async def listing(self, name: str) -> list[dict]:
        identity, home = self._author(name)
        request = json.dumps({"mode": "list", "home": str(home)})
        job = await run_job(
            self.config,
            self._reader_run(identity, home),
            script_argv(self.config, "snapshot_reader", request),
            timeout=30,
        )
        if job.returncode != 0:
            raise ShowcaseError("ノートブックの一覧を読めませんでした。", status=500)
        return json.loads(job.stdout)

    async def snapshot(self, name: str, relative: str) -> store.Snapshot:
        identity, home = self._author(name)
        max_bytes = self.max_bytes
        request = json.dumps(
            {"mode": "snapshot", "home": str(home), "notebook": relative, "max_bytes": max_bytes}
        )
        job = await run_job(
            self.config,
            self._reader_run(identity, home),
            script_argv(self.config, "snapshot_reader", request),
            timeout=60,
        )
        if job.timed_out:
            raise ShowcaseError("ノートブックの読み込みが時間内に終わりませんでした。", 504)
        if job.returncode != 0:
            try:
                refusal = json.loads(job.stderr.decode(errors="replace").strip().splitlines()[-1])
            except (ValueError, IndexError):
                refusal = {
                    "error": "unreadable",
                    "detail": job.stderr.decode(errors="replace")[-200:],
                }
            raise snapshot_refused(refusal.get("error", "unreadable"), refusal.get("detail", ""))
        return self.unpacked(job.stdout, max_bytes)

    def unpacked(self, stream: bytes, max_bytes: int) -> store.Snapshot:
        """The snapshot stream, unpacked into a new staging folder of the store."""
        staging = store.new_staging(self.paths)
        try:
            return store.unpack(stream, staging, max_bytes)
        except store.SnapshotRejected as exc:
            store.discard(staging)
            raise snapshot_refused(exc.code, exc.detail) from exc

    def _author(self, name: str) -> tuple[Identity, Path]:
        home = learner_home(self.config, name)
        if self.mode == "full":
            import pwd

            try:
                entry = pwd.getpwnam(learner_account(self.config, name))
            except KeyError:
                entry = None
            if entry is None or not home.is_dir():
                raise ShowcaseError(
                    "ホームフォルダーがまだありません。一度 JupyterLab を起動してから公開してください。",
                    status=409,
                    reason="no_home",
                )
            return Identity(entry.pw_uid, entry.pw_gid, entry.pw_name), home
        if not home.is_dir():
            raise ShowcaseError("ホームフォルダーがまだありません。", status=409, reason="no_home")
        return Identity(name=name), home

    def _reader_run(self, identity: Identity, home: Path) -> SandboxedRun:
        return SandboxedRun(identity=identity, writable=home, readonly=(str(self.paths.prefix),))
