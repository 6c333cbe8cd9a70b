"""Each learner's server on a loopback address of its own, that only the learner can answer on.

Linux routes the whole of 127.0.0.0/8 to the loopback device, so every account can have an
address without any setup: uid `u` gets 127.128.0.0 + u (`SERVER_BLOCK`, room for every uid
below 8,388,607). The learner's server listens there instead of on 127.0.0.1, so servers and
whatever else runs on the machine never compete for the same address and port.

Anyone may still bind a socket to any loopback address; what makes the address the learner's
own is the network policy (`firewall_rules`): a packet sent from an address of the block leaves
only when the socket sending it belongs to the address's uid. Another learner who listens on
it (before the server starts, or after it stopped while the hub still routes there) never
completes a connection: the hub and the proxy cannot be made to talk to anyone but the learner.
This holds where the policy is installed and servers run as the learners' own uids (`full`
isolation); `sunaba doctor` reports which.
"""

from __future__ import annotations

import ipaddress

SERVER_BLOCK = ipaddress.IPv4Network("127.128.0.0/9")


def server_address(uid: int) -> str | None:
    """The loopback address of `uid`'s server; None for root and for uids past the block (the
    last address, the block's broadcast, is never handed out)."""
    if not 0 < uid < SERVER_BLOCK.num_addresses - 1:
        return None
    return str(SERVER_BLOCK.network_address + uid)


def server_owners(uids) -> tuple[tuple[str, int], ...]:
    """(address, uid) for every uid that has an address."""
    return tuple((address, uid) for uid in uids if (address := server_address(uid)))
