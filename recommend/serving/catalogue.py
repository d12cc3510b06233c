"""The live catalogue as arrays: what serving may recommend, with its metadata."""

import copy
import datetime
from dataclasses import dataclass, field, fields

import numpy as np
import scipy.sparse as sp
from wagtail.models import Page, Site

from cms.models import ArticlePage, Topic
from cms.selectors import article_live_list
from recommend.engine.coldstart import TfidfIndex

# A page id -> row table is kept while it is at most this many entries per item.
ROW_TABLE_MAX_SPREAD = 16


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
    # Unix seconds each item last went live; candidate lists built before that
    # moment have not seen it (an article published, or published again, since).
    live_since: np.ndarray = field(default_factory=lambda: np.empty(0))
    _live_since_order: np.ndarray | None = field(default=None, repr=False)
    _live_since_sorted: np.ndarray | None = field(default=None, repr=False)
    _rows_by_id: np.ndarray | None = field(default=None, repr=False)
    _filter_masks: dict = field(default_factory=dict, repr=False)
    _topic_dicts: dict = field(default_factory=dict, repr=False)
    _topic_column_lists: list | None = field(default=None, repr=False)
    # Section pk -> {"slug", "title"}, as cards show it.
    sections: dict[int, dict] = field(default_factory=dict)
    # Row -> card data, filled on demand (recommend/serving/cards.py).
    cards: dict[int, dict] = field(default_factory=dict, repr=False)
    cards_warming: bool = field(default=False, repr=False)
    # (fields, media base URL) -> {row: an item's JSON parts that do not change
    # between requests} (recommend/api/feeds.py).
    item_json: dict = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.item_ids)

    def positions(self, page_ids: np.ndarray) -> np.ndarray:
        """Row of each page id, -1 where the page is not live."""
        page_ids = np.asarray(page_ids, dtype=np.int64)
        if len(self.item_ids) == 0:
            return np.full(page_ids.shape, -1, dtype=np.int64)
        table = self._row_table()
        if table is not None:
            # One gather (a feed asks several times per request).
            inside = (page_ids >= 0) & (page_ids < len(table))
            if inside.all():
                return table[page_ids]
            rows = np.full(page_ids.shape, -1, dtype=np.int64)
            rows[inside] = table[page_ids[inside]]
            return rows
        rows = np.searchsorted(self.item_ids, page_ids)
        clipped = np.minimum(rows, len(self.item_ids) - 1)
        return np.where(self.item_ids[clipped] == page_ids, clipped, -1)

    def _row_table(self) -> np.ndarray | None:
        """Page id -> row (-1 for none), when ids are dense enough to index by
        (page ids count up from 1; at most ROW_TABLE_MAX_SPREAD ids per row)."""
        table = self._rows_by_id
        if table is None:
            highest = int(self.item_ids[-1])
            if self.item_ids[0] < 0 or highest > ROW_TABLE_MAX_SPREAD * (
                len(self.item_ids) + 1000
            ):
                table = np.empty(0, dtype=np.int64)  # sparse ids: binary search
            else:
                table = np.full(highest + 1, -1, dtype=np.int64)
                table[self.item_ids] = np.arange(len(self.item_ids))
            self._rows_by_id = table
        return table if len(table) else None

    def topic_column(self, slug: str) -> int:
        try:
            return self.topic_slugs.index(slug)
        except ValueError:
            return -1

    def rows_live_since(self, moment: float) -> np.ndarray:
        """Rows of the items that went live after ``moment`` (a binary search)."""
        if self._live_since_order is None:
            order = np.argsort(self.live_since, kind="stable")
            self._live_since_sorted = self.live_since[order]
            self._live_since_order = order
        start = np.searchsorted(self._live_since_sorted, moment, side="right")
        return self._live_since_order[start:]

    def filter_mask(self, key: tuple, build) -> np.ndarray:
        """A filter's row mask, built once per catalogue (filters are few)."""
        mask = self._filter_masks.get(key)
        if mask is None:
            mask = build()
            if len(self._filter_masks) < 256:
                self._filter_masks[key] = mask
        return mask

    def item_topic_dicts(self, row: int) -> list[dict]:
        """The item's topics as the API shows them (built once per item)."""
        topics = self._topic_dicts.get(row)
        if topics is None:
            topics = [
                {
                    "id": int(self.topic_ids[column]),
                    "slug": self.topic_slugs[column],
                    "name": self.topic_names[column],
                }
                for column in self.item_topic_columns(row)
            ]
            self._topic_dicts[row] = topics
        return topics

    def item_section(self, row: int) -> dict | None:
        return self.sections.get(int(self.section_ids[row]))

    def item_topic_columns(self, row: int) -> list[int]:
        return self.topic_column_lists()[row]

    def topic_column_lists(self) -> list[list[int]]:
        """Each row's topic columns as a Python list (built once per catalogue:
        a feed reads them for every item it ranks or words, one at a time)."""
        lists = self._topic_column_lists
        if lists is None:
            indptr = self.item_topics.indptr.tolist()
            indices = self.item_topics.indices.tolist()
            lists = [
                indices[start:end]
                for start, end in zip(indptr[:-1], indptr[1:], strict=True)
            ]
            self._topic_column_lists = lists
        return lists

    def topic_columns_of(self, rows: np.ndarray) -> np.ndarray:
        """Every topic column of ``rows`` (with repeats), read straight from the
        CSR arrays: a feed asks per request, and scipy's row slicing costs more
        than the whole read."""
        indptr = self.item_topics.indptr
        starts = indptr[rows]
        lengths = indptr[rows + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            return np.empty(0, dtype=self.item_topics.indices.dtype)
        before = np.cumsum(lengths) - lengths  # where each row's run starts
        index = np.repeat(starts - before, lengths) + np.arange(total)
        return self.item_topics.indices[index]


def _root_url_path() -> str:
    site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
    return site.root_page.url_path if site else "/"


def catalogue_build(
    *, page_ids: list[int] | None = None, vectoriser: TfidfIndex | None = None
) -> Catalogue:
    """Read every live article once (a few queries, no per-item work in SQL).

    With ``page_ids``, only those of them that are live (the rows an update
    adds); their texts then go through ``vectoriser`` (the base catalogue's
    vocabulary and weights) rather than an index of their own.
    """
    articles = article_live_list()
    if page_ids is not None:
        articles = articles.filter(pk__in=page_ids)
    rows = list(
        articles.order_by("pk").values_list(
            "pk",
            "title",
            "url_path",
            "path",
            "standfirst",
            "published_date",
            "first_published_at",
            "locale__language_code",
            "last_published_at",
        )
    )
    item_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    root = _root_url_path()
    urls = [
        "/" + row[2][len(root) :] if row[2].startswith(root) else row[2] for row in rows
    ]
    parent_paths = {row[3][:-4] for row in rows}
    sections = list(
        Page.objects.filter(path__in=parent_paths).values_list(
            "path", "pk", "slug", "title"
        )
    )
    section_by_path = {path: pk for path, pk, _, _ in sections}
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
    live_since = np.fromiter(
        (row[8].timestamp() if row[8] is not None else 0.0 for row in rows),
        dtype=np.float64,
        count=len(rows),
    )
    topics = list(Topic.objects.order_by("pk").values_list("pk", "slug", "name"))
    topic_ids = np.array([topic[0] for topic in topics], dtype=np.int64)
    # Every tag row, filtered to live items here: `IN (...)` with a 50k-item
    # catalogue would pass SQLite's bound-parameter limit.
    through = ArticlePage.topics.through.objects.all()
    if page_ids is not None:
        through = through.filter(articlepage_id__in=page_ids)
    links = np.array(
        list(through.values_list("articlepage_id", "topic_id")) or np.empty((0, 2)),
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
        section_by_slug={slug: pk for _, pk, slug, _ in sections},
        sections={
            pk: {"slug": slug, "title": title} for _, pk, slug, title in sections
        },
        locales=np.array([row[7] for row in rows], dtype=object),
        published=published,
        item_topics=item_topics,
        topic_ids=topic_ids,
        topic_slugs=[topic[1] for topic in topics],
        topic_names=topic_names,
        text_index=(
            TfidfIndex(texts) if vectoriser is None else vectoriser.with_rows(texts)
        ),
        live_since=live_since,
    )


# Past this share of the catalogue changed at once, a full build is as cheap and
# refreshes the text index's vocabulary and weights, which updates only reuse.
UPDATE_MAX_SHARE = 0.05


@dataclass
class CatalogueUpdate:
    catalogue: Catalogue
    kept: np.ndarray  # rows of the old catalogue that stay (as they were)
    added: Catalogue  # rows read for this update (new, republished, moved)
    order: np.ndarray  # new row -> position in concat(old[kept], added)


def _merged(
    old: Catalogue, kept: np.ndarray, added: Catalogue, order: np.ndarray
) -> Catalogue:
    """old[kept] and added, in id order; per-catalogue caches start empty."""
    values = {}
    for spec in fields(Catalogue):
        name = spec.name
        if not spec.repr:  # per-row caches and memos of the old rows
            continue
        mine, theirs = getattr(old, name), getattr(added, name)
        if name in ("topic_ids", "topic_slugs", "topic_names"):
            values[name] = mine
        elif name == "text_index":
            merged = copy.copy(mine)
            merged.matrix = sp.vstack([mine.matrix[kept], theirs.matrix]).tocsr()[order]
            values[name] = merged
        elif sp.issparse(mine):
            values[name] = sp.vstack([mine[kept], theirs]).tocsr()[order]
            values[name].sort_indices()
        elif isinstance(mine, np.ndarray) and len(mine) == len(old):
            values[name] = np.concatenate([mine[kept], theirs])[order]
        elif isinstance(mine, list) and len(mine) == len(old):
            joined = [mine[row] for row in kept.tolist()] + list(theirs)
            values[name] = [joined[index] for index in order.tolist()]
        elif isinstance(mine, dict):
            values[name] = {**mine, **theirs}
        else:
            raise TypeError(f"Catalogue.{name}: no rule to merge it")
    return Catalogue(**values)


def _cards_carry(
    catalogue: Catalogue, old: Catalogue, kept: np.ndarray, order: np.ndarray
) -> None:
    """Cards of the rows kept as they were (an edit republishes: its row is re-read)."""
    if not old.cards:
        return
    kept_count = len(kept)
    for row, source in enumerate(order.tolist()):
        if source < kept_count:
            card = old.cards.get(int(kept[source]))
            if card is not None:
                catalogue.cards[row] = card


def catalogue_update(old: Catalogue) -> CatalogueUpdate | None:
    """The live catalogue as a change of ``old``: rows removed, added or re-read.

    One narrow query lists every live article's id, last publication and path;
    rows whose article left are dropped, and only new, republished (edited) or
    moved articles are read in full. None when a full build is due instead: too
    much changed, the topics changed, or ``old`` is empty.
    """
    if len(old) == 0:
        return None
    live = list(
        article_live_list()
        .order_by("pk")
        .values_list("pk", "last_published_at", "url_path")
    )
    ids = np.fromiter((row[0] for row in live), dtype=np.int64, count=len(live))
    stamps = np.fromiter(
        (row[1].timestamp() if row[1] is not None else 0.0 for row in live),
        dtype=np.float64,
        count=len(live),
    )
    root = _root_url_path()
    urls = [
        "/" + row[2][len(root) :] if row[2].startswith(root) else row[2] for row in live
    ]
    rows = old.positions(ids)
    known = rows >= 0
    changed = ~known
    known_rows = rows[known]
    same_stamp = old.live_since[known_rows] == stamps[known]
    known_urls = [url for url, found in zip(urls, known.tolist(), strict=True) if found]
    same_url = np.array(
        [
            old.urls[row] == url
            for row, url in zip(known_rows.tolist(), known_urls, strict=True)
        ],
        dtype=bool,
    )
    changed[known] = ~(same_stamp & same_url)
    reread = ids[changed]
    kept = np.zeros(len(old), dtype=bool)
    kept[known_rows] = True
    kept[rows[changed & known]] = False
    if len(reread) > UPDATE_MAX_SHARE * len(old):
        return None
    topics = list(Topic.objects.order_by("pk").values_list("pk", flat=True))
    if topics != old.topic_ids.tolist():
        return None
    added = catalogue_build(page_ids=reread.tolist(), vectoriser=old.text_index)
    kept_rows = np.flatnonzero(kept)
    order = np.argsort(np.concatenate([old.item_ids[kept_rows], added.item_ids]))
    catalogue = _merged(old, kept_rows, added, order)
    _cards_carry(catalogue, old, kept_rows, order)
    return CatalogueUpdate(
        catalogue=catalogue,
        kept=kept_rows,
        added=added,
        order=order,
    )
