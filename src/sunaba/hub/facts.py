"""Find the machine-dependent facts the pure apply functions need."""

from __future__ import annotations

import os
from pathlib import Path

from sunaba.config.schema import SiteConfig
from sunaba.core.state import PROXY_TOKEN_KEY, StatePaths, read_secrets
from sunaba.hub.apply import HubFacts
from sunaba.hub.areas import gather_areas
from sunaba.sandbox.doctor import isolation_level

INSECURE_ENV = "SUNABA_INSECURE_DEMO"


class IsolationRefused(RuntimeError):
    pass


def detect_facts(config: SiteConfig, hub_config_dir: Path) -> HubFacts:
    mode = os.environ.get("SUNABA_SANDBOX_MODE") or isolation_level(config)
    if mode == "none" and os.environ.get(INSECURE_ENV) != "1":
        raise IsolationRefused(
            "No isolation is available for learners' servers (see `sunaba doctor`). "
            "Start with `sunaba up --insecure-demo` only for a throwaway demo."
        )
    stored = read_secrets(StatePaths.from_config(config))
    return HubFacts(
        sandbox_mode=mode,
        hub_config_dir=hub_config_dir,
        service_tokens=stored.get("service_tokens", {}),
        proxy_token=stored.get(PROXY_TOKEN_KEY, ""),
        cpu_count=len(os.sched_getaffinity(0)),
        memory_bytes=memory_bytes(),
        areas=gather_areas(config),
    )


def memory_bytes(meminfo: Path = Path("/proc/meminfo")) -> int:
    """The machine's memory (0 when it cannot be read)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
