"""One error hierarchy. Each error carries a message fit to show a user as is."""

from __future__ import annotations


class ChapterhouseError(Exception):
    """Base of every error chapterhouse raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidUrlError(ChapterhouseError):
    """The submitted text is not an http(s) URL we can use."""


class UnsupportedSiteError(ChapterhouseError):
    """The URL's host belongs to no registered site."""

    def __init__(self, host: str, supported: list[str]) -> None:
        super().__init__(
            f"{host or 'this URL'} is not a supported site; supported sites: "
            + ", ".join(supported)
        )
        self.host = host
        self.supported = supported


class NotFoundError(ChapterhouseError):
    """Something the user named does not exist."""


class JobNotFoundError(NotFoundError):
    """No ingestion job has that id."""


class NovelNotFoundError(NotFoundError):
    """No stored novel has that slug."""


class ChapterNotFoundError(NotFoundError):
    """The novel has no chapter with that number."""


class GenreNotFoundError(NotFoundError):
    """No genre has that slug."""


class SeriesNotFoundError(NotFoundError):
    """No stored series has that id."""


class ServiceUnavailableError(ChapterhouseError):
    """A backing service (Redis, the database) does not answer."""


class QueueUnavailableError(ServiceUnavailableError):
    """Redis does not answer, so nothing can be queued."""


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database does not answer."""


class CrawlError(ChapterhouseError):
    """A crawl could not produce the novel; the message names the page and the reason."""


class NovelMissingError(CrawlError):
    """The site says the novel does not exist."""


class LayoutError(CrawlError):
    """A page no longer has the markup the spider expects."""


class LoginRequiredError(CrawlError):
    """The site shows the novel to logged-in users only (an AO3 restricted work)."""


class UnsafeAddressError(ChapterhouseError):
    """A host resolves to a private, loopback, link-local or reserved address it may not reach."""


class UnknownDomainError(NotFoundError):
    """The name given to pause or resume is neither a supported site nor one of its domains."""


class DrainTimeoutError(ChapterhouseError):
    """Jobs were still running when `drain --wait` ran out of time."""


class ConflictError(ChapterhouseError):
    """The request does not fit the current state (e.g. retrying a job that still runs)."""


class AuthenticationError(ChapterhouseError):
    """No credentials, or not a well-formed `Authorization: Bearer <key>`."""


class PermissionDeniedError(ChapterhouseError):
    """Credentials were given, but they are not a key this service accepts."""


class LimitExceededError(ChapterhouseError):
    """A client went over a configured cap; the message names the setting and its value."""

    def __init__(
        self, message: str, *, setting: str, limit: int, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.setting = setting
        self.limit = limit
        self.retry_after = retry_after


class WebhookDeliveryError(ChapterhouseError):
    """The webhook receiver did not take a delivery (an HTTP error or no answer); RQ retries."""
