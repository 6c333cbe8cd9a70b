"""HTTP and websocket clients that reach apps' Voilà servers through their Unix sockets.

Each running app process gets a made-up host name (`app-<id>-<tag>.sock`); the resolver maps it
to the socket file, so tornado's ordinary clients can be used unchanged. On Kubernetes an app runs
in a pod of its own and the made-up name maps to the pod's address and port instead.
"""

from __future__ import annotations

import socket

from tornado.httpclient import AsyncHTTPClient
from tornado.netutil import Resolver


class SocketResolver(Resolver):
    """Resolves registered host names to Unix socket paths, and nothing else."""

    def initialize(self, sockets: dict[str, str | tuple[str, int]]) -> None:
        self.sockets = sockets

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC):
        target = self.sockets.get(host)
        if target is None:
            raise OSError(f"no app socket registered for {host}")
        if isinstance(target, tuple):  # an app pod's (IP address, port)
            return [(socket.AF_INET6 if ":" in target[0] else socket.AF_INET, target)]
        return [(socket.AF_UNIX, target)]


class SocketDirectory:
    """The registry of app sockets, with one shared HTTP client."""

    def __init__(self) -> None:
        self.sockets: dict[str, str | tuple[str, int]] = {}
        self.resolver = SocketResolver(sockets=self.sockets)
        self.http = AsyncHTTPClient(force_instance=True, resolver=self.resolver, max_clients=256)

    def register(self, host: str, path: str) -> None:
        self.sockets[host] = path

    def register_address(self, host: str, address: str, port: int) -> None:
        self.sockets[host] = (address, port)

    def unregister(self, host: str) -> None:
        self.sockets.pop(host, None)
