"""What the showcase lets through to an app, decided per path, before any app is involved."""

from __future__ import annotations

import pytest
from tornado.httputil import HTTPHeaders

from sunaba.showcase import proxy
from sunaba.showcase.proxy import (
    KernelIdScanner,
    KernelLedger,
    PathRefused,
    app_response_headers,
    classify,
    upstream_request_headers,
)

KERNEL = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"


@pytest.mark.parametrize(
    ("rest", "kind"),
    [
        ("", "content"),
        ("voila/files/map.png", "content"),
        ("voila/static/voila.js", "asset"),
        ("voila/templates/lab/static/voila.css", "asset"),
        ("voila/labextensions/@jupyter-widgets/jupyterlab-manager/static/remoteEntry.js", "asset"),
        ("voila/api/themes/light/index.css", "asset"),
        (f"api/kernels/{KERNEL}", "kernel"),
        (f"api/kernels/{KERNEL}/channels", "kernel"),
        (f"voila/query/{KERNEL}", "kernel"),
        (f"voila/api/shutdown/{KERNEL}", "kernel"),
        ("voila/execution/x", "content"),
        ("api/kernels", "missing"),
        (f"api/kernels/{KERNEL}/restart", "missing"),
        ("chart.png", "missing"),
        ("グラフ%201.png", "missing"),
        ("data/chart.png", "missing"),
    ],
)
def test_paths_are_sorted_into_assets_kernels_content_and_missing(rest, kind):
    found, kernel = classify(rest)
    assert found == kind
    assert (kernel == KERNEL) == (kind == "kernel")


@pytest.mark.parametrize(
    "rest",
    [
        "voila/files/../../etc/passwd",
        "voila/static/../../../etc/passwd",
        "voila/files/%2e%2e/%2e%2e/etc/passwd",
        "voila/files/..%2fetc%2fpasswd",
        "voila/files/%2E%2E/secret",
        "voila/files/a%5c..%5cb",
        "voila/files/./x.png",
        "voila/files/a\\..\\b",
        "voila/files/%00x.png",
        "_sunaba/status",
        "_sunaba",
    ],
)
def test_climbing_out_or_reaching_the_launcher_is_refused(rest):
    with pytest.raises(PathRefused):
        classify(rest)


def test_cookies_and_credentials_never_reach_the_app():
    headers = HTTPHeaders(
        {
            "Cookie": "jupyterhub-services-showcase=secret",
            "Authorization": "token secret",
            "X-Sunaba-Thumbnail": "pass",
            "Accept": "text/html",
            "Connection": "keep-alive",
        }
    )
    forwarded = upstream_request_headers(headers)
    assert forwarded == {"Accept": "text/html"}


def test_app_pages_run_in_an_opaque_origin():
    headers = app_response_headers()
    csp = headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts")
    assert "allow-same-origin" not in csp
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "set-cookie" in proxy.DROP_RESPONSE


def test_kernel_ids_are_found_across_chunk_boundaries():
    scanner = KernelIdScanner()
    page = f'<script>{{"baseUrl": "/x/", "kernelId": "{KERNEL}", "a": 1}}</script>'.encode()
    for cut in range(0, len(page), 7):
        scanner.feed(page[cut : cut + 7])
    assert scanner.found == {KERNEL}


def test_abandoned_kernels_are_found_after_their_grace_periods():
    ledger = KernelLedger()
    ledger.issue(1, "never-connected")
    ledger.issue(1, "left")
    ledger.issue(1, "watching")
    ledger.opened(1, "left")
    ledger.closed(1, "left")
    ledger.opened(1, "watching")
    issued = ledger.kernels[1]["never-connected"].issued
    closed = ledger.kernels[1]["left"].last_close
    assert ledger.abandoned(now=closed + 1) == []
    later = max(issued + proxy.NEVER_CONNECTED_GRACE, closed + proxy.AFTER_CLOSE_GRACE) + 1
    assert sorted(k for _, k in ledger.abandoned(now=later)) == ["left", "never-connected"]
    assert ledger.known(1, "watching") and not ledger.known(2, "watching")
