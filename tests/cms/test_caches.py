"""The feeds disk cache reads several keys in one query (cms/caches.py)."""

import time

import pytest

from cms.caches import PersistentDiskCache


def _cache(directory, shards: int = 1) -> PersistentDiskCache:
    return PersistentDiskCache(
        str(directory), {"SHARDS": shards, "DATABASE_TIMEOUT": 2.0, "TIMEOUT": 60}
    )


VALUES = {
    "list": (1, "personal", 7, 1.5, b"\x00\x01" * 100),
    "note": (7, [(12, 1, 1.0)]),
    "bytes": b"raw bytes",
    "number": 42,
    "text": "héllo",
    "large": b"x" * 100_000,  # stored in a file of its own, not in the table
}


@pytest.mark.parametrize("shards", [1, 8])
def test_get_many_gives_what_get_gives(tmp_path, shards):
    # given: values of every storage mode, a key that expired, a missing key
    cache = _cache(tmp_path, shards)
    for key, value in VALUES.items():
        cache.set(key, value)
    cache.set("expired", "old", timeout=0.05)
    time.sleep(0.1)
    keys = [*VALUES, "expired", "missing"]
    # when
    found = cache.get_many(keys)
    # then
    assert found == {key: cache.get(key) for key in keys if cache.get(key) is not None}
    assert found == VALUES


def test_one_shard_reads_many_keys_in_one_statement(tmp_path):
    # given
    cache = _cache(tmp_path)
    cache.set_many({"list": VALUES["list"], "note": VALUES["note"]})
    shard = cache._cache._shards[0]
    statements = []
    shard._con.set_trace_callback(statements.append)
    # when
    found = cache.get_many(["list", "note", "missing"])
    # then
    shard._con.set_trace_callback(None)
    assert found == {"list": VALUES["list"], "note": VALUES["note"]}
    assert len(statements) == 1 and statements[0].startswith("SELECT")


def test_key_versions_apply_as_in_get(tmp_path):
    # given
    cache = _cache(tmp_path)
    cache.set("key", "one", version=1)
    cache.set("key", "two", version=2)
    # then
    assert cache.get_many(["key"], version=2) == {"key": "two"}
    assert cache.get_many(["key"]) == {"key": "one"}
