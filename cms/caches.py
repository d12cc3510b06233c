"""Cache backends of the project: the machine-wide disk cache used for feeds."""

from diskcache import DjangoCache


class PersistentDiskCache(DjangoCache):
    """diskcache's Django backend, minus closing its files after each request.

    Django closes every cache when a request finishes; for diskcache that means
    reopening its SQLite files (and running their pragmas) on the next request,
    which cost more than the feed itself. diskcache reopens by itself after a
    fork, and its connections are per thread, so keeping them open is safe.
    """

    def close(self, **kwargs) -> None:
        return None
