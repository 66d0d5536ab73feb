"""Offline helpers for tests and for users testing their own setups (no network, no downloads)."""
