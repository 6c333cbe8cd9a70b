"""A round of probes in a real kernel: an honest kernel reports the probe's failure, and the
round leaves the learner's namespace and last error as they were."""

from __future__ import annotations

import asyncio
import json

import pytest
from jupyter_client.manager import KernelManager

from sunaba.grading.probes import cleanup, make_probe, probe_kernel

LOOK = (
    "import json, sys\n"
    "print(json.dumps({'last': type(getattr(sys, 'last_value', None)).__name__,"
    " 'names': sorted(k for k in globals() if not k.startswith('_'))}))\n"
)


@pytest.fixture
def kernel():
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    try:
        yield manager, client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _run(client, code: str) -> str:
    printed = []
    reply = client.execute_interactive(
        code, timeout=30, output_hook=lambda m: printed.append(m["content"].get("text", ""))
    )
    assert reply["content"]["status"] in ("ok", "error")
    return "".join(printed)


def _round(manager, client) -> str:
    async def alive():
        return manager.is_alive()

    return asyncio.run(probe_kernel(client, alive, timeout=30))


def test_an_honest_kernel_passes_and_keeps_its_names_and_last_error(kernel):
    manager, client = kernel
    _run(client, "learner_value = 41\n1 / 0\n")
    before = json.loads(_run(client, LOOK))
    assert before["last"] == "ZeroDivisionError"
    assert _round(manager, client) == "honest"
    assert json.loads(_run(client, LOOK)) == before


def test_a_kernel_without_an_earlier_error_has_none_after_a_round(kernel):
    manager, client = kernel
    assert _round(manager, client) == "honest"
    assert json.loads(_run(client, LOOK))["last"] == "NoneType"


def test_a_transformer_that_drops_asserts_is_caught(kernel):
    manager, client = kernel
    _run(
        client,
        "def drop(lines):\n"
        "    return [l for l in lines if not l.lstrip().startswith('assert')] or ['pass\\n']\n"
        "get_ipython().input_transformers_post.append(drop)\n",
    )
    assert _round(manager, client) == "tampered"


def test_cleanup_deletes_every_name_of_the_probe():
    setup, probes, names = make_probe()
    assert names[-1] in setup and len(probes) == 2
    assert cleanup(names).splitlines()[-1] == f"del {', '.join(names)}"
