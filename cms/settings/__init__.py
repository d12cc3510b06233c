"""Settings for the content engine, by environment (dev, test, production)."""
