"""Where a learner's server listens, and making sure it is its own: the address (the learner's
own, `addresses.py`), the port (tried in order through a range, skipping held ones), and the
check that the socket listening there is the server's before the hub routes to it
(`ports.port_owner`). A mixin of SandboxSpawner, which provides the attempt itself
(`_start_once`, `_attempt_running`, `_attempt_pids`, `_end_attempt`) and the account."""

from __future__ import annotations

import asyncio
import pwd
import time

from jupyterhub.utils import random_port
from traitlets import Bool, HasTraits, Integer, Tuple

from sunaba.sandbox.addresses import server_address
from sunaba.sandbox.ports import can_listen, port_owner, range_candidate

# Ports handed to this hub's live servers (a range is tried in order, skipping these), and
# when a server last failed to listen on a port (such ports are tried last for a while).
PORTS_IN_USE: set[int] = set()
PORTS_FAILED: dict[int, float] = {}


class PortUnavailable(RuntimeError):
    """No port could be listened on (message in Japanese, shown on the learner's spawn page)."""


class ServerEndpoint(HasTraits):
    port_range = Tuple(
        Integer(),
        Integer(),
        default_value=(0, 0),
        help="Loopback ports servers may listen on, first and last; (0, 0): any free port.",
    ).tag(config=True)
    bind_attempts = Integer(
        8, help="Ports tried, one after another, when a server cannot listen on its port."
    ).tag(config=True)
    own_address = Bool(
        True,
        help="With full isolation, each server listens on a loopback address of its own "
        "(sandbox/addresses.py) instead of `ip`; only its learner can answer there.",
    ).tag(config=True)

    async def _start_on_own_port(self):
        """Start the server on a port, and return only once its own socket listens there.
        A server that cannot listen (another process holds the port) is started again on
        another port; one that listens beside another's socket is stopped and moved too."""
        token = self.api_token  # poll() during the attempts may clear it with a dead attempt
        self.ip = address_ip = self._listen_ip()
        fixed = self._configured_port()
        tried: list[int] = []
        for _ in range(1 if fixed else max(1, self.bind_attempts)):
            port = fixed or await self._next_port(tried, address_ip)
            if not port:
                break
            self.port, self.api_token = port, token
            tried.append(port)
            address = await self._start_once()
            outcome = await self._await_listener(address[0])
            if outcome == "ours":
                PORTS_IN_USE.add(port)
                PORTS_FAILED.pop(port, None)
                return address
            name = self.user.name
            self.log.warning("%s's server could not listen on port %s (%s)", name, port, outcome)
            PORTS_FAILED[port] = time.monotonic()
            await self._end_attempt()
        self.port = 0
        raise PortUnavailable(
            "学習用サーバーを起動できませんでした。ポート "
            f"{', '.join(str(p) for p in tried) or '（空きなし）'} "
            "で待ち受けを始められませんでした（ほかのプロセスが使っているか、サーバーが起動の"
            "途中で止まりました）。少し待ってからもう一度起動してください。続く場合は管理者に"
            "連絡してください"
        )

    def _listen_ip(self) -> str:
        """The learner's own address (full isolation), else the configured one."""
        if self.own_address and self.sandbox_mode == "full":
            own = server_address(pwd.getpwnam(self.account).pw_uid)
            if own:
                return own
        return self.ip or "127.0.0.1"

    def _configured_port(self) -> int:
        for section in ("SandboxSpawner", "LocalProcessSpawner", "Spawner"):
            if section in self.config and "port" in self.config[section]:
                return int(self.config[section]["port"])
        return 0

    def _candidate(self, tried: list[int]) -> int:
        low, high = self.port_range
        if low:
            return range_candidate(low, high, {*tried, *PORTS_IN_USE}, PORTS_FAILED)
        port = random_port()
        while port in tried:
            port = random_port()
        return port

    async def _next_port(self, tried: list[int], ip: str) -> int:
        """The next port to try (in order through `port_range`, or any free port), skipping
        ports another process holds now without starting a server on them."""
        loop = asyncio.get_running_loop()
        while port := self._candidate(tried):
            if await loop.run_in_executor(None, can_listen, ip, port):
                return port
            self.log.warning(
                "Port %s is held by another process; %s's server skips it", port, self.user.name
            )
            tried.append(port)
            PORTS_FAILED[port] = time.monotonic()
            if not self.port_range[0] and len(tried) > 64:
                break
        return 0

    async def _await_listener(self, ip: str) -> str:
        """'ours' once the server's own socket (its account's, in `full` mode) is the only
        one listening on the port; 'exited' when it stopped first (it could not bind);
        'foreign' when another process listens there beside it."""
        uid = pwd.getpwnam(self.account).pw_uid if self.sandbox_mode == "full" else None
        loop = asyncio.get_running_loop()
        while True:
            running = self._attempt_running()
            owner = await loop.run_in_executor(
                None, port_owner, self.port, ip, self._attempt_pids, uid
            )
            if owner in ("ours", "foreign"):
                return owner
            if not running:
                return "exited"
            await asyncio.sleep(0.2)

    def _release_port(self) -> None:
        PORTS_IN_USE.discard(self.port)
