"""Showcase: teams publish finished notebooks as Voilà mini-apps, each in its own sandbox.

`service.py` is the hub service (gallery, publish form, API, proxy to the apps); `core.py` what it
does; `runner.py` the apps' Voilà servers; `hub.py` the area hooks; `cli.py` `sunaba teams …` and
`sunaba showcase …`; `sandboxed/` the scripts that run inside sandboxes.
"""
