"""Showcase vs. plain `voila app.ipynb`: time to the first complete render, cold and warm, and
with 20 viewers at once; memory with 20 viewers. Both run in the same run, on the same machine,
with the same demo app (七尾市's shelters: a CSV, a slider and a matplotlib chart).

The showcase runs at its default limits (2G per app, kernels counted at `kernel_memory` each;
only the CPU limit is raised to the whole machine, as plain Voilà gets it): viewers past the
number of kernels that fit get the "busy" page, and the app's memory cgroup must report no
kernel killed for want of memory.

    sudo /opt/sunaba/venv/bin/python benchmarks/bench_showcase.py [--views 10] [--viewers 20]

"Complete render" is the whole HTML page received: Voilà sends a page only once every cell has
run, so this is the time until a viewer's browser has everything to show. The showcase is
measured as viewers reach it, through the hub's proxy and the showcase service (public app,
no login). Needs root (a real hub with sandboxed apps); leaves nothing running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.hub import PREFIX, SunabaHub  # noqa: E402
from tests.support.showcase import (  # noqa: E402
    SHELTERS_CSV,
    ShowcaseClient,
    ensure_spawned,
    put_file,
    shelters_app,
    sunaba_cli,
)

from sunaba.showcase.apphome import CGROUP_PARENT  # noqa: E402

KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')
MARKER = "BENCH"
REFILL_PAUSE = 4.0  # between warm views: what a pool needs to refill after a viewer takes a kernel
# Every wait is bounded: one view (a page streams until its last cell ran), one socket read, one
# server stop.
VIEW_DEADLINE = 300.0
READ_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


@dataclass
class View:
    seconds: float
    ok: bool
    kernel: str = ""
    status: int = 0
    busy: bool = False


@dataclass
class Results:
    name: str
    cold: float = 0.0
    warm: list[float] = field(default_factory=list)
    crowd: list[View] = field(default_factory=list)
    crowd_wall: float = 0.0
    memory_mib: float = 0.0
    oom_kills: int = 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def view(session: requests.Session, url: str) -> View:
    """One complete page, or a failed view once VIEW_DEADLINE has passed."""
    started = time.monotonic()
    try:
        # A fresh connection per view: Voilà's streamed pages and keep-alive do not always mix.
        with session.get(
            url, timeout=(10, READ_TIMEOUT), headers={"Connection": "close"}, stream=True
        ) as response:
            chunks = []
            for chunk in response.iter_content(chunk_size=65536):
                chunks.append(chunk)
                if time.monotonic() - started > VIEW_DEADLINE:
                    return View(time.monotonic() - started, False, status=response.status_code)
            text = b"".join(chunks).decode("utf-8", errors="replace")
    except requests.RequestException:
        return View(time.monotonic() - started, False)
    seconds = time.monotonic() - started
    match = KERNEL_ID.search(text)
    ok = response.status_code == 200 and MARKER in text and match is not None
    busy = response.status_code == 503 and "混雑" in text
    return View(seconds, ok, match.group(1) if match else "", response.status_code, busy)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- plain Voilà ---------------------------------------------------------------------------------


class PlainVoila:
    """`voila app.ipynb` with its defaults, as a team would run it by hand."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                str(PREFIX / "venv" / "bin" / "voila"),
                "app.ipynb",
                "--no-browser",
                f"--port={self.port}",
                "--Voila.ip=127.0.0.1",
            ],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_listening(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("voila did not start")

    def memory_mib(self) -> float:
        root = psutil.Process(self.proc.pid)
        total = 0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += proc.memory_info().rss
        return total / 2**20

    def stop(self) -> None:
        """Voilà and its kernels (which run in sessions of their own)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        family = [psutil.Process(self.proc.pid)]
        family += family[0].children(recursive=True)
        for proc in family:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_TIMEOUT)


def measure_plain(folder: Path, views: int, viewers: int) -> Results:
    """Stock behaviour: every view starts a kernel that stays until culled (stock Voilà's own
    shutdown-on-leave needs an XSRF cookie it never sets). Voilà is restarted before the crowd,
    so that memory counts the crowd's kernels only."""
    results = Results("plain voila")
    voila = PlainVoila(folder)
    try:
        started = time.monotonic()
        voila.start()
        voila.wait_listening()
        session = requests.Session()
        first = view(session, voila.url)
        results.cold = time.monotonic() - started
        assert first.ok, "plain voila: the first view failed"
        for _ in range(views):
            time.sleep(REFILL_PAUSE)
            results.warm.append(view(session, voila.url).seconds)
        voila.stop()
        voila.start()
        voila.wait_listening()
        results.crowd, results.crowd_wall, results.memory_mib = crowd(
            voila.url, viewers, voila.memory_mib
        )
    finally:
        voila.stop()
    return results


# -- the showcase --------------------------------------------------------------------------------


def cgroup_memory_mib(account: str) -> float:
    """Resident memory of every process of the app (its Voilà server, pool and viewers)."""
    procs = Path("/sys/fs/cgroup/pids") / CGROUP_PARENT / account / "cgroup.procs"
    total = 0
    for pid in procs.read_text().split():
        with contextlib.suppress(psutil.NoSuchProcess):
            total += psutil.Process(int(pid)).memory_info().rss
    return total / 2**20


def oom_kills(account: str) -> int:
    """Processes of the app the kernel killed for want of memory (its memory cgroup's count)."""
    for path in (
        Path("/sys/fs/cgroup/memory") / CGROUP_PARENT / account / "memory.oom_control",
        Path("/sys/fs/cgroup") / CGROUP_PARENT / account / "memory.events",
    ):
        if path.is_file():
            for line in path.read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
    raise RuntimeError(f"no memory cgroup with an OOM-kill count for {account}")


def measure_showcase(views: int, viewers: int) -> Results:
    results = Results("showcase")
    hub = SunabaHub(
        extra={
            "showcase": {
                # The same CPU as plain Voilà gets: the whole machine. Memory, kernel cap and
                # pool stay at their defaults.
                "cpu_limit": float(os.cpu_count() or 1),
                "thumbnails": False,
            }
        }
    )
    try:
        hub.start()
        author = hub.new_learner("bencher")
        sunaba_cli(hub, "teams", "create", "bench", "--members", "bencher")
        ensure_spawned(hub, author)
        put_file(hub, author, "app/data/shelters.csv", SHELTERS_CSV.read_text(encoding="utf-8"))
        put_file(hub, author, "app/app.ipynb", shelters_app(MARKER))
        client = ShowcaseClient(hub)
        published = client.publish(author, "app/app.ipynb", "ベンチ", "bench", visibility="public")
        assert published.status_code == 201, published.text
        app_id = published.json()["id"]
        url = f"{client.base}apps/{app_id}/"
        account = f"{hub.user_prefix}_app{app_id}"
        session = requests.Session()

        # Cold: the app's server starts (as after a hub restart) until a viewer has the page.
        started = time.monotonic()
        restarted = client.api("POST", f"apps/{app_id}/restore", author, json={"version": 1})
        assert restarted.status_code == 200, restarted.text
        first = view(session, url)
        results.cold = time.monotonic() - started
        assert first.ok, "showcase: the first view failed"
        client.shutdown_kernel(app_id, first.kernel)

        for _ in range(views):
            time.sleep(REFILL_PAUSE)
            one = view(session, url)
            results.warm.append(one.seconds)
            client.shutdown_kernel(app_id, one.kernel)
        time.sleep(REFILL_PAUSE)
        results.crowd, results.crowd_wall, results.memory_mib = crowd(
            url, viewers, lambda: cgroup_memory_mib(account)
        )
        results.oom_kills = oom_kills(account)
        for one in results.crowd:
            if one.kernel:
                client.shutdown_kernel(app_id, one.kernel)
    finally:
        hub.close()
    return results


def crowd(url: str, viewers: int, memory) -> tuple[list[View], float, float]:
    """`viewers` open the page at the same moment; memory is read while all their kernels run."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=viewers) as pool:
        done = list(pool.map(lambda _: view(requests.Session(), url), range(viewers)))
    wall = time.monotonic() - started
    return done, wall, memory()


# -- report --------------------------------------------------------------------------------------


def served_seconds(results: Results) -> list[float]:
    """Times of the views that got the whole app (busy pages and failures left out)."""
    return [one.seconds for one in results.crowd if one.ok] or [float("nan")]


def crowd_summary(results: Results) -> str:
    served = sum(1 for one in results.crowd if one.ok)
    busy = sum(1 for one in results.crowd if one.busy)
    failed = len(results.crowd) - served - busy
    return f"{results.name}: {served} served, {busy} busy page, {failed} failed"


def table(plain: Results, showcase: Results) -> str:
    def row(label: str, a: float, b: float, unit: str = "s") -> str:
        ratio = b / a if a else float("nan")
        return f"| {label:<34} | {a:>10.2f} {unit:<3} | {b:>10.2f} {unit:<3} | {ratio:>8.2f} |"

    crowd_plain, crowd_show = served_seconds(plain), served_seconds(showcase)
    n = len(plain.crowd)
    lines = [
        f"| {'time to complete render':<34} | {'plain voila':>14} | {'showcase':>14} | {'ratio':>8} |",
        f"|{'-' * 36}|{'-' * 16}|{'-' * 16}|{'-' * 10}|",
        row("cold: start to first page", plain.cold, showcase.cold),
        row(
            f"warm p50 ({len(plain.warm)} views, one at a time)",
            statistics.median(plain.warm),
            statistics.median(showcase.warm),
        ),
        row("warm p95", p(plain.warm, 0.95), p(showcase.warm, 0.95)),
        row(
            f"{n} viewers at once: p50 served",
            statistics.median(crowd_plain),
            statistics.median(crowd_show),
        ),
        row(f"{n} viewers at once: p95 served", p(crowd_plain, 0.95), p(crowd_show, 0.95)),
        row(f"{n} viewers at once: last page", plain.crowd_wall, showcase.crowd_wall),
        row(f"memory with {n} viewers", plain.memory_mib, showcase.memory_mib, "MiB"),
        "",
        f"{n} viewers at once: {crowd_summary(plain)}; {crowd_summary(showcase)}.",
        f"showcase at its default limits: kernels killed for want of memory: {showcase.oom_kills}.",
        "ratio = showcase / plain voila (below 1: the showcase is faster or smaller).",
        "Targets: showcase warm p50 at most 0.20 of plain voila's; with the crowd, every viewer",
        "gets the app or the busy page (none failed) and no kernel is killed for memory.",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=10, help="warm views, one at a time")
    parser.add_argument("--viewers", type=int, default=20, help="viewers at once")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the showcase needs a real hub with sandboxed apps", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="sunaba-bench-"))
    try:
        (folder / "data").mkdir()
        shutil.copyfile(SHELTERS_CSV, folder / "data" / "shelters.csv")
        (folder / "app.ipynb").write_text(shelters_app(MARKER), encoding="utf-8")
        print("measuring plain voila…", flush=True)
        plain = measure_plain(folder, args.views, args.viewers)
        print("measuring the showcase…", flush=True)
        showcase = measure_showcase(args.views, args.viewers)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    print(table(plain, showcase))
    return 0


if __name__ == "__main__":
    sys.exit(main())
