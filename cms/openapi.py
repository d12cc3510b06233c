"""OpenAPI schema hooks: document the project's API and nothing else."""


def only_api_paths(endpoints):
    """Keep /api/v1/ endpoints; Wagtail's admin and v2 views are not DRF-typed."""
    return [
        (path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
        if path.startswith("/api/v1/")
    ]
