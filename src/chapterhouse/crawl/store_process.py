"""Chapter pages are parsed, cleaned and stored by a process of their own, forked per crawl.

Parsing, cleaning and storing a chapter hold the GIL for about a millisecond. In the crawl's own
process they would take it from Scrapy's reactor, which needs it for every response, and the
crawl would run at the speed of the two together. A forked child has an interpreter and a core
of its own: the reactor only hands it each page (a pipe write) and goes on fetching.

The child writes chapters and the job's progress itself and tells the crawl only what steers it:
a chapter that did not parse, a cancel read with the progress, a storage failure, and at the end
its counts. It dies with the crawl's process (PR_SET_PDEATHSIG), so a killed work horse leaves
nothing writing behind it.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from chapterhouse.crawl.recorder import JobRecorder
from chapterhouse.crawl.site import Site
from chapterhouse.domain import ChapterRef
from chapterhouse.errors import ChapterhouseError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# Bytes of pages handed over but not read by the child yet, at most (Linux's cap unless raised).
PIPE_BYTES = 1024 * 1024
_F_SETPIPE_SZ = 1031
# The child yields the CPU to the crawl: fetching is the path every page waits on, and the child
# catches up in its pauses (a child far behind fills the pipe, and the crawl waits for it).
STORE_NICENESS = 5


class StoreProcessError(RuntimeError):
    """The chapter store process ended without saying why (killed, or a bug)."""


class ChapterStoreProcess:
    """The crawl's side: start the child, hand it pages, learn what it did."""

    def __init__(self, site: Site, recorder: JobRecorder) -> None:
        self.site = site
        self.recorder = recorder
        self._pages: Connection | None = None  # pages to the child
        self._reports: Connection | None = None  # what the child says back
        self._process: Any = None
        self._reader: threading.Thread | None = None
        self._last_page: Any = None  # the response last sent: AO3 sends one page per chapter
        self._ended = threading.Event()
        self._sending = threading.Lock()  # `finish` sends from a thread of the pool

    def start(self) -> None:
        """Fork the child and start listening to it."""
        pages_in, pages_out = multiprocessing.Pipe(duplex=False)
        reports_in, reports_out = multiprocessing.Pipe(duplex=False)
        _widen(pages_out)
        context = multiprocessing.get_context("fork")
        self._process = context.Process(
            target=_serve,
            args=(pages_in, reports_out, (pages_out, reports_in), self.site, self.recorder),
            kwargs={"parent": os.getpid()},
            name=f"chapterhouse-store-{self.recorder.job_id}",
            daemon=True,
        )
        # The two processes share memory until either writes to it, and a full collection
        # writes to every object it walks: it would copy the whole heap into both. What exists
        # now stays frozen (out of the collector's reach) on both sides until the child ends.
        gc.freeze()
        self._process.start()
        pages_in.close()
        reports_out.close()
        self._pages, self._reports = pages_out, reports_in
        self._reader = threading.Thread(
            target=self._listen, name="chapterhouse-store-reader", daemon=True
        )
        self._reader.start()

    def novel_stored(self, novel_id: int) -> None:
        """Tell the child which novel the chapters belong to (stored by the crawl itself)."""
        self._send(("novel", novel_id))

    def put(self, ref: ChapterRef, response: Any) -> None:
        """Hand one fetched chapter page over; blocks while the child is a pipe-full behind."""
        if response is self._last_page:
            self._send(("chapter", ref, None, None, None))
            return
        self._last_page = response
        self._send(("chapter", ref, response.url, response.body, response.encoding))

    def finish(self, timeout: float | None = None) -> None:
        """Let the child store what it holds, close, and report; wait for it (blocking)."""
        self._send(None)
        self._ended.wait(timeout)
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        gc.unfreeze()
        for conn in (self._pages, self._reports):
            if conn is not None:
                conn.close()

    def _send(self, message: Any) -> None:
        # Written by the calling thread itself: a handing-over thread cost the reactor more in
        # taking the GIL back after each of its system calls than the write does. The pipe holds
        # PIPE_BYTES, so the write only waits when the child is that far behind.
        if self._pages is None or self._ended.is_set():
            return  # the child is gone; what is left is dropped
        try:
            with self._sending:
                self._pages.send(message)
        except (BrokenPipeError, EOFError, OSError) as exc:
            self._fail(StoreProcessError(f"the chapter store process is gone: {exc}"))

    def _listen(self) -> None:
        assert self._reports is not None
        try:
            while True:
                kind, *rest = self._reports.recv()
                if kind == "failed":
                    ref, reason = rest
                    self.recorder.chapter_failed(ref, reason)
                elif kind == "canceled":
                    self.recorder.outcome.canceled = True
                elif kind == "store_error":
                    self._fail(_unpickle_error(rest[0]))
                elif kind == "closed":
                    counts, done = rest
                    with self.recorder.counting:
                        for key, value in counts.items():
                            if key != "failed":  # failures are counted here, as they come
                                self.recorder.outcome.counts[key] += value
                    self.recorder.done = done
                    break
        except (EOFError, OSError):
            code = self._process.exitcode if self._process is not None else None
            self._fail(StoreProcessError(f"the chapter store process ended (exit code {code})"))
        finally:
            self._ended.set()

    def _fail(self, error: BaseException) -> None:
        if self.recorder.outcome.store_error is None:
            self.recorder.outcome.store_error = error


def _widen(conn: Connection) -> None:
    """Let the pipe hold PIPE_BYTES (Linux; elsewhere, or when refused, it keeps its size)."""
    try:
        import fcntl

        fcntl.fcntl(conn.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, OSError):
        pass


def _serve(
    pages: Connection,
    conn: Connection,
    parents_ends: tuple[Connection, Connection],
    site: Site,
    recorder: JobRecorder,
    *,
    parent: int,
) -> None:
    """The child: store every chapter page that comes on `pages`, until told to close; report
    on `conn`."""
    for end in parents_ends:
        end.close()
    _die_with(parent)
    os.nice(STORE_NICENESS)
    # The crawl's process decides when to stop (a signal reaches the whole process group).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Connections inherited from the parent stay the parent's: this pool opens its own.
    recorder.sessions.kw["bind"].dispose(close=False)
    recorder.counting = threading.Lock()
    from scrapy.http import HtmlResponse

    page: Any = None
    told_canceled = False
    while True:
        message = pages.recv()
        if message is None:
            break
        if message[0] == "novel":
            recorder.novel_id = message[1]
            continue
        _, ref, url, body, encoding = message
        if url is not None:
            page = HtmlResponse(url=url, body=body, encoding=encoding)
        if recorder.outcome.store_error is not None:
            continue  # the crawl stops; what is still coming is dropped
        try:
            data = site.parse_chapter(page, ref)
        except ChapterhouseError as exc:
            conn.send(("failed", ref, exc.message))
            continue
        except Exception as exc:  # a page no parser foresaw fails its chapter, not the job
            log.exception("job %s: parsing %s failed", recorder.job_id, ref.url)
            conn.send(("failed", ref, f"{ref.url} could not be parsed: {type(exc).__name__}"))
            continue
        try:
            recorder.chapter(data)
        except SQLAlchemyError as exc:
            _stored_failed(conn, recorder, exc)
            continue
        except Exception as exc:  # content the cleaner chokes on fails its chapter alone
            log.exception("job %s: cleaning %s failed", recorder.job_id, ref.url)
            conn.send(("failed", ref, f"{ref.url} could not be cleaned: {type(exc).__name__}"))
            continue
        if recorder.outcome.canceled and not told_canceled:
            conn.send(("canceled",))
            told_canceled = True
    try:
        recorder.close()
    except SQLAlchemyError as exc:
        _stored_failed(conn, recorder, exc)
    conn.send(("closed", dict(recorder.outcome.counts), recorder.done))
    conn.close()


def _stored_failed(conn: Connection, recorder: JobRecorder, exc: SQLAlchemyError) -> None:
    # The database is gone: the attempt ends and RQ retries the job later.
    log.error("job %s: storing failed: %s", recorder.job_id, exc)
    if recorder.outcome.store_error is None:
        recorder.outcome.store_error = exc
        conn.send(("store_error", _pickle_error(exc)))


def _pickle_error(exc: BaseException) -> bytes:
    try:
        return pickle.dumps(exc)
    except Exception:  # any error is better said as text than lost
        return pickle.dumps(StoreProcessError(f"{type(exc).__name__}: {exc}"))


def _unpickle_error(data: bytes) -> BaseException:
    try:
        error = pickle.loads(data)  # our own child, over our own pipe
    except Exception as exc:
        return StoreProcessError(f"storing failed (unreadable error: {exc})")
    return error if isinstance(error, BaseException) else StoreProcessError(str(error))


def _die_with(parent: int) -> None:
    """Be killed when the crawl's process dies, however it dies (Linux)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            log.warning("store process: cannot tie its life to the crawl's")
    if os.getppid() != parent:  # the parent died before the tie was made
        os._exit(1)
