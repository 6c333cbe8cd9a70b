"""Helpers of the deploy tests: the chart's translation of values, a NetworkPolicy reader, and
real servers (slapd, an OIDC provider, nginx, PostgreSQL databases) started and stopped by tests."""
