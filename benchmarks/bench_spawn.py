"""Login storm: N learners start their servers at the same moment, on Sunaba's SandboxSpawner
and on stock LocalProcessSpawner (same Unix users, no sandbox), in one run.

Reports p50 / p95 / max of request→ready, failures, and memory per active learner (the
learner's server plus one kernel with pandas imported, summed as PSS over the learner's
processes, so that pages shared between processes are counted once across all learners; for
Sunaba plus an equal share of the fast-start server, whose pages they share).
Usage: python benchmarks/bench_spawn.py [N ...]   (default: 20 40)
"""

from __future__ import annotations

import contextlib
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.stock import READY_TIMEOUT, StockHub  # noqa: E402
from tests.support.hub import SunabaHub  # noqa: E402

MEMORY_SAMPLE = 10


def spawn_and_wait(api, name: str) -> float | None:
    """Seconds from the first request to a ready server; None when it failed. A 429 (the hub's
    concurrent spawn limit) is asked again after a few seconds, as the hub's waiting page does,
    and the wait counts."""
    started = time.monotonic()
    response = api("POST", f"/users/{name}/server")
    while response.status_code == 429 and time.monotonic() - started < READY_TIMEOUT:
        time.sleep(random.uniform(2, 5))
        response = api("POST", f"/users/{name}/server")
    if response.status_code not in (201, 202):
        return None
    while time.monotonic() - started < READY_TIMEOUT:
        server = api("GET", f"/users/{name}").json().get("servers", {}).get("")
        if server and server.get("ready"):
            return time.monotonic() - started
        if server is None and time.monotonic() - started > 5:
            return None  # the spawn failed and the server is gone
        # Once a second, like the spawn page's progress stream; faster polling by 40 clients
        # would load the hub more than the spawns themselves.
        time.sleep(1.0)
    return None


def storm(api, names: list[str]) -> list[float | None]:
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(lambda n: spawn_and_wait(api, n), names))


def user_token(api, name: str) -> str:
    response = api("POST", f"/users/{name}/tokens", json={"expires_in": 3600})
    response.raise_for_status()
    return response.json()["token"]


def start_pandas_kernel(url: str, api, name: str, token: str | None = None) -> None:
    from tests.support.hub import Learner, SunabaHub

    learner = Learner(name=name, password="", token=token or user_token(api, name))
    runner = SunabaHub.__new__(SunabaHub)  # only its kernel helpers, bound to this URL
    runner.url, runner.port = url, int(url.rsplit(":", 1)[1])
    outcome = runner.run(learner, "import pandas as pd; pd.DataFrame({'a': range(1000)}).sum()")
    if outcome["status"] != "ok":
        raise RuntimeError(f"kernel for {name}: {outcome}")


def memory_of(unix_user: str) -> int:
    total = 0
    for proc in psutil.process_iter(["username"]):
        if proc.info["username"] == unix_user:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_full_info().pss
    return total


def summarise(times: list[float | None]) -> dict:
    done = sorted(t for t in times if t is not None)
    if not done:
        return {"p50": float("nan"), "p95": float("nan"), "max": float("nan"), "failed": len(times)}
    p95 = done[min(len(done) - 1, round(0.95 * (len(done) - 1)))]
    return {
        "p50": statistics.median(done),
        "p95": p95,
        "max": done[-1],
        "failed": len(times) - len(done),
    }


def stop_all(api, names):
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: api("DELETE", f"/users/{n}/server"), names))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if not any(api("GET", f"/users/{n}").json().get("servers") for n in names):
            return
        time.sleep(1)


def zygote_memory(state_dir: Path) -> int:
    """PSS of the fast-start server (root, one per machine), whose pages every learner's
    server, forkserver and kernel share: its share belongs in the cost per learner."""
    socket_path = str(state_dir / "zygote.sock")
    total = 0
    # Root's only: every process forked from it (learners' too) keeps its command line.
    for proc in psutil.process_iter(["cmdline", "uids"]):
        if proc.info["uids"].real == 0 and socket_path in (proc.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):
                total += proc.memory_full_info().pss
    return total


def measure(label, api, url, names, unix_of, tokens=None, machine_wide=None) -> dict:
    times = storm(api, names)
    row = summarise(times)
    sample = [n for n, t in zip(names, times, strict=True) if t is not None][:MEMORY_SAMPLE]
    tokens = tokens or {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: start_pandas_kernel(url, api, n, tokens.get(n)), sample))
    time.sleep(2)
    per_learner = [memory_of(unix_of(n)) for n in sample]
    shared = machine_wide() / len(names) if machine_wide else 0
    row["mib"] = (statistics.mean(per_learner) + shared) / 2**20 if per_learner else float("nan")
    stop_all(api, names)
    print(
        f"  {label:8} n={len(names):3}  p50 {row['p50']:6.1f} s  p95 {row['p95']:6.1f} s  "
        f"max {row['max']:6.1f} s  failed {row['failed']}  memory/learner {row['mib']:5.0f} MiB",
        flush=True,
    )
    return row


def main(sizes: list[int]) -> int:
    if os.geteuid() != 0:
        print("bench_spawn needs root (real Unix users)")
        return 1
    sunaba = SunabaHub(memory_limit="1G", max_processes=256, extra={"culler": {"enabled": False}})
    stock = None
    sunaba_rows, results = {}, []
    try:
        sunaba.start()
        for n in sizes:
            names = [f"u{n:02d}x{i:02d}" for i in range(n)]
            # Learners sign up, are approved and log in through the pages, as people would.
            tokens = {n: sunaba.new_learner(n).token for n in names}
            sunaba_rows[n] = measure(
                "sunaba",
                sunaba.api,
                sunaba.url,
                names,
                lambda x: sunaba.user_prefix + x,
                tokens,
                machine_wide=lambda: zygote_memory(sunaba.state_dir),
            )
        # Sunaba's network rules (on, as on a real site) would refuse the stock servers, which
        # run as the same sandbox uids, their own hub: the stock phase starts once they are gone.
        sunaba.stop()
        stock = StockHub(sunaba.root)
        for n in sizes:
            # Same Unix users for stock: the accounts SandboxSpawner made.
            unix_names = [f"{sunaba.user_prefix}u{n:02d}x{i:02d}" for i in range(n)]
            stock.api("POST", "/users", json={"usernames": unix_names})
            row_k = measure("stock", stock.api, stock.url, unix_names, lambda x: x)
            results.append((n, sunaba_rows[n], row_k))
    finally:
        if stock is not None:
            stock.close()
        sunaba.close()
    print("\nlogin storm (request → server ready), Sunaba vs stock LocalProcessSpawner")
    print(
        "| learners | Sunaba p50 | Sunaba p95 | stock p50 | stock p95 | p95 ratio | failures S/K "
        "| MiB/learner S/K |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n, s, k in results:
        print(
            f"| {n} | {s['p50']:.1f} s | {s['p95']:.1f} s | {k['p50']:.1f} s | {k['p95']:.1f} s "
            f"| {s['p95'] / k['p95']:.2f} | {s['failed']}/{k['failed']} | "
            f"{s['mib']:.0f}/{k['mib']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main([int(a) for a in sys.argv[1:]] or [20, 40]))
