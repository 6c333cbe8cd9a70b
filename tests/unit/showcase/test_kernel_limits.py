"""How many viewers' kernels an app runs (from its memory) and the config that cannot hold one;
what a kernel started is killed with it (real processes, found by their tag or session)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from sunaba.config.loader import ConfigError, validate
from sunaba.config.schema import SiteConfig
from sunaba.showcase.sandboxed import app_kernels


def showcase(**values):
    return validate({"showcase": values}, "site.yaml").showcase


def test_the_kernel_cap_follows_the_memory():
    # Defaults: 5G, less the Voilà server (256M), is 24 kernels of 200M; 2 are the preheated
    # pool, and max_kernels (20) bounds the rest: a crowd of 20 is served at the defaults.
    assert SiteConfig().showcase.viewer_kernels() == 20
    assert showcase(memory_limit="2G").viewer_kernels() == 6
    assert showcase(memory_limit="6G").viewer_kernels() == 20  # max_kernels bounds it
    assert showcase(memory_limit="6G", max_kernels=5).viewer_kernels() == 5
    assert showcase(memory_limit="1G", pool_size=1).viewer_kernels() == 2
    assert showcase(memory_limit="2G", kernel_memory="400M", pool_size=0).viewer_kernels() == 4


def test_a_memory_that_holds_no_viewer_is_refused_naming_the_keys():
    with pytest.raises(ConfigError) as caught:
        showcase(memory_limit="600M")
    problem = caught.value.problems[0]
    assert problem.source == "site.yaml" and problem.path == "showcase"
    for key in ("showcase.memory_limit", "showcase.kernel_memory", "showcase.pool_size"):
        assert key in problem.message
    assert "1 つも動かせません" in problem.message and "856M 以上にするか" in problem.message
    with pytest.raises(ConfigError):
        showcase(kernel_memory="2G")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_reap_kills_what_carries_the_kernels_tag_also_outside_its_session():
    kernel = str(uuid.uuid4())
    env = {**os.environ, app_kernels.TAG: kernel}
    mine = [
        subprocess.Popen(["sleep", "4321"], env=env),
        subprocess.Popen(["sleep", "4321"], env=env, start_new_session=True),
    ]
    other = subprocess.Popen(["sleep", "4321"], env={**env, app_kernels.TAG: str(uuid.uuid4())})
    try:
        asyncio.run(app_kernels.reap(kernel))
        for proc in mine:
            proc.wait(timeout=10)
        assert other.poll() is None, "a process of another kernel was killed"
    finally:
        for proc in [*mine, other]:
            proc.kill()
            proc.wait(timeout=10)


def test_reap_kills_the_kernels_session_even_without_the_tag():
    leader = subprocess.Popen(
        ["sh", "-c", "sleep 4321 & sleep 4321 & echo started; wait"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert leader.stdout.readline() == b"started\n"
        children_file = Path(f"/proc/{leader.pid}/task/{leader.pid}/children")
        children = [int(pid) for pid in children_file.read_text().split()]
        assert len(children) == 2
        asyncio.run(app_kernels.reap(str(uuid.uuid4()), session=leader.pid))
        assert wait_gone([leader.pid, *children]) == []
    finally:
        leader.kill()
        leader.wait(timeout=10)
