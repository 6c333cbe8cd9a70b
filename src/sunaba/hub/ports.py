"""Loopback ports for the hub's own services, derived from the state dir, and where a service
listens.

The same state dir gives the same port at every start (rendered files and logs stay readable),
and two hubs on one machine get different ones. When something already listens on the derived
port (another hub whose state dir hashed nearby), the next free block in the range is taken
instead of a service that cannot start. Picked once per process and state dir, so applying the
same config twice gives the same hub config.
"""

from __future__ import annotations

import hashlib
import os
import socket
from urllib.parse import urlsplit

_PICKED: dict[tuple[str, int, int, int], int] = {}


def _free(port: int) -> bool:
    with socket.socket() as sock:
        # What the services themselves set: a port left in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def derived_port(seed: str, low: int, span: int, count: int = 1) -> int:
    """First port of `count` consecutive free ports in [low, low + span), starting from the
    one `seed` hashes to."""
    key = (seed, low, span, count)
    if key not in _PICKED:
        slots = span - count + 1
        start = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big") % span
        start = min(start, slots - 1)
        chosen = low + start
        for step in range(slots):
            base = low + (start + step) % slots
            if all(_free(base + i) for i in range(count)):
                chosen = base
                break
        _PICKED[key] = chosen
    return _PICKED[key]


# Set by the hub in a service's environment where the service's URL names a host the service
# cannot bind: on Kubernetes the URL names the chart's `hub` Service in front of the hub pod.
LISTEN_ENV = "SUNABA_SERVICE_LISTEN"


def listen_address(service_url: str) -> tuple[str, int]:
    """(host, port) a hub service listens on: the host of its URL (loopback on one machine)
    unless the hub named another address in $SUNABA_SERVICE_LISTEN."""
    url = urlsplit(service_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    return os.environ.get(LISTEN_ENV) or url.hostname or "127.0.0.1", port
