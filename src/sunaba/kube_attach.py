"""Talk to a container's stdin and stdout through the Kubernetes pods/attach API.

Grading pods, showcase app pods (their snapshot step) and showcase check pods all get their
input this way instead of over a network they do not have: the hub writes to the container's
stdin on the attach websocket (the API server reaches the container through the kubelet) and
reads what the container prints. Channel bytes as in Kubernetes' `v4.channel.k8s.io` protocol.
"""

from __future__ import annotations

from collections.abc import Callable

STDIN_CHANNEL, STDOUT_CHANNEL = 0, 1
SEND_CHUNK = 1 << 18


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
    import aiohttp

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
        for start in range(0, len(payload), SEND_CHUNK):
            await ws.send_bytes(bytes([STDIN_CHANNEL]) + payload[start : start + SEND_CHUNK])
        async for message in ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                continue
            if message.data[:1] == bytes([STDOUT_CHANNEL]):
                received += message.data[1:]
                if enough(received):
                    return
