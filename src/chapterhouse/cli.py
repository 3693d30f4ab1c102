"""The `chapterhouse` command line. It calls services; errors end as one red line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Annotated

import typer
from redis.exceptions import RedisError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from chapterhouse.config import Settings, get_settings, redact
from chapterhouse.db.models import IngestionJob, JobStatus
from chapterhouse.errors import ChapterhouseError
from chapterhouse.services import Runtime

app = typer.Typer(
    help="chapterhouse: ingest web novels into your own library.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print one red line, passwords and keys redacted, and return the exit to raise."""
    try:
        settings: Settings | None = get_settings()
    except ValueError:  # settings that do not parse: URL passwords are still caught
        settings = None
    message = redact(message, settings)
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


@contextmanager
def runtime() -> Iterator[Runtime]:
    """Connections for one command; known errors become one red line, never a traceback."""
    rt: Runtime | None = None
    try:
        rt = Runtime(get_settings())
        yield rt
    except ChapterhouseError as exc:
        raise fail(exc.message) from None
    except SQLAlchemyError as exc:
        first_line = (
            str(getattr(exc, "orig", None) or exc).splitlines()[0]
            if str(exc)
            else type(exc).__name__
        )
        raise fail(f"the database is unavailable: {first_line}") from None
    except RedisError as exc:
        raise fail(f"Redis is unavailable: {exc}") from None
    except ValueError as exc:  # settings that do not parse
        raise fail(str(exc).splitlines()[0]) from None
    finally:
        if rt is not None:
            rt.close()


def job_line(job: IngestionJob) -> str:
    """One line describing a job's state."""
    total = "?" if job.chapters_total is None else job.chapters_total
    slug = job.novel.slug if job.novel else "-"
    text = f"job {job.id} {job.status} {job.chapters_done}/{total} chapters, novel {slug}"
    return f"{text}: {job.error}" if job.error else text


@app.command()
def up(workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1) -> None:
    """Migrate, make sure Redis answers (starting a local one if need be), run API + worker."""
    from chapterhouse.launcher import run_stack

    with runtime() as rt:
        _migrate(rt)
        out.print(f"API on http://{rt.settings.api_host}:{rt.settings.api_port}  (Ctrl-C stops)")
        code = run_stack(rt.settings, workers=workers)
    raise typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="processes (default CHAPTERHOUSE_API_WORKERS)")
    ] = None,
) -> None:
    """Run the HTTP API."""
    import uvicorn

    from chapterhouse.logs import configure_logging

    settings = get_settings()
    configure_logging(settings)
    uvicorn.run(
        # Each worker process builds the app (and configures its logging) itself.
        "chapterhouse.api.app:create_served_app",
        factory=True,
        host=host or settings.api_host,
        port=port or settings.api_port,
        workers=workers or settings.api_workers,
        log_level=settings.log_level.lower(),
        log_config=None,  # our root handler formats uvicorn's lines too (text or JSON)
    )


@app.command()
def worker(
    burst: Annotated[bool, typer.Option(help="exit when the queue is empty")] = False,
    workers: Annotated[int, typer.Option(min=1, help="worker processes to run")] = 1,
    max_jobs: Annotated[int | None, typer.Option(help="exit after this many jobs")] = None,
    max_memory: Annotated[
        int | None, typer.Option(min=1, help="exit after a job once over this many MB")
    ] = None,
) -> None:
    """Process ingestion jobs from the queue."""
    from chapterhouse.queue.worker import run_worker, run_worker_processes

    if workers > 1:
        extra: tuple[str, ...] = ("--max-jobs", str(max_jobs)) if max_jobs else ()
        extra += ("--max-memory", str(max_memory)) if max_memory else ()
        raise typer.Exit(run_worker_processes(workers, burst=burst, extra=extra))
    with runtime() as rt:
        run_worker(rt.settings, burst=burst, max_jobs=max_jobs, max_memory=max_memory)


@app.command()
def ingest(
    url: str,
    wait: Annotated[bool, typer.Option(help="show progress until the job ends")] = False,
    now: Annotated[bool, typer.Option(help="run here, without Redis or a worker")] = False,
) -> None:
    """Submit a novel URL for ingestion."""
    from chapterhouse import services

    with runtime() as rt:
        result = services.submit_ingest(rt, url, enqueue=not now)
        job = result.job
        if not result.created:
            out.print(f"job {job.id} for this novel is already {job.status}")
        elif not now:
            out.print(f"job {job.id} queued")
        if now and result.created:
            _run_inline(rt.settings, job.id)
            job = services.get_job(rt, job.id)
        elif wait:
            job = _follow(rt, job.id)
        else:
            return
        out.print(job_line(job))
        if job.status == JobStatus.FAILED:
            raise typer.Exit(1)


def _run_inline(settings: Settings, job_id: int) -> None:
    from chapterhouse.crawl.ingest import run_job
    from chapterhouse.errors import CrawlError

    out.print(f"job {job_id}: crawling in this process")
    # On CrawlError the job row carries the reason, printed by the caller.
    with suppress(CrawlError):
        run_job(settings, job_id)


def _follow(rt: Runtime, job_id: int) -> IngestionJob:
    from chapterhouse import services

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=out, transient=True) as progress:
        task = progress.add_task(f"job {job_id} queued", total=None)
        # The same change events as GET /jobs/{id}/events; the last one is the ended job.
        for event in services.follow_job(rt, job_id):
            job = event.job
            note = f" ({job.note})" if job.note else ""
            progress.update(
                task,
                description=f"job {job_id} {job.status}{note}",
                total=job.chapters_total,
                completed=job.chapters_done,
            )
    return job


@app.command()
def jobs(
    status: Annotated[str | None, typer.Option(help="only jobs with this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """List ingestion jobs, newest first."""
    from chapterhouse import services

    if status is not None and status not in JobStatus.ALL:
        raise fail(f"unknown status {status!r}; one of: {', '.join(JobStatus.ALL)}")
    with runtime() as rt:
        page = services.list_jobs(rt, status=status, limit=limit)
    table = Table("id", "status", "progress", "attempts", "novel", "url", "error")
    for job in page.items:
        total = "?" if job.chapters_total is None else str(job.chapters_total)
        table.add_row(
            str(job.id),
            job.status,
            f"{job.chapters_done}/{total}",
            str(job.attempts),
            job.novel.slug if job.novel else "",
            job.url,
            job.error or "",
        )
    out.print(table)
    out.print(f"{len(page.items)} of {page.total} jobs")


@app.command("job")
def show_job(job_id: int) -> None:
    """Show one job."""
    from chapterhouse import services

    with runtime() as rt:
        job = services.get_job(rt, job_id)
    out.print(job_line(job))
    for label, value in (
        ("url", job.url),
        ("attempts", job.attempts),
        ("created", job.created_at),
        ("started", job.started_at),
        ("finished", job.finished_at),
        ("rq job", job.rq_job_id),
        ("stats", job.stats or ""),
    ):
        out.print(f"  {label:<9} {value if value is not None else '-'}")
    for failure in job.failed_chapters or []:
        out.print(f"  [yellow]failed chapter {failure['number']}[/yellow] {failure['error']}")


@app.command()
def retry(job_id: int) -> None:
    """Queue an ended job again; only missing or changed chapters are fetched."""
    from chapterhouse import services

    with runtime() as rt:
        result = services.retry_job(rt, job_id)
    if result.created:
        out.print(f"job {job_id} queued again")
    else:
        out.print(f"job {result.job.id} for this novel is already {result.job.status}")


@app.command()
def cancel(job_id: int) -> None:
    """Cancel a job: queued ones at once, running ones at the next chapter (kept)."""
    from chapterhouse import services

    with runtime() as rt:
        job = services.cancel_job(rt, job_id)
    out.print(job_line(job))


@app.command()
def delete(job_id: int) -> None:
    """Delete an ended job's record; the novel stays."""
    from chapterhouse import services

    with runtime() as rt:
        services.delete_job(rt, job_id)
    out.print(f"job {job_id} deleted")


@app.command("retry-failed")
def retry_failed(
    site: Annotated[str | None, typer.Option(help="only jobs of this site")] = None,
    error: Annotated[str | None, typer.Option(help="only jobs whose error contains this")] = None,
) -> None:
    """Queue again every failed or partial job (optionally filtered)."""
    from chapterhouse import services

    with runtime() as rt:
        ids = services.retry_failed(rt, site=site, error_contains=error)
    out.print(f"{len(ids)} job(s) queued again" + (f": {', '.join(map(str, ids))}" if ids else ""))


@app.command()
def reconcile(
    grace: Annotated[float, typer.Option(help="leave jobs younger than this (s) alone")] = 10,
) -> None:
    """Requeue jobs Redis lost or whose worker died (workers also do this periodically)."""
    from chapterhouse import services

    with runtime() as rt:
        report = services.reconcile(rt, grace=grace)
        checks = services.enqueue_due_checks(rt)
    out.print(
        f"{report.checked} active job(s) checked, {len(report.requeued)} requeued, "
        f"{len(report.failed)} failed after too many attempts"
    )
    if checks:
        out.print(f"{len(checks)} due follow check(s) queued again")


@app.command()
def reclean(
    novel: Annotated[str | None, typer.Option(help="only this novel (slug)")] = None,
    all_chapters: Annotated[
        bool, typer.Option("--all", help="every chapter, not only older cleaner versions")
    ] = False,
) -> None:
    """Re-clean stored chapters from their raw HTML, without fetching anything."""
    from chapterhouse import services

    with runtime() as rt:
        count = services.reclean(rt, novel_slug=novel, everything=all_chapters)
    out.print(f"{count} chapter(s) re-cleaned")


@app.command()
def novels(
    search: Annotated[str | None, typer.Option(help="title or author contains")] = None,
    genre: Annotated[str | None, typer.Option(help="genre slug")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List stored novels."""
    from chapterhouse.db import library

    with runtime() as rt, rt.sessions() as session:
        page = library.list_novels(session, search=search, genre=genre, limit=limit)
        table = Table("slug", "title", "author", "site", "status", "chapters", "words")
        for novel in page.items:
            table.add_row(
                novel.slug,
                novel.title,
                novel.author or "",
                novel.site,
                novel.status or "",
                str(novel.chapter_count),
                f"{novel.word_count:,}",
            )
    out.print(table)
    out.print(f"{len(page.items)} of {page.total} novels")


@app.command()
def follow(slug: str) -> None:
    """Follow a stored novel: check it for new chapters on a schedule fitted to its rhythm."""
    from chapterhouse import services

    with runtime() as rt:
        novel = services.follow_novel(rt, slug)
    out.print(f"following {novel.slug}; next check {_when(novel.next_check_at)}")


@app.command()
def unfollow(slug: str) -> None:
    """Stop following a novel; its chapters stay."""
    from chapterhouse import services

    with runtime() as rt:
        novel = services.unfollow_novel(rt, slug)
    out.print(f"no longer following {novel.slug}")


@app.command()
def following() -> None:
    """List followed novels with their next check and what the last one found."""
    from chapterhouse import services

    with runtime() as rt:
        novels = services.list_following(rt)
    table = Table("slug", "title", "next check", "every", "last check", "found")
    for novel in novels:
        every = f"{novel.check_interval / 3600:.1f} h" if novel.check_interval else ""
        table.add_row(
            novel.slug,
            novel.title,
            _when(novel.next_check_at),
            every,
            _when(novel.last_checked_at),
            novel.last_check_note or "",
        )
    out.print(table)
    out.print(f"{len(novels)} followed novel(s)")


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    if moment.tzinfo is None:  # SQLite hands timestamps back naive; they are UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@app.command()
def genres() -> None:
    """List genres with their number of novels."""
    from chapterhouse.db import library

    with runtime() as rt, rt.sessions() as session:
        rows = library.list_genres(session)
    table = Table("slug", "name", "novels")
    for row in rows:
        table.add_row(row.slug, row.name, str(row.novel_count))
    out.print(table)


@app.command()
def migrate() -> None:
    """Apply database migrations up to the newest."""
    with runtime() as rt:
        _migrate(rt)


def _migrate(rt: Runtime) -> None:
    from chapterhouse.db.migrate import current_revision, upgrade_to_head

    upgrade_to_head(rt.engine)
    out.print(f"database at migration {current_revision(rt.engine)}")


@app.command()
def sites() -> None:
    """List the supported sites."""
    with runtime() as rt:
        table = Table("site", "name", "domains", "politeness", "example", "limits")
        for site in rt.registry.sites.values():
            table.add_row(
                site.name,
                site.title,
                ", ".join(site.domains),
                f"{site.concurrency} at a time, {site.download_delay:g} s apart",
                site.example_url,
                site.limits,
            )
    out.print(table)


@app.command()
def queue() -> None:
    """Show the ingestion queue's registries and the workers."""
    from chapterhouse.queue.status import queue_status

    with runtime() as rt:
        status = queue_status(rt.queue)
    table = Table("registry", "jobs")
    for name, count in status.counts.items():
        table.add_row(name, str(count))
    out.print(table)
    workers = Table("worker", "state", "current job", "successful", "failed")
    for w in status.workers:
        workers.add_row(w.name, w.state, w.current_job or "", str(w.successful), str(w.failed))
    out.print(workers)
    _print_paused(status.paused, status.paused_domains)


def _print_paused(paused: bool, domains: list[str]) -> None:
    if paused:
        out.print("[yellow]queue paused[/yellow]: workers take no new job (chapterhouse resume)")
    else:
        out.print("queue running")
    if domains:
        out.print(f"[yellow]paused domains[/yellow]: {', '.join(domains)}", highlight=False)


@app.command()
def pause(
    domain: Annotated[
        str | None, typer.Argument(help="a site (royalroad) or domain; none: the whole queue")
    ] = None,
) -> None:
    """Pause the queue (queued jobs wait, running ones finish), or every request to a domain."""
    from chapterhouse import services

    with runtime() as rt:
        if domain is None:
            services.pause_queue(rt)
            out.print("queue paused: workers take no new job; running jobs finish")
        else:
            result = services.pause_domain(rt, domain)
            out.print(f"paused: {', '.join(result.domains)}", highlight=False)


@app.command()
def resume(
    domain: Annotated[
        str | None, typer.Argument(help="a site (royalroad) or domain; none: the whole queue")
    ] = None,
) -> None:
    """Resume the queue, or requests to a domain (its held jobs are queued again at once)."""
    from chapterhouse import services

    with runtime() as rt:
        if domain is None:
            services.resume_queue(rt)
            out.print("queue resumed")
        else:
            result = services.resume_domain(rt, domain)
            out.print(f"resumed: {', '.join(result.domains)}", highlight=False)


@app.command()
def drain(
    wait: Annotated[bool, typer.Option(help="wait until no job is running")] = False,
    timeout: Annotated[
        float | None, typer.Option(min=0, help="with --wait: give up after this many seconds")
    ] = None,
) -> None:
    """Stop intake (pause the queue) and let running jobs finish."""
    from chapterhouse import services

    with runtime() as rt:
        status = services.drain(rt, wait=False)
        running = status.counts["started"]
        if wait and running:
            out.print(f"queue paused; waiting for {running} running job(s)")
            status = services.drain(rt, wait=True, timeout=timeout)
    queued = status.counts["queued"]
    if wait:
        out.print(f"drained: no job is running; {queued} job(s) stay queued (chapterhouse resume)")
    else:
        out.print(f"queue paused; {running} job(s) still running, {queued} queued")


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 9181,
) -> None:
    """Serve RQ's web dashboard (queues, workers, jobs) for this Redis."""
    from chapterhouse.dashboard import run_dashboard
    from chapterhouse.queue.connection import ping

    with runtime() as rt:
        ping(rt.redis)
        out.print(f"RQ dashboard on http://{host}:{port}  (Ctrl-C stops)")
        run_dashboard(rt.settings, host=host, port=port)


@app.command()
def doctor(
    probe_timeout: Annotated[float, typer.Option(help="seconds to wait for a worker")] = 15,
) -> None:
    """Check Redis, the queue, the site registry, the database and the workers."""
    from chapterhouse.doctor import run_checks

    with runtime() as rt:
        results = run_checks(rt, probe_timeout=probe_timeout)
    for check in results:
        mark = "[green]✓[/green]" if check.ok else "[red]✗[/red]"
        out.print(f"{mark} {check.name}: {check.detail}", highlight=False)
    if not all(check.ok for check in results):
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
