"""Loopback ports for the hub's own services, derived from the state dir.

The same state dir gives the same port at every start (rendered files and logs stay readable),
and two hubs on one machine get different ones. When something already listens on the derived
port (another hub whose state dir hashed nearby), the next free block in the range is taken
instead of a service that cannot start. Picked once per process and state dir, so applying the
same config twice gives the same hub config.
"""

from __future__ import annotations

import hashlib
import socket

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
