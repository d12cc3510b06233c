"""Serving: live catalogue, active model per process, feeds and similar items."""
