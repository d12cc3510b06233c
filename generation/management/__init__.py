"""Management commands of the generation app."""
