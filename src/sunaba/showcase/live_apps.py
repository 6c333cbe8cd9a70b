"""Keeping live apps' servers running: which runner starts them (processes on this machine or
pods on Kubernetes), bringing them up at service start, restarting the ones that died, and
removing what apps that are no longer live left behind.
"""

from __future__ import annotations

import asyncio
import logging

from sunaba.config.schema import SiteConfig
from sunaba.showcase.app_records import AppRecords
from sunaba.showcase.apphome import app_ids_with_a_home
from sunaba.showcase.paths import app_id_of
from sunaba.showcase.records import ShowcaseApp
from sunaba.showcase.runner import AppProcess, AppRunner, AppStartFailed
from sunaba.showcase.sandboxing import KUBERNETES
from sunaba.showcase.sockets import SocketDirectory

log = logging.getLogger("sunaba.showcase")


def make_runner(config: SiteConfig, mode: str, service_prefix: str, sockets: SocketDirectory):
    if mode == KUBERNETES:
        # Only a Kubernetes site runs apps in pods (the k8s extra's client).
        from sunaba.showcase.k8s_runner import PodAppRunner

        return PodAppRunner(config, service_prefix, sockets)
    return AppRunner(config, mode, service_prefix, sockets)


class LiveApps:
    def __init__(self, config: SiteConfig, mode: str, runner, records: AppRecords):
        self.config = config
        self.mode = mode
        self.runner = runner  # runner.AppRunner, or k8s_runner.PodAppRunner on Kubernetes
        self.records = records

    def process(self, app: ShowcaseApp) -> AppProcess | None:
        """The running server of a live app, or None while it (re)starts in the background."""
        process = self.runner.current(app.id)
        if process is not None and process.version == app.live_version:
            return process
        if app.live_version is not None and app.status == "live":
            self.runner.start_in_background(app.id, app.live_version, app.notebook)
        return process

    async def start_all(self) -> None:
        """At service start: bring every live app up, one after another."""
        for app in self.records.all():
            if app.status == "live" and app.live_version is not None:
                try:
                    await self.runner.start(app.id, app.live_version, app.notebook)
                except (AppStartFailed, OSError) as exc:
                    log.error("app %s could not start: %s", app.id, exc)

    async def supervise(self, every: float = 10.0) -> None:
        """Restart live apps whose server died (out of memory, killed by an admin)."""
        while True:
            await asyncio.sleep(every)
            for app in self.records.all():
                if app.status != "live" or app.live_version is None:
                    continue
                if self.runner.current(app.id) is None and app.id not in self.runner.failures:
                    self.runner.start_in_background(app.id, app.live_version, app.notebook)

    async def purge_leftovers(self) -> list[str]:
        """Remove the accounts, homes and cgroups of apps that are not live (left by a version
        of Sunaba that kept them, or by a service that died mid-publish); return the accounts.

        Apps whose lock is held (being published or restored right now) are left alone.
        """
        if self.mode == KUBERNETES:
            found = await self.runner.app_ids_with_pods()
        else:
            found = await asyncio.to_thread(app_ids_with_a_home, self.config, self.mode)
        for group in self.runner.all_groups():
            app_id = app_id_of(self.config, group.dirs[0].name)
            if app_id is not None:
                found.add(app_id)
        removed = []
        for app_id in sorted(found):
            if self.records.is_live(app_id) or self.runner.lock(app_id).locked():
                continue
            await self.runner.stop(app_id, purge=True)
            removed.append(self.runner.home(app_id).account)
        return removed
