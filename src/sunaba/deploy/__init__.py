"""Deploying Sunaba beyond one machine: a VM with systemd and nginx, Kubernetes through the Zero to
JupyterHub chart, backups, and production identity providers. Every file is rendered from the same
site config and the same apply functions the hub itself runs."""
