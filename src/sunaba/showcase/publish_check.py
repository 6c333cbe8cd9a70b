"""The check before a version goes live: its notebook runs top to bottom, headless, in the
app's own sandbox (or, on Kubernetes, in a pod of its own); a failing cell stops the publish.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.showcase import store
from sunaba.showcase.app_records import AppRecords
from sunaba.showcase.apphome import AppHome
from sunaba.showcase.jobs import JobResult, run_job
from sunaba.showcase.k8s_pod_status import start_failure
from sunaba.showcase.messages import ShowcaseError, check_failed
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.sandboxing import KUBERNETES, SandboxedRun, script_argv

log = logging.getLogger("sunaba.showcase")

# Whatever the cell count, one check never holds the (single) heavy-job slot longer than this.
MAX_CHECK_SECONDS = 3600


class PublishCheck:
    def __init__(
        self, config: SiteConfig, mode: str, paths: ShowcasePaths, runner, records: AppRecords
    ):
        self.config = config
        self.mode = mode
        self.paths = paths
        self.runner = runner  # runner.AppRunner, or k8s_runner.PodAppRunner on Kubernetes
        self.records = records

    async def run(
        self, app_id: int, number: int, snapshot: store.Snapshot, *, had_live: bool
    ) -> None:
        """Run the notebook top to bottom in the app's own sandbox; raise with the failing cell."""
        timeout = self.config.showcase.cell_timeout
        cells = count_code_cells(snapshot.folder / snapshot.notebook)
        budget = min(timeout * (cells + 1) + 60, MAX_CHECK_SECONDS)
        if self.mode == KUBERNETES:
            result = await self._in_pod(app_id, snapshot, budget)
        else:
            result = await self._in_sandbox(app_id, number, snapshot, budget)
        if not result.get("ok"):
            raise check_failed(result, timeout, had_live=had_live, skipped=snapshot.skipped)

    async def _in_sandbox(
        self, app_id: int, number: int, snapshot: store.Snapshot, budget: int
    ) -> dict:
        home = AppHome(self.config, app_id, self.mode)
        identity = await asyncio.to_thread(home.ensure)
        deployed = await asyncio.to_thread(home.deploy, snapshot.folder, number)
        run_dir = home.new_run_dir(identity)
        group = home.cgroup()
        if group is not None:
            group.create(home.limits)
        request = {
            "notebook": str(deployed / snapshot.notebook),
            "timeout": self.config.showcase.cell_timeout,
        }
        try:
            job = await run_job(
                self.config,
                SandboxedRun(
                    identity=identity,
                    writable=run_dir,
                    readonly=(str(self.paths.prefix), str(deployed)),
                    limits=home.limits,
                    cgroup=group,
                ),
                script_argv(self.config, "headless_check", json.dumps(request)),
                timeout=budget,
            )
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        result = check_result(job)
        if not result.get("ok"):
            # The failed version's files go; the live one's stay for its server.
            live = self.records.get(app_id).live_version
            await asyncio.to_thread(home.prune, {live} if live else set())
        return result

    async def _in_pod(self, app_id: int, snapshot: store.Snapshot, budget: int) -> dict:
        # Imported here: the Kubernetes modules are needed only in that mode.
        from sunaba.showcase.k8s_check import PodCheck

        try:
            return await PodCheck(self.runner, self.config).run(
                app_id, snapshot.folder, snapshot.notebook, budget
            )
        except Exception as exc:  # the API refused or is unreachable: an admin's matter
            failure = start_failure(app_id, exc)
            if failure is None:
                raise
            log.error("check pod of app %s: %s", app_id, failure.log_tail)
            raise ShowcaseError(
                "公開前の確認を実行する環境を用意できませんでした。管理者に連絡してください。",
                status=500,
                reason="check_unavailable",
                log=failure.log_tail,
            ) from exc


def check_result(job: JobResult) -> dict:
    """The headless check's verdict: its last line of output, or why there is none."""
    if job.timed_out:
        return {"ok": False, "kind": "timeout", "number": None}
    try:
        return json.loads(job.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {
            "ok": False,
            "kind": "dead",
            "number": None,
            "evalue": job.stderr.decode(errors="replace")[-500:],
        }


def count_code_cells(path: Path) -> int:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        return sum(1 for cell in notebook.get("cells", []) if cell.get("cell_type") == "code")
    except (OSError, ValueError, AttributeError):
        return 1
