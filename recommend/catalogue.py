"""The live catalogue as arrays: what serving may recommend, with its metadata."""

import datetime
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from wagtail.models import Page, Site

from cms.models import ArticlePage, Topic
from cms.selectors import article_live_list
from recommend.engine.coldstart import TfidfIndex


@dataclass
class Catalogue:
    """Live articles in id order; row i of every array is item_ids[i]."""

    item_ids: np.ndarray  # int64, sorted
    titles: list[str]
    urls: list[str]
    section_ids: np.ndarray  # int64
    section_by_slug: dict[str, int]  # sections holding live articles
    locales: np.ndarray  # str language codes
    published: np.ndarray  # float64 unix seconds (publication date)
    item_topics: sp.csr_matrix  # bool [items, topics]
    topic_ids: np.ndarray  # column -> Topic pk
    topic_slugs: list[str]
    topic_names: list[str]
    text_index: TfidfIndex  # title, standfirst and topics, row-aligned

    def __len__(self) -> int:
        return len(self.item_ids)

    def positions(self, page_ids: np.ndarray) -> np.ndarray:
        """Row of each page id, -1 where the page is not live."""
        page_ids = np.asarray(page_ids, dtype=np.int64)
        if len(self.item_ids) == 0:
            return np.full(page_ids.shape, -1, dtype=np.int64)
        rows = np.searchsorted(self.item_ids, page_ids)
        clipped = np.minimum(rows, len(self.item_ids) - 1)
        return np.where(self.item_ids[clipped] == page_ids, clipped, -1)

    def topic_column(self, slug: str) -> int:
        try:
            return self.topic_slugs.index(slug)
        except ValueError:
            return -1

    def item_topic_columns(self, row: int) -> list[int]:
        indptr = self.item_topics.indptr
        return self.item_topics.indices[indptr[row] : indptr[row + 1]].tolist()


def _root_url_path() -> str:
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    return site.root_page.url_path if site else "/"


def catalogue_build() -> Catalogue:
    """Read every live article once (a few queries, no per-item work in SQL)."""
    rows = list(
        article_live_list()
        .order_by("pk")
        .values_list(
            "pk",
            "title",
            "url_path",
            "path",
            "standfirst",
            "published_date",
            "first_published_at",
            "locale__language_code",
        )
    )
    item_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    root = _root_url_path()
    urls = [
        "/" + row[2][len(root) :] if row[2].startswith(root) else row[2] for row in rows
    ]
    parent_paths = {row[3][:-4] for row in rows}
    sections = list(
        Page.objects.filter(path__in=parent_paths).values_list("path", "pk", "slug")
    )
    section_by_path = {path: pk for path, pk, _ in sections}
    section_ids = np.fromiter(
        (section_by_path.get(row[3][:-4], 0) for row in rows),
        dtype=np.int64,
        count=len(rows),
    )

    def published_at(row) -> float:
        if row[5] is not None:
            moment = datetime.datetime.combine(
                row[5], datetime.time(12), tzinfo=datetime.UTC
            )
            return moment.timestamp()
        return row[6].timestamp() if row[6] is not None else 0.0

    published = np.fromiter(
        (published_at(row) for row in rows), dtype=np.float64, count=len(rows)
    )
    topics = list(Topic.objects.order_by("pk").values_list("pk", "slug", "name"))
    topic_ids = np.array([topic[0] for topic in topics], dtype=np.int64)
    # Every tag row, filtered to live items here: `IN (...)` with a 50k-item
    # catalogue would pass SQLite's bound-parameter limit.
    links = np.array(
        list(
            ArticlePage.topics.through.objects.values_list("articlepage_id", "topic_id")
        )
        or np.empty((0, 2)),
        dtype=np.int64,
    ).reshape(-1, 2)
    live_link = np.isin(links[:, 0], item_ids) & np.isin(links[:, 1], topic_ids)
    links = links[live_link]
    link_rows = np.searchsorted(item_ids, links[:, 0])
    link_columns = np.searchsorted(topic_ids, links[:, 1])
    item_topics = sp.csr_matrix(
        (np.ones(len(links), dtype=bool), (link_rows, link_columns)),
        shape=(len(item_ids), len(topic_ids)),
    )
    item_topics.sort_indices()
    topic_names = [topic[2] for topic in topics]
    texts = []
    for index, row in enumerate(rows):
        columns = item_topics.indices[
            item_topics.indptr[index] : item_topics.indptr[index + 1]
        ]
        # Topic names twice: they are the strongest content signal an item has.
        names = " ".join(topic_names[column] for column in columns)
        texts.append(f"{row[1]} {row[4]} {names} {names}")
    return Catalogue(
        item_ids=item_ids,
        titles=[row[1] for row in rows],
        urls=urls,
        section_ids=section_ids,
        section_by_slug={slug: pk for _, pk, slug in sections},
        locales=np.array([row[7] for row in rows], dtype=object),
        published=published,
        item_topics=item_topics,
        topic_ids=topic_ids,
        topic_slugs=[topic[1] for topic in topics],
        topic_names=topic_names,
        text_index=TfidfIndex(texts),
    )
