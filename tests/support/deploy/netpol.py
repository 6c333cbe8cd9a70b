"""Read Kubernetes NetworkPolicies and answer: may this pod open a connection to that one?

The rules are those of the NetworkPolicy API (networking.k8s.io/v1): a pod selected by a policy
with `Ingress` (`Egress`) in its policyTypes is isolated in that direction, and then only what
some selecting policy's rules allow gets through; both the sender's egress and the receiver's
ingress must allow a connection. Pods no policy selects are not isolated.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Endpoint:
    labels: dict = field(default_factory=dict)
    namespace_labels: dict = field(
        default_factory=lambda: {"kubernetes.io/metadata.name": "sunaba"}
    )
    ip: str = ""  # for endpoints outside the cluster
    is_pod: bool = True


def _selector_matches(selector: dict, labels: dict) -> bool:
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: dict, other: Endpoint, own_namespace: dict) -> bool:
    if "ipBlock" in peer:
        if other.is_pod or not other.ip:
            return False
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not _selector_matches(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace_labels != own_namespace:
        return False  # a bare podSelector means the policy's own namespace
    if "podSelector" in peer:
        return _selector_matches(peer["podSelector"], other.labels)
    return True


def _port_matches(ports: list | None, port: int, protocol: str) -> bool:
    if not ports:
        return True
    return any(
        p.get("port") in (None, port) and p.get("protocol", "TCP") == protocol for p in ports
    )


def _rules_allow(rules, peers_key, other, own_namespace, port, protocol) -> bool:
    for rule in rules or []:
        peers = rule.get(peers_key)
        peer_ok = not peers or any(_peer_matches(p, other, own_namespace) for p in peers)
        if peer_ok and _port_matches(rule.get("ports"), port, protocol):
            return True
    return False


def _selecting(policies, pod: Endpoint, direction: str) -> list[dict]:
    return [
        p
        for p in policies
        if pod.is_pod
        and direction in p["spec"].get("policyTypes", ["Ingress"])
        and _selector_matches(p["spec"]["podSelector"], pod.labels)
    ]


def allowed(policies, source: Endpoint, target: Endpoint, port: int, protocol="TCP") -> bool:
    egress = _selecting(policies, source, "Egress")
    if egress and not any(
        _rules_allow(p["spec"].get("egress"), "to", target, source.namespace_labels, port, protocol)
        for p in egress
    ):
        return False
    ingress = _selecting(policies, target, "Ingress")
    return not ingress or any(
        _rules_allow(
            p["spec"].get("ingress"), "from", source, target.namespace_labels, port, protocol
        )
        for p in ingress
    )
