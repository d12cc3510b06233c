"""Writes of the recommend app, one module per concern."""
