"""Thumbnails of live apps for the gallery: a headless browser, run in the app's own sandbox,
opens the app through the service and takes a picture.

The browser is not a viewer: it shows a short-lived pass (header `THUMBNAIL_HEADER`) that lets it
see the app whatever the app's visibility, and only while its picture is being taken.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.showcase.app_records import AppRecords
from sunaba.showcase.apphome import AppHome
from sunaba.showcase.jobs import run_job
from sunaba.showcase.paths import ShowcasePaths
from sunaba.showcase.sandboxing import KUBERNETES, Identity, SandboxedRun, script_argv

log = logging.getLogger("sunaba.showcase")

THUMBNAIL_PASS_SECONDS = 180.0
THUMBNAIL_HEADER = "X-Sunaba-Thumbnail"
CHROMIUM = "/usr/bin/chromium"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_PICTURE_BYTES = 5 * 1024 * 1024


class Thumbnails:
    def __init__(
        self,
        config: SiteConfig,
        mode: str,
        paths: ShowcasePaths,
        records: AppRecords,
        app_url: Callable[[int], str],
    ):
        self.config = config
        self.mode = mode
        self.paths = paths
        self.records = records
        self.app_url = app_url  # the app's page, reached through the service
        self._passes: dict[int, tuple[str, float]] = {}

    def pass_ok(self, app_id: int, presented: str | None) -> bool:
        issued = self._passes.get(app_id)
        if not presented or issued is None or issued[1] < time.monotonic():
            return False
        return hmac.compare_digest(issued[0], presented)

    async def render(self, app_id: int, number: int) -> bool:
        if not self.config.showcase.thumbnails or not os.path.exists(CHROMIUM):
            return False
        if self.mode == KUBERNETES:
            return False
        if not self.records.is_live(app_id):  # unpublished meanwhile: its account is gone
            return False
        home = AppHome(self.config, app_id, self.mode)
        identity = await asyncio.to_thread(home.ensure)
        run_dir = home.new_run_dir(identity)
        secret = secrets.token_urlsafe(32)
        self._passes[app_id] = (secret, time.monotonic() + THUMBNAIL_PASS_SECONDS)
        try:
            data = await self._take_picture(app_id, home, identity, run_dir, secret)
            if data is None:
                return False
            target = self.paths.thumbnail(app_id, number)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            self.records.mark_thumbnail(app_id, number)
            return True
        finally:
            self._passes.pop(app_id, None)
            shutil.rmtree(run_dir, ignore_errors=True)

    async def _take_picture(
        self, app_id: int, home: AppHome, identity: Identity, run_dir: Path, secret: str
    ) -> bytes | None:
        """The PNG the browser took, or None if it took none (or something else)."""
        request = {
            "url": self.app_url(app_id),
            "out": str(run_dir / "thumbnail.png"),
            "chromium": CHROMIUM,
            "header": THUMBNAIL_HEADER,
        }
        job = await run_job(
            self.config,
            SandboxedRun(
                identity=identity,
                writable=run_dir,
                readonly=(str(self.paths.prefix),),
                network=True,
                cgroup=home.cgroup(),
            ),
            script_argv(self.config, "thumbnail", json.dumps(request)),
            timeout=150,
            stdin=(secret + "\n").encode(),
        )
        picture = run_dir / "thumbnail.png"
        if job.returncode != 0 or not picture.is_file():
            log.warning("thumbnail of app %s failed: %s", app_id, job.stderr[-500:])
            return None
        data = picture.read_bytes()
        if not data.startswith(PNG_MAGIC) or len(data) > MAX_PICTURE_BYTES:
            return None
        return data
