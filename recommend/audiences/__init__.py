"""Audiences and their reports: segments, content gaps, digests, performance."""
