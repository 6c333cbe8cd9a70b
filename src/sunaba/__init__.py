"""Sunaba: a sandboxed JupyterHub learning environment for public servants."""

__version__ = "0.1.0"
