"""manage.py commands: generate."""
