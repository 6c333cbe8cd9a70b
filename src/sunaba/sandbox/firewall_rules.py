"""The learners' network policy as an nftables table, from the facts it depends on (pure).

The table matches sockets by owner: a set of the install's sandbox uids. For those uids, in
order: replies of connections made to them pass (the proxy reaching a learner's server); the hub
API and the Sunaba services on loopback pass; DNS to the resolvers passes; the site's allow-list
passes; every other address of this machine, loopback, private, link-local and the metadata
server are refused; the public internet passes unless `Facts.internet` is false. Every other
socket of the machine, and every other table, is left alone.

Before that, for every socket of the machine: a packet from a learner's server address
(`addresses.py`) leaves only when the address's own uid sent it. A foreign socket there (another
learner listening on it) sends nothing; a handshake with no socket behind it (a SYN cookie)
is dropped too, so no connection to a foreign listener ever completes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sunaba.sandbox.addresses import server_owners

PRIVATE_V4 = ("0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
              "192.168.0.0/16")  # fmt: skip
PRIVATE_V6 = ("::1", "fc00::/7", "fe80::/10")
METADATA = "169.254.169.254"


@dataclass(frozen=True)
class Allowed:
    network: str  # an address or a CIDR, IPv4 or IPv6
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class Facts:
    """Everything the ruleset depends on, gathered from the machine and the config."""

    table: str
    uids: tuple[int, ...]
    service_ports: tuple[int, ...]
    resolvers: tuple[str, ...]
    allowed: tuple[Allowed, ...] = ()
    internet: bool = True
    comment: str = ""


def _family(network: str) -> str:
    return "ip6" if ":" in network else "ip"


def _set(items) -> str:
    return "{ " + ", ".join(str(i) for i in items) + " }"


def _allow_rules(facts: Facts) -> list[str]:
    rules = []
    for entry in facts.allowed:
        match = f"{_family(entry.network)} daddr {entry.network}"
        if not entry.ports:
            rules.append(f"{match} accept")
            continue
        for proto in ("tcp", "udp"):
            rules.append(f"{match} {proto} dport {_set(entry.ports)} accept")
    return rules


def _dns_rules(facts: Facts) -> list[str]:
    rules = []
    for family in ("ip", "ip6"):
        servers = [r for r in facts.resolvers if _family(r) == family]
        if servers:
            for proto in ("udp", "tcp"):
                rules.append(f"{family} daddr {_set(servers)} {proto} dport 53 accept")
    return rules


def sandbox_rules(facts: Facts) -> list[str]:
    """The rules of the `sandbox` chain, first match wins."""
    return [
        "ct state established,related accept",
        f"ip daddr 127.0.0.1 tcp dport {_set(facts.service_ports)} accept",
        f"ip daddr {METADATA} jump refuse",
        *_dns_rules(facts),
        *_allow_rules(facts),
        "fib daddr type local jump refuse",
        f"ip daddr {_set(PRIVATE_V4)} jump refuse",
        f"ip6 daddr {_set(PRIVATE_V6)} jump refuse",
        "accept" if facts.internet else "jump refuse",
    ]


def served_rules() -> list[str]:
    """The rules of the `served` chain, for packets from a learner's server address."""
    return [
        "ip saddr . meta skuid @server_owners return",
        # A SYN-ACK no socket owns (a SYN cookie under a full backlog) could complete a
        # connection to a foreign listener: dropped. Other packets without a socket (a reset
        # for a closed port, the last ACK of a closed connection) carry nothing and pass.
        "tcp flags & syn == syn drop",
        "meta skuid >= 0 drop",
    ]


def render(facts: Facts) -> str:
    """The whole table as an `nft -f` script: replacing the table atomically, so installing
    twice gives the same ruleset and nothing outside the table changes."""
    t = facts.table
    owners = server_owners(facts.uids)
    lines = [
        f"table inet {t}",
        f"delete table inet {t}",
        f"table inet {t} {{",
        f"  comment {json.dumps(facts.comment or 'Sunaba')}",
        "  set sandbox_uids {",
        "    typeof meta skuid",
        f"    elements = {_set(facts.uids)}" if facts.uids else "",
        "  }",
        "  set server_addresses {",
        "    typeof ip saddr",
        f"    elements = {_set(a for a, _ in owners)}" if owners else "",
        "  }",
        "  set server_owners {",
        "    typeof ip saddr . meta skuid",
        f"    elements = {_set(f'{a} . {u}' for a, u in owners)}" if owners else "",
        "  }",
        "  chain output {",
        "    type filter hook output priority filter; policy accept;",
        "    ip saddr @server_addresses jump served",
        "    meta skuid @sandbox_uids jump sandbox",
        "  }",
        "  chain served {",
        *(f"    {rule}" for rule in served_rules()),
        "  }",
        "  chain refuse {",
        "    meta l4proto tcp reject with tcp reset",
        "    reject with icmpx admin-prohibited",
        "  }",
        "  chain sandbox {",
        *(f"    {rule}" for rule in sandbox_rules(facts)),
        "  }",
        "}",
    ]
    return "\n".join(line for line in lines if line) + "\n"
