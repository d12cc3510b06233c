"""The recommend app's Wagtail admin views and their SVG charts."""
