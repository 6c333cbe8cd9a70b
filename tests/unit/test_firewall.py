"""The learners' network policy as rendered from config and gathered facts (no nft needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sunaba.config.schema import SiteConfig
from sunaba.runtime import firewall_ports
from sunaba.sandbox import firewall
from sunaba.sandbox.addresses import server_address, server_owners
from sunaba.sandbox.firewall_rules import Allowed, Facts


def facts(**changes) -> Facts:
    base = Facts(
        table="sunaba_abc_def",
        uids=(1001, 1002, firewall.PROBE_UID),
        service_ports=(8081, 20001, 30002),
        resolvers=("10.255.255.53", "fd00::53"),
    )
    return replace(base, **changes)


def rules(text: str) -> list[str]:
    body = text.split("chain sandbox {\n", 1)[1].split("\n  }\n", 1)[0]
    return [line.strip() for line in body.strip().splitlines()]


def test_replaces_only_its_own_table_atomically():
    text = firewall.render(facts())
    lines = text.splitlines()
    assert lines[:3] == [
        "table inet sunaba_abc_def",
        "delete table inet sunaba_abc_def",
        "table inet sunaba_abc_def {",
    ]
    # No other table, no flush of the ruleset, a base chain that accepts what it does not match.
    assert text.count("table inet") == 3 and "flush" not in text
    assert "type filter hook output priority filter; policy accept;" in text
    assert "meta skuid @sandbox_uids jump sandbox" in text
    assert "elements = { 1001, 1002, 4199999999 }" in text
    assert firewall.render(facts()) == text  # the same facts, the same rules


def test_order_replies_services_dns_then_refusals_then_internet():
    found = rules(firewall.render(facts()))
    assert found[0] == "ct state established,related accept"
    assert found[1] == "ip daddr 127.0.0.1 tcp dport { 8081, 20001, 30002 } accept"
    assert found[2] == "ip daddr 169.254.169.254 jump refuse"
    assert "ip daddr { 10.255.255.53 } udp dport 53 accept" in found
    assert "ip6 daddr { fd00::53 } tcp dport 53 accept" in found
    refusals = found.index("fib daddr type local jump refuse")
    assert max(i for i, r in enumerate(found) if "dport 53" in r) < refusals
    private = next(r for r in found if r.startswith("ip daddr { 0.0.0.0/8"))
    for network in ("10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
                    "192.168.0.0/16"):  # fmt: skip
        assert network in private
    assert "ip6 daddr { ::1, fc00::/7, fe80::/10 } jump refuse" in found
    assert found[-1] == "accept"


def test_each_account_has_its_own_loopback_address():
    assert server_address(1001) == "127.128.3.233"
    assert server_address(1002) == "127.128.3.234"
    assert server_address(1) == "127.128.0.1"
    # root, and uids past the block (the probe uid among them), have none
    assert server_address(0) is None
    assert server_address(firewall.PROBE_UID) is None
    assert server_address(2**23 - 1) is None  # 127.255.255.255, the broadcast address
    assert server_address(2**23 - 2) == "127.255.255.254"
    assert server_owners((1001, firewall.PROBE_UID)) == (("127.128.3.233", 1001),)


def test_only_an_address_own_uid_sends_from_it():
    text = firewall.render(facts())
    output = text.split("chain output {\n", 1)[1].split("\n  }\n", 1)[0]
    # Before the learners' own policy, and for every socket of the machine.
    assert output.strip().splitlines()[1:] == [
        "    ip saddr @server_addresses jump served",
        "    meta skuid @sandbox_uids jump sandbox",
    ]
    assert "elements = { 127.128.3.233, 127.128.3.234 }" in text
    assert "elements = { 127.128.3.233 . 1001, 127.128.3.234 . 1002 }" in text
    served = text.split("chain served {\n", 1)[1].split("\n  }\n", 1)[0].split("\n")
    assert [line.strip() for line in served] == [
        "ip saddr . meta skuid @server_owners return",
        "tcp flags & syn == syn drop",
        "meta skuid >= 0 drop",
    ]
    # No account yet: the sets are declared empty, and the table still loads.
    empty = firewall.render(facts(uids=(firewall.PROBE_UID,)))
    assert "set server_owners {\n    typeof ip saddr . meta skuid\n  }" in empty


def test_internet_false_refuses_whatever_is_left():
    found = rules(firewall.render(facts(internet=False)))
    assert found[-1] == "jump refuse"
    assert "accept" not in found[-1]


def test_allow_list_comes_before_the_refusals_but_after_the_metadata_server():
    allowed = (Allowed("10.20.0.0/16", (443, 80)), Allowed("fd12::7"))
    found = rules(firewall.render(facts(allowed=allowed, internet=False)))
    tcp = found.index("ip daddr 10.20.0.0/16 tcp dport { 443, 80 } accept")
    assert found[tcp + 1] == "ip daddr 10.20.0.0/16 udp dport { 443, 80 } accept"
    anywhere = found.index("ip6 daddr fd12::7 accept")
    assert found.index("ip daddr 169.254.169.254 jump refuse") < tcp < anywhere
    assert anywhere < found.index("fib daddr type local jump refuse")


def test_allow_list_from_config_cidr_address_and_name():
    config = SiteConfig.model_validate(
        {
            "network": {
                "allow": [
                    {"host": "10.20.0.7/16", "ports": [443, 443]},
                    {"host": "192.168.1.5"},
                    {"host": "localhost", "ports": [8443]},
                ]
            }
        }
    )
    found = firewall.allowed(config)
    assert Allowed("10.20.0.0/16", (443,)) in found
    assert Allowed("192.168.1.5/32", ()) in found
    assert any(a.network in ("127.0.0.1", "::1") and a.ports == (8443,) for a in found)


def test_allow_list_refuses_bad_ports_and_unknown_names():
    with pytest.raises(ValueError):
        SiteConfig.model_validate({"network": {"allow": [{"host": "10.0.0.1", "ports": [0]}]}})
    config = SiteConfig.model_validate({"network": {"allow": [{"host": "no-such-host.invalid"}]}})
    with pytest.raises(firewall.FirewallError):
        firewall.allowed(config)


def test_defaults_on_with_internet():
    config = SiteConfig()
    assert config.network.firewall is True
    assert config.network.internet is True
    assert config.network.allow == []


def test_table_per_install_and_accounts_found_by_home_root():
    a = SiteConfig.model_validate({"hub": {"state_dir": "/srv/a"}})
    b = SiteConfig.model_validate({"hub": {"state_dir": "/srv/b"}})
    c = SiteConfig.model_validate(
        {"hub": {"state_dir": "/srv/a"}, "sandbox": {"home_root": "/srv/homes-a"}}
    )
    assert firewall.table_name(a) != firewall.table_name(b)
    assert firewall.table_name(a).startswith("sunaba_")
    assert firewall.table_name(c).endswith("_" + firewall.home_tag("/srv/homes-a"))
    assert firewall.table_name(a).endswith("_" + firewall.home_tag("/home/sunaba"))


def test_resolvers_from_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nsearch x\n")
    assert firewall.resolvers(conf) == ("127.0.0.53", "fe80::1")
    assert firewall.resolvers(tmp_path / "missing") == ()


def test_service_ports_follow_the_pinned_config():
    config = SiteConfig.model_validate(
        {
            "hub": {"hub_port": 18081, "state_dir": "/srv/x"},
            "courses": {"service_port": 21000},
            "checks": {"port": 31000},
            "showcase": {"port": 41000},
        }
    )
    assert firewall_ports.service_ports(config) == (18081, 21000, 31000, 41000)
    assert firewall_ports.pinned_ports(config) == {}
    off = config.model_copy(
        update={"showcase": config.showcase.model_copy(update={"enabled": False})}
    )
    assert 41000 not in firewall_ports.service_ports(off)


def test_kernel_config_makes_kernels_use_unix_sockets(tmp_path):
    directory = firewall.write_kernel_config(tmp_path / "venv")
    assert directory == firewall.kernel_config_dir(tmp_path / "venv")
    text = (directory / "jupyter_config.json").read_text()
    assert '"transport": "ipc"' in text
    # A socket path has at most 107 bytes: the runtime dir leaves room for a kernel's sockets.
    assert len(f"{firewall.KERNEL_RUNTIME_DIR}/kernel-{'x' * 36}-ipc-99") < 107


def test_kubernetes_learner_policy_says_the_same():
    from sunaba.deploy.k8s_policies import learner_policy

    site = {
        "network": {"allow": [{"host": "10.20.0.0/16", "ports": [443]}, {"host": "192.168.9.9"}]},
        "deploy": {"k8s": {"learner_internet": True}},
    }
    egress = learner_policy(SiteConfig.model_validate(site), [])["spec"]["egress"]
    blocks = [rule for rule in egress if "ipBlock" in rule["to"][0]]
    assert {"ipBlock": {"cidr": "10.20.0.0/16"}} in blocks[0]["to"]
    assert {"protocol": "TCP", "port": 443} in blocks[0]["ports"]
    assert blocks[1] == {"to": [{"ipBlock": {"cidr": "192.168.9.9/32"}}]}
    internet = blocks[-1]["to"][0]["ipBlock"]
    assert internet["cidr"] == "0.0.0.0/0" and "169.254.0.0/16" in internet["except"]
    closed = SiteConfig.model_validate({**site, "network": {**site["network"], "internet": False}})
    egress = learner_policy(closed, [])["spec"]["egress"]
    assert all(r["to"][0].get("ipBlock", {}).get("cidr") != "0.0.0.0/0" for r in egress)


def test_vm_unit_installs_and_removes_the_rules():
    from sunaba.deploy.vm_units import hub_unit

    text = hub_unit(SiteConfig(), []).text
    assert "ExecStartPre=" in text and "firewall install" in text
    assert "ExecStopPost=" in text and "firewall remove" in text
    off = SiteConfig.model_validate({"network": {"firewall": False}})
    assert "firewall" not in hub_unit(off, []).text


def test_always_syncookies_is_refused_with_the_setting_to_change(tmp_path, monkeypatch):
    setting = tmp_path / "tcp_syncookies"
    setting.write_text("1\n")
    assert not firewall._always_syncookies(setting)
    setting.write_text("2\n")
    assert firewall._always_syncookies(setting)
    assert not firewall._always_syncookies(tmp_path / "missing")
    monkeypatch.setattr(firewall.os, "geteuid", lambda: 0)  # asked before anything else
    monkeypatch.setattr(firewall, "SYNCOOKIES", setting)
    with pytest.raises(firewall.FirewallError, match="tcp_syncookies"):
        firewall.install(SiteConfig(), (8081,))
