"""How Sunaba's own hub services identify their callers: by asking the hub about every token.

JupyterHub's `HubAuth` keeps each token's answer in a cache (five minutes by default, and
forever with `cache_max_age=0`). For the exchange and the check service that would let a
revoked token (logged out, deleted by its owner or an admin, user removed) keep working, and
keep a learner removed from a course in it, until the entry expired. Asking on every request
costs one call to the hub's API on loopback, which is small next to what these services do.
"""

from __future__ import annotations

from jupyterhub.services.auth import HubAuth, HubOAuth


class AskHubEveryTime:
    """Mixin for `HubAuth` classes: never answer a token lookup from the cache."""

    def user_for_token(self, token, use_cache=True, session_id="", *, sync=True):
        return super().user_for_token(token, use_cache=False, session_id=session_id, sync=sync)


class FreshHubAuth(AskHubEveryTime, HubAuth):
    """Token-only services (the check service)."""


class FreshHubOAuth(AskHubEveryTime, HubOAuth):
    """Services that people also open in a browser through hub OAuth (the exchange's pages).
    The OAuth cookie holds a hub token too, so a logout (which deletes it) takes effect at
    once."""
