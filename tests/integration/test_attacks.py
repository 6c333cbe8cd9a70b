"""Attacks from code running in learner A's kernel. Every one of them must fail."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pair(hub):
    """Two learners with running servers; B keeps a private file in their home."""
    a = hub.new_learner("attacker")
    b = hub.new_learner("victim")
    hub.spawn(a)
    hub.spawn(b)
    outcome = hub.run(b, "open('memo.txt', 'w').write('Bの秘密のメモ'); print('saved')")
    assert outcome["stdout"].strip() == "saved", outcome
    return a, b


def _secrets(hub) -> list[str]:
    state = hub.state_dir
    values = [(state / "jupyterhub_cookie_secret").read_text().strip(), hub.service_token()]
    return [v for v in values if v]


def test_cannot_list_or_read_other_home(hub, pair):
    a, b = pair
    b_home = hub.home_of(b)
    code = (
        "import os\n"
        f"for path in [{str(b_home)!r}, {str(hub.home_root)!r}, '/home', '/root']:\n"
        "    try:\n"
        "        print(path, 'LISTED', os.listdir(path))\n"
        "    except OSError as exc:\n"
        "        print(path, 'refused', type(exc).__name__)\n"
        "try:\n"
        f"    print('READ', open({str(b_home / 'memo.txt')!r}).read())\n"
        "except OSError as exc:\n"
        "    print('read refused', type(exc).__name__)\n"
    )
    outcome = hub.run(a, code)
    assert outcome["status"] == "ok", outcome
    assert "LISTED" not in outcome["stdout"].replace(f"{hub.home_root} LISTED", "")
    assert "READ" not in outcome["stdout"]
    assert "Bの秘密" not in outcome["stdout"]
    # The home root is visible only as the path to A's own home.
    for line in outcome["stdout"].splitlines():
        if line.startswith(f"{hub.home_root} LISTED"):
            assert hub.account_of(b) not in line


def test_cannot_reach_hub_state_tokens_or_secrets(hub, pair):
    a, _ = pair
    state = hub.state_dir
    code = (
        "import os, glob\n"
        f"for path in [{str(state)!r}, {str(state / 'jupyterhub.sqlite')!r},"
        f" {str(state / 'jupyterhub_cookie_secret')!r}, {str(state / 'secrets.yaml')!r},"
        " '/var/lib/sunaba', '/etc/shadow']:\n"
        "    try:\n"
        "        with open(path, 'rb') as f: print(path, 'OPENED', len(f.read()))\n"
        "    except OSError as exc:\n"
        "        print(path, 'refused', type(exc).__name__)\n"
        "blob = ''\n"
        "for name in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
        "    try: blob += open(name, 'rb').read().decode('utf-8', 'replace')\n"
        "    except OSError: pass\n"
        "for root, dirs, files in os.walk('/tmp'):\n"
        "    for f in files:\n"
        "        try: blob += open(os.path.join(root, f), 'rb').read(1<<20).decode('utf-8','replace')\n"
        "        except OSError: pass\n"
        "blob += repr(dict(os.environ))\n"
        "print('BLOB', len(blob))\n"
        "open(os.path.expanduser('~/.probe'), 'w').write(blob)\n"
    )
    outcome = hub.run(a, code)
    assert outcome["status"] == "ok", outcome
    assert "OPENED" not in outcome["stdout"], outcome["stdout"]
    seen = (hub.home_of(a) / ".probe").read_text()
    for secret in _secrets(hub):
        assert secret not in seen
    assert "CONFIGPROXY_AUTH_TOKEN" not in seen


def test_cannot_see_other_processes(hub, pair):
    a, _ = pair
    code = (
        "import os\n"
        "owners = set()\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    try: owners.add(os.stat(f'/proc/{pid}').st_uid)\n"
        "    except OSError: pass\n"
        "print(sorted(owners), os.getuid())\n"
    )
    outcome = hub.run(a, code)
    assert outcome["status"] == "ok", outcome
    owners, uid = outcome["stdout"].rsplit(" ", 1)
    assert owners == f"[{uid.strip()}]"


def test_cannot_write_runtime_or_datasets(hub, pair):
    a, _ = pair
    from tests.support.hub import PREFIX

    targets = [PREFIX / "venv" / "pwned", PREFIX / "share" / "datasets" / "pwned", "/usr/pwned"]
    code = (
        "for path in %r:\n"
        "    try:\n"
        "        open(path, 'w').write('x'); print(path, 'WROTE')\n"
        "    except OSError as exc:\n"
        "        print(path, 'refused', exc.strerror)\n"
    ) % [str(t) for t in targets]
    outcome = hub.run(a, code)
    assert outcome["status"] == "ok", outcome
    assert "WROTE" not in outcome["stdout"]
    assert outcome["stdout"].count("Read-only file system") == len(targets)


def test_memory_limit_kills_only_the_greedy_kernel(hub, pair):
    a, b = pair
    greedy = hub.start_kernel(a)
    outcome = hub.execute(
        a, greedy, "x = bytearray(4 * 1024**3)\nfor i in range(0, len(x), 4096): x[i] = 1", 120
    )
    assert outcome["status"] in ("died", "disconnected", "timeout", "error"), outcome
    if outcome["status"] == "error":
        assert "MemoryError" in (outcome["error"] or "")
    # The hub, B, and A's server are unaffected.
    assert hub.api("GET", "/").status_code == 200
    assert hub.run(b, "5 * 4")["result"] == "20"
    fresh = hub.start_kernel(a)
    assert hub.execute(a, fresh, "6 * 7")["result"] == "42"


def test_fork_bomb_is_contained(hub, pair):
    a, b = pair
    code = (
        "import subprocess\n"
        "procs, refused = [], None\n"
        "for i in range(400):\n"
        "    try:\n"
        "        procs.append(subprocess.Popen(['sleep', '30']))\n"
        "    except OSError as exc:\n"
        "        refused = exc; break\n"
        "print(len(procs), type(refused).__name__)\n"
        "for p in procs: p.kill()\n"
        "for p in procs: p.wait()\n"
    )
    outcome = hub.run(a, code, timeout=120)
    assert outcome["status"] == "ok", outcome
    started, refused = outcome["stdout"].split()
    assert int(started) < 96
    assert refused in ("BlockingIOError", "OSError", "PermissionError")
    assert hub.run(b, "5 * 4")["result"] == "20"
