"""The feed spider: one request for a followed novel's feed, parsed by its site file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import scrapy
from scrapy.http import Response, XmlResponse
from twisted.python.failure import Failure

from chapterhouse.crawl.site import FeedItem, Site
from chapterhouse.crawl.spider import describe_failure
from chapterhouse.errors import ChapterhouseError


@dataclass
class FeedFetch:
    """What the feed said: its items, or why it could not be read."""

    items: list[FeedItem] = field(default_factory=list)
    error: str | None = None


class FeedSpider(scrapy.Spider):
    """Fetch one feed URL and hand it to the site's `parse_feed`."""

    name = "feed"

    def __init__(self, site: Site, url: str, result: FeedFetch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.site = site
        self.url = url
        self.result = result

    async def start(self) -> AsyncIterator[Any]:
        """The feed is the only request (robots.txt aside)."""
        yield scrapy.Request(self.url, callback=self.parse_feed, errback=self.failed)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """Read the items; a page that is no feed is recorded as the error."""
        if not isinstance(response, XmlResponse):
            # Sites label feeds loosely (text/html, text/plain); parse it as XML regardless.
            response = XmlResponse(
                url=response.url, status=response.status, headers=response.headers,
                body=response.body,
            )  # fmt: skip
        try:
            self.result.items = self.site.parse_feed(response)  # type: ignore[arg-type]
        except ChapterhouseError as exc:
            self.result.error = exc.message
        yield from ()

    def failed(self, failure: Failure) -> None:
        """The feed could not be fetched (HTTP error after retries, robots.txt, network)."""
        self.result.error = describe_failure(self.url, failure)
