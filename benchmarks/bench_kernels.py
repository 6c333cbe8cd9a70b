"""Kernels forked from a pre-imported forkserver against kernels started the ordinary way, on
the same hub build in one run (`sandbox.preload_kernels` on, then off).

For each: one learner, a warm-up kernel, then N kernels started one after another, each timed
from the kernel start request to the first result of
`import pandas as pd; pd.DataFrame({'a': [1, 2]}).sum()` (p50 / p95 / max); then the same N
started at once by that learner (one server, so one learner's CPU limit), and N learners
opening a notebook at the same moment (a class). Memory: PSS from
/proc/<pid>/smaps_rollup of each kernel (pages shared with the forkserver or other kernels
counted once in all), and of the forkserver, with all kernels running.
Usage: python benchmarks/bench_kernels.py [N]   (default: 8; run as root)
"""

from __future__ import annotations

import os
import pwd
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.hub import SunabaHub  # noqa: E402

FIRST_RESULT = "import pandas as pd; pd.DataFrame({'a': [1, 2]}).sum()"


def pss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def first_result(hub: SunabaHub, learner) -> float:
    started = time.monotonic()
    kernel = hub.start_kernel(learner)
    outcome = hub.execute(learner, kernel, FIRST_RESULT, 180)
    if outcome["status"] != "ok" or "3" not in (outcome["result"] or ""):
        raise RuntimeError(f"kernel failed: {outcome}")
    return time.monotonic() - started


def learner_processes(uid: int) -> tuple[list[int], list[int]]:
    """(kernels, forkservers) of one learner's account, seen from the host. Forked processes
    keep their parent's command line: the forkserver and its kernels are told by name."""
    kernels, forkservers = [], []
    for proc in psutil.process_iter(["uids", "cmdline", "name"]):
        if proc.info["uids"] is None or proc.info["uids"].real != uid:
            continue
        if proc.info["name"] == "sunaba-kernels":
            forkservers.append(proc.pid)
        elif proc.info["name"] == "ipykernel" or "ipykernel_launcher" in (
            proc.info["cmdline"] or []
        ):
            kernels.append(proc.pid)
    return kernels, forkservers


def percentile(values: list[float], share: float) -> float:
    done = sorted(values)
    return done[min(len(done) - 1, round(share * (len(done) - 1)))]


def one_learner(hub: SunabaHub, count: int) -> dict:
    """One learner's N kernels one after another, then (fresh server) N at once."""
    learner = hub.new_learner("bench")
    hub.spawn(learner)
    time.sleep(8)  # the server settles (and, with preload, its forkserver imports)
    first_result(hub, learner)  # warm-up: page cache, the forkserver's first fork
    one_by_one = [first_result(hub, learner) for _ in range(count)]
    kernels, forkservers = learner_processes(pwd.getpwnam(hub.account_of(learner)).pw_uid)
    memory = [pss(pid) for pid in kernels]
    server_side = sum(pss(pid) for pid in forkservers)
    hub.stop_server(learner)
    hub.spawn(learner)
    time.sleep(8)
    first_result(hub, learner)
    with ThreadPoolExecutor(max_workers=count) as pool:
        at_once = list(pool.map(lambda _: first_result(hub, learner), range(count)))
    hub.stop_server(learner)
    return {
        "p50": statistics.median(one_by_one),
        "p95": percentile(one_by_one, 0.95),
        "max": max(one_by_one),
        "at_once_p50": statistics.median(at_once),
        "at_once_p95": percentile(at_once, 0.95),
        "kernel_pss": statistics.mean(memory) if memory else float("nan"),
        "kernels_seen": len(memory),
        "forkserver_pss": server_side,
    }


def class_moment(hub: SunabaHub, count: int) -> dict:
    """N learners, servers running, each opens a notebook at the same moment."""
    learners = [hub.new_learner(f"class{i}") for i in range(count)]
    for learner in learners:
        hub.spawn(learner)
    time.sleep(10)
    with ThreadPoolExecutor(max_workers=count) as pool:
        times = list(pool.map(lambda learner: first_result(hub, learner), learners))
    return {"class_p50": statistics.median(times), "class_p95": percentile(times, 0.95)}


def measure(preload: bool, count: int) -> dict:
    sandbox = {"preload_kernels": preload}
    hub = SunabaHub(memory_limit="6G", max_processes=1024, extra={"sandbox": sandbox})
    try:
        hub.start()
        return {**one_learner(hub, count), **class_moment(hub, count)}
    finally:
        hub.close()


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 8
    if os.geteuid() != 0:
        print("run as root: the hub makes Unix accounts and sandboxes")
        return 1
    on, off = measure(True, count), measure(False, count)
    mib = 2**20
    print(f"\nkernel start -> first pandas result, {count} kernels (seconds):")
    print(f"{'':30}{'preloaded':>12}{'ordinary':>12}{'ratio':>8}")
    for key, label in (
        ("p50", "one by one, p50"),
        ("p95", "one by one, p95"),
        ("max", "one by one, max"),
        ("at_once_p50", f"{count} at once, p50"),
        ("at_once_p95", f"{count} at once, p95"),
        ("class_p50", f"{count} learners at once, p50"),
        ("class_p95", f"{count} learners at once, p95"),
    ):
        print(f"{label:30}{on[key]:>12.2f}{off[key]:>12.2f}{off[key] / on[key]:>7.1f}x")
    print(f"\nmemory, one learner's {count} kernels and the warm-up one running (PSS, MiB):")
    print(f"{'per kernel':30}{on['kernel_pss'] / mib:>12.1f}{off['kernel_pss'] / mib:>12.1f}")
    print(f"{'forkserver (once per server)':30}{on['forkserver_pss'] / mib:>12.1f}{0:>12.1f}")
    total_on = on["kernel_pss"] * on["kernels_seen"] + on["forkserver_pss"]
    total_off = off["kernel_pss"] * off["kernels_seen"]
    print(f"{'all kernels + forkserver':30}{total_on / mib:>12.1f}{total_off / mib:>12.1f}")
    print(f"(kernels found: {on['kernels_seen']} preloaded, {off['kernels_seen']} ordinary)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
