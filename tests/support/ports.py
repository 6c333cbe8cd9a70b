"""Loopback ports for tests that give a hub's servers a port range of their own."""

from __future__ import annotations

import random
import socket


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
