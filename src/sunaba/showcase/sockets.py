"""HTTP and websocket clients that reach apps' Voilà servers through their Unix sockets.

Each running app process gets a made-up host name (`app-<id>-<tag>.sock`); the resolver maps it
to the socket file, so tornado's ordinary clients can be used unchanged.
"""

from __future__ import annotations

import socket

from tornado.httpclient import AsyncHTTPClient
from tornado.netutil import Resolver


class SocketResolver(Resolver):
    """Resolves registered host names to Unix socket paths, and nothing else."""

    def initialize(self, sockets: dict[str, str]) -> None:
        self.sockets = sockets

    async def resolve(self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC):
        path = self.sockets.get(host)
        if path is None:
            raise OSError(f"no app socket registered for {host}")
        return [(socket.AF_UNIX, path)]


class SocketDirectory:
    """The registry of app sockets, with one shared HTTP client."""

    def __init__(self) -> None:
        self.sockets: dict[str, str] = {}
        self.resolver = SocketResolver(sockets=self.sockets)
        self.http = AsyncHTTPClient(force_instance=True, resolver=self.resolver, max_clients=256)

    def register(self, host: str, path: str) -> None:
        self.sockets[host] = path

    def unregister(self, host: str) -> None:
        self.sockets.pop(host, None)
