"""A PostgreSQL server of a test's own (the machine's binaries, a scratch data directory, a free
loopback port), for drills that stop and restart the database without touching the machine's
server at 127.0.0.1:5432 that other tests use."""

from __future__ import annotations

import contextlib
import glob
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.hub import free_port


def server_binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise AssertionError("PostgreSQL's server programs are missing (Debian package postgresql)")
    return Path(found[-1]).parent


@dataclass
class PrivatePostgres:
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> None:
        command = [
            "runuser", "-u", "postgres", "--", str(server_binaries() / "pg_ctl"), "-D", str(self.root / "data"),
            "-l", str(self.root / "server.log"), "-w", "-t", "60", *args,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"pg_ctl {args[-1]} failed: {result.stderr}\n{log}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._ctl("-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop")


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="sunaba-test-pg-"))
    shutil.chown(root, "postgres", "postgres")
    server = PrivatePostgres(root=root, port=free_port())
    try:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(server_binaries() / "initdb"), "-D", str(root / "data"),
             "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True,
        )  # fmt: skip
        server.start()
        yield server
    finally:
        with contextlib.suppress(AssertionError):
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
