"""Learner sandboxes: a Unix account, a bubblewrap namespace and resource limits per learner."""
