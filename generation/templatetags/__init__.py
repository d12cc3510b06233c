"""Template tags of the generation app."""
