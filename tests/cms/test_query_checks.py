"""The shared query checks skip only what cannot hold a problem."""

from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from cms.limits import id_problem, text_problem
from cms.middleware import _query_to_check

PIECES = st.one_of(
    st.sampled_from(["reader=bench-1", "n=20", "&", "=", "+", "offset=40", "a;b"]),
    st.text(alphabet="abc019-_.~+,:/@!$'()*;", max_size=8),
    st.sampled_from(["%00", "%0A", "%09", "%C3%A9", "%ED%A0%80", "%7F", "%C2%85"]),
    st.sampled_from(["9" * 19, "9223372036854775808", "-9" * 10, "1" * 25]),
    # Anything a WSGI server passes (bytes as latin-1): controls, non-ASCII.
    st.text(alphabet=st.characters(max_codepoint=255), max_size=4),
)


@settings(max_examples=400, deadline=None)
@given(pieces=st.lists(PIECES, max_size=8))
def test_a_skipped_query_has_nothing_the_full_check_would_refuse(pieces):
    # given: any query string
    query = "".join(pieces)
    request = RequestFactory().get("/api/v1/feed")
    request.META["QUERY_STRING"] = query
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
