"""Cache backends of the project: the machine-wide disk cache used for feeds."""

import sqlite3
import time

from diskcache import DjangoCache
from diskcache.core import EVICTION_POLICY


class PersistentDiskCache(DjangoCache):
    """diskcache's Django backend, minus closing its files after each request,
    and reading several keys in one query when it has one shard.

    Django closes every cache when a request finishes; for diskcache that means
    reopening its SQLite files (and running their pragmas) on the next request,
    which cost more than the feed itself. diskcache reopens by itself after a
    fork, and its connections are per thread, so keeping them open is safe.

    A feed reads two keys (the reader's candidate list and recent events):
    diskcache's get_many is one query per key, each a statement and a B-tree
    walk. With SHARDS 1 (the feeds cache's setting) every key is in one SQLite
    file, and get_many asks for them in one SELECT.
    """

    def close(self, **kwargs) -> None:
        return None

    def get_many(self, keys, version=None) -> dict:
        shards = self._cache._shards
        if len(shards) != 1:
            return super().get_many(keys, version=version)
        shard = shards[0]
        if shard.statistics or EVICTION_POLICY[shard.eviction_policy]["get"]:
            return super().get_many(keys, version=version)  # a get writes too
        by_db_key = {}
        for key in keys:
            # make_key, not make_and_validate_key: as DjangoCache.get does (the
            # memcached key warnings walk every character, for nothing here).
            db_key, raw = shard.disk.put(self.make_key(key, version=version))
            if not raw:  # only str keys are stored raw; Django's keys are str
                return super().get_many(keys, version=version)
            by_db_key[db_key] = key
        if not by_db_key:
            return {}
        select = (
            "SELECT key, mode, filename, value FROM Cache"
            f" WHERE key IN ({', '.join('?' * len(by_db_key))}) AND raw = 1"
            " AND (expire_time IS NULL OR expire_time > ?)"
        )
        try:
            rows = shard._sql(select, (*by_db_key, time.time())).fetchall()
        except sqlite3.OperationalError:  # busy or schema not there yet
            return super().get_many(keys, version=version)
        found = {}
        for db_key, mode, filename, value in rows:
            try:
                found[by_db_key[db_key]] = shard.disk.fetch(
                    mode, filename, value, False
                )
            except OSError:  # a file value deleted meanwhile: a miss, as in get
                continue
        return found
