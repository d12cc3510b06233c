"""Template filters of the recommend admin pages."""
