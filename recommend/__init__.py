"""Implicit-feedback recommendations: readers, events, models and feeds."""
