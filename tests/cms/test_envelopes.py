"""The list envelope's page links."""

from django.test import RequestFactory
from hypothesis import given, settings
from hypothesis import strategies as st

from cms.envelopes import page_links

_KEYS = st.sampled_from(["reader", "offset", "n", "section", "ré", "a b", "offset2"])
_VALUES = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)


def _reference_link(request, offset: int) -> str:
    """What Django builds by the book: a copy of the query, then an absolute URI."""
    query = request.GET.copy()
    query["offset"] = str(offset)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(_KEYS, _VALUES), max_size=6),
    offset=st.integers(min_value=0, max_value=1000),
    path=st.sampled_from(["/api/v1/feed", "/api/v1/readers/r%C3%A9/digest"]),
)
def test_page_links_match_the_query_copy_they_replace(pairs, offset, path):
    # given: any query, the offset present, repeated or absent, in any place
    request = RequestFactory().get(path, pairs, SERVER_NAME="cms.example")
    size = 20
    # when
    next_url, previous_url = page_links(
        request, offset=offset, size=size, count=10_000, max_offset=5_000
    )
    # then: the same URLs, byte for byte
    assert next_url == _reference_link(request, offset + size)
    if offset:
        assert previous_url == _reference_link(request, max(offset - size, 0))
    else:
        assert previous_url is None
