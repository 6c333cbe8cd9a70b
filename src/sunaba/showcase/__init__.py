"""Showcase: teams publish finished notebooks as Voilà mini-apps, each in its own sandbox.

`service.py` is the hub service (gallery, publish form, API, proxy to the apps); `core.py` what it
does, with its parts: `app_records.py` (the rows), `author_notebooks.py` (reading an author's
notebooks), `publish_check.py` (the run before going live), `live_apps.py` (keeping apps' servers
up) and `thumbnails.py`; `runner.py` the apps' Voilà servers (`k8s_runner.py` and `k8s_pods.py`: in pods of
their own on Kubernetes); `hub.py` the area hooks; `cli.py` `sunaba teams …` and
`sunaba showcase …`; `sandboxed/` the scripts that run inside sandboxes.
"""
