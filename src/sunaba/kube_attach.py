"""Talk to a container's stdin and stdout through the Kubernetes pods/attach API.

Grading pods (their learner's and their judge's container), showcase app pods (their snapshot
step) and showcase check pods all get their input this way instead of over a network they do
not have: the hub writes to the container's stdin on the attach websocket (the API server
reaches the container through the kubelet) and reads what the container prints. Channel bytes
as in Kubernetes' `v4.channel.k8s.io` protocol.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

STDIN_CHANNEL, STDOUT_CHANNEL = 0, 1
SEND_CHUNK = 1 << 18


class AttachedStream:
    """One open attach websocket: write to the container's stdin, read its stdout."""

    def __init__(self, ws):
        self.ws = ws

    async def send(self, payload: bytes) -> None:
        for start in range(0, len(payload), SEND_CHUNK):
            await self.ws.send_bytes(bytes([STDIN_CHANNEL]) + payload[start : start + SEND_CHUNK])

    async def read_into(self, received: bytearray, enough: Callable[[bytearray], bool]) -> None:
        """Add the container's stdout to `received` until the stream ends or `enough` says so."""
        import aiohttp

        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                continue
            if message.data[:1] == bytes([STDOUT_CHANNEL]):
                received += message.data[1:]
                if enough(received):
                    return


@contextlib.asynccontextmanager
async def attached(attach_api, pod: str, namespace: str, container: str) -> AsyncIterator:
    """An `AttachedStream` to `container`'s stdin and stdout, closed on the way out."""
    connection = await attach_api.connect_get_namespaced_pod_attach(
        pod,
        namespace,
        container=container,
        stdin=True,
        stdout=True,
        stderr=False,
        tty=False,
        _preload_content=False,
    )
    async with connection as ws:
        yield AttachedStream(ws)


async def attach_exchange(
    attach_api,
    pod: str,
    namespace: str,
    container: str,
    payload: bytes,
    received: bytearray,
    enough: Callable[[bytearray], bool] = lambda _data: False,
) -> None:
    """Send `payload` to the container's stdin, then add its stdout to `received` until the
    stream ends or `enough(received)` says so. `received` is the caller's, so that what came
    before a timeout or a dropped stream is kept."""
    async with attached(attach_api, pod, namespace, container) as stream:
        await stream.send(payload)
        await stream.read_into(received, enough)
