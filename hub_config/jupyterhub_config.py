# JupyterHub config for Sunaba: load the site config, then apply it. Nothing else belongs here;
# every setting comes from hub_config/sunaba.yaml through src/sunaba/hub/apply.py, and what it
# does not cover from the files in jupyterhub_config.d/ (see the README there).
from pathlib import Path

from sunaba.config import load_config
from sunaba.hub import apply
from sunaba.hub.extra_config import load_extra_config
from sunaba.hub.facts import detect_facts

c = get_config()  # noqa: F821 (provided by JupyterHub)
config = load_config()
apply(config, c, detect_facts(config, Path(__file__).resolve().parent))
load_extra_config(c, config, Path(__file__).resolve().parent)
