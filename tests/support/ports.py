"""Loopback ports for tests that give a hub's servers a port range of their own."""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import tempfile
from pathlib import Path


def free_port_block(span: int) -> int:
    """First of `span` consecutive loopback ports nothing listens on, below the ranges hubs
    derive their services' ports from (20000 and up) and the ephemeral ones."""
    for _ in range(200):
        low = random.randrange(10000, 20000 - span)
        try:
            for port in range(low, low + span):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return low
    raise AssertionError("no block of free loopback ports")


@contextlib.contextmanager
def hub_with_port_range(span: int, **hub_kwargs):
    """A running SunabaHub whose servers get `span` ports of their own (a raw JupyterHub
    setting in the hub's extra config folder); yields (hub, first port). `hub_kwargs["extra"]`
    may add site settings; the hub section gains `extra_config_dir`."""
    from tests.support.hub import SunabaHub

    low = free_port_block(span)
    extra = Path(tempfile.mkdtemp(prefix="sunaba-test-ports-"))
    extra.chmod(0o755)
    rule = extra / "50-ports.py"
    rule.write_text(f"c.SandboxSpawner.port_range = ({low}, {low + span - 1})\n")
    rule.chmod(0o644)
    site = dict(hub_kwargs.pop("extra", {}))
    site["hub"] = {**site.get("hub", {}), "extra_config_dir": str(extra)}
    test_hub = SunabaHub(extra=site, **hub_kwargs)
    try:
        test_hub.start(timeout=600)
        yield test_hub, low
    finally:
        test_hub.close()
        shutil.rmtree(extra, ignore_errors=True)
