"""Royal Road's RSS feed: its URL for a fiction, and the chapters it announces."""

from __future__ import annotations

from datetime import UTC

import pytest
from scrapy.http import XmlResponse

from chapterhouse.crawl.site import NovelRef, Site
from chapterhouse.crawl.sites.royalroad import RoyalRoad
from chapterhouse.errors import LayoutError
from tests.fakesite import royalroad as fake

MIRROR = "http://127.0.0.1:8765"
SITE = RoyalRoad()


def xml(url: str, body: str) -> XmlResponse:
    return XmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8")


def test_feed_url_is_the_fictions_syndication_url_on_its_origin() -> None:
    real = NovelRef("royalroad", "21220", "https://www.royalroad.com/fiction/21220/some-name")
    assert SITE.feed_url(real) == "https://www.royalroad.com/fiction/syndication/21220"
    mirror = NovelRef("royalroad", "7", f"{MIRROR}/fiction/7/x")
    assert SITE.feed_url(mirror) == f"{MIRROR}/fiction/syndication/7"


def test_a_site_without_a_feed_says_so() -> None:
    class NoFeed(Site):
        name = "nofeed"

    assert NoFeed().feed_url(NovelRef("nofeed", "1", "https://example.invalid/1")) is None


def test_feed_items_are_the_chapters_with_ids_urls_and_dates() -> None:
    fiction = fake.make_fiction(515, 3)
    response = xml(f"{MIRROR}{fake.feed_path(fiction)}", fake.feed_xml(fiction))

    items = SITE.parse_feed(response)

    assert [item.site_chapter_id for item in items] == ["5150003", "5150002", "5150001"]
    newest = fiction.chapters[-1]
    assert items[0].url == f"{MIRROR}{fake.chapter_path(fiction, newest)}"
    assert newest.title in items[0].title
    assert items[0].published_at == newest.published
    assert items[0].published_at.tzinfo == UTC


def test_items_without_a_chapter_link_are_skipped_and_bad_dates_are_none() -> None:
    body = """<?xml version="1.0"?><rss version="2.0"><channel><title>x</title>
      <item><title>News</title><link>https://www.royalroad.com/forums/1</link></item>
      <item><title>c</title><link>https://www.royalroad.com/fiction/1/x/chapter/99/c</link>
            <pubDate>not a date</pubDate></item>
    </channel></rss>"""
    items = SITE.parse_feed(xml("https://www.royalroad.com/fiction/syndication/1", body))
    assert [(i.site_chapter_id, i.published_at) for i in items] == [("99", None)]


def test_a_page_that_is_no_feed_is_a_layout_error() -> None:
    with pytest.raises(LayoutError, match="not an RSS feed"):
        SITE.parse_feed(xml(f"{MIRROR}/fiction/syndication/1", "<html><body>hi</body></html>"))


def test_an_empty_feed_has_no_items() -> None:
    fiction = fake.make_fiction(516, 0)
    assert SITE.parse_feed(xml(f"{MIRROR}/f", fake.feed_xml(fiction))) == []
