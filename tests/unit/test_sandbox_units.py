"""Pure parts of the sandbox: the bubblewrap command line, account names, isolation levels."""

from __future__ import annotations

import pytest

from sunaba.config.loader import validate
from sunaba.sandbox.accounts import AccountError, unix_name
from sunaba.sandbox.bwrap import SandboxLayout, bwrap_args
from sunaba.sandbox.doctor import Check, isolation_level


def test_bwrap_mounts_only_what_a_learner_needs(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    args = bwrap_args(SandboxLayout(home=str(home), readonly=["/opt", "/does/not/exist"]))
    joined = " ".join(args)
    assert "--unshare-pid" in args
    assert "--ro-bind /usr /usr" in joined
    assert f"--bind {home} {home}" in joined
    assert "--ro-bind /opt /opt" in joined
    assert "/does/not/exist" not in joined
    assert "/var/lib/sunaba" not in joined and "/root" not in joined
    # The private /tmp must come before any bind under /tmp or it would hide it.
    assert args.index("/tmp") < args.index(str(home))
    assert args[-1] == "--"


@pytest.mark.parametrize("name", ["root", "alice", "a-b_c"])
def test_accounts_always_carry_the_prefix(name):
    assert unix_name("sb-", name) == f"sb-{name}"


@pytest.mark.parametrize("name", ["../x", "a b", "x" * 40, "a/b", "名前", "a:b"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(AccountError):
        unix_name("sb-", name)


def checks(*passed):
    names = ["root", "bubblewrap", "cgroups", "runtime prefix", "state dir"]
    return [Check(n, n in passed, "") for n in names]


@pytest.mark.parametrize(
    ("mode", "passed", "level"),
    [
        ("auto", ("root", "bubblewrap"), "full"),
        ("auto", ("bubblewrap",), "bubblewrap"),
        ("auto", (), "none"),
        ("full", ("bubblewrap",), "none"),
        ("bubblewrap", ("root", "bubblewrap"), "bubblewrap"),
        ("none", ("root", "bubblewrap"), "none"),
    ],
)
def test_isolation_level(mode, passed, level):
    config = validate({"sandbox": {"mode": mode}}, "test")
    assert isolation_level(config, checks(*passed)) == level
