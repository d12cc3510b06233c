"""The shared query checks skip only what cannot hold a problem."""

import pytest
from django.core.exceptions import TooManyFieldsSent
from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from cms.limits import id_problem, text_problem
from cms.middleware import _query_to_check
from cms.queries import query_lists, query_params, query_value

PIECES = st.one_of(
    st.sampled_from(["reader=bench-1", "n=20", "&", "=", "+", "offset=40", "a;b"]),
    st.text(alphabet="abc019-_.~+,:/@!$'()*;", max_size=8),
    st.sampled_from(["%00", "%0A", "%09", "%C3%A9", "%ED%A0%80", "%7F", "%C2%85"]),
    st.sampled_from(["9" * 19, "9223372036854775808", "-9" * 10, "1" * 25]),
    # Anything a WSGI server passes (bytes as latin-1): controls, non-ASCII.
    st.text(alphabet=st.characters(max_codepoint=255), max_size=4),
)


def _feed_request(query: str):
    """A feed request with exactly this query string (as a WSGI server passes it)."""
    request = RequestFactory().get("/api/v1/feed")
    request.META["QUERY_STRING"] = query
    return request


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(PIECES, max_size=8))
def test_a_skipped_query_has_nothing_the_full_check_would_refuse(pieces):
    # given: any query string
    query = "".join(pieces)
    request = _feed_request(query)
    problems = [
        text_problem(value) or id_problem(value)
        for name, values in request.GET.lists()
        for value in (name, *values)
        if text_problem(value) or id_problem(value)
    ]
    # when
    checked = list(_query_to_check(request))
    # then: skipped only when the full check finds nothing; else all of it
    if not checked:
        assert not problems, (query, problems)
    else:
        assert checked == list(request.GET.lists())


def test_the_feeds_query_skips_and_an_escape_does_not(rf):
    # given
    plain = rf.get("/api/v1/feed?reader=bench-1&n=20&section=bench&locale=en")
    escaped = rf.get("/api/v1/feed?reader=a%00b")
    long_id = rf.get("/api/v1/feed?reader=x&page=99999999999999999999")
    # then
    assert list(_query_to_check(plain)) == []
    assert list(_query_to_check(escaped)) == [("reader", ["a\x00b"])]
    assert list(_query_to_check(long_id))


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(PIECES, max_size=8))
def test_the_split_query_equals_djangos(pieces):
    # given: any query string
    query = "".join(pieces)
    request = _feed_request(query)
    expected = dict(_feed_request(query).GET.lists())
    # when: read without building request.GET where it can be
    lists = query_lists(request)
    # then: the same names, values and order as Django's QueryDict
    assert lists == expected
    assert list(lists) == list(expected)
    assert query_value(request, "reader") == request.GET.get("reader")
    assert query_params(request) == request.GET.dict()


def test_a_plain_query_is_split_without_building_request_get(rf, settings):
    # given
    request = rf.get("/api/v1/feed?reader=a&n=5&reader=b&empty=&flag")
    # when
    lists = query_lists(request)
    # then
    assert "GET" not in request.__dict__
    assert lists == {"reader": ["a", "b"], "n": ["5"], "empty": [""], "flag": [""]}
    assert query_value(request, "reader") == "b"
    # and: past Django's field limit the QueryDict refuses, as it always did
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 2
    crowded = rf.get("/api/v1/feed?a=1&b=2&c=3")
    with pytest.raises(TooManyFieldsSent):
        query_lists(crowded)
