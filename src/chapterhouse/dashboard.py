"""`chapterhouse dashboard`: RQ's own web dashboard (rq-dashboard) on our Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chapterhouse.config import Settings

if TYPE_CHECKING:
    from flask import Flask


def make_dashboard(settings: Settings) -> Flask:
    """The rq-dashboard Flask app, reading queues, workers and jobs from REDIS_URL."""
    from rq_dashboard.cli import make_flask_app
    from rq_dashboard.web import setup_rq_connection

    app = make_flask_app(None, None, None, "")
    app.config["RQ_DASHBOARD_REDIS_URL"] = settings.redis_url
    # The database row is the truth about a job: deleting RQ's copy or emptying a registry
    # from here would only leave the reconciler to put it back. `chapterhouse cancel` does it.
    app.config["RQ_DASHBOARD_DISABLE_DELETE"] = True
    setup_rq_connection(app)
    dashboard: Flask = app
    return dashboard


def run_dashboard(settings: Settings, *, host: str, port: int) -> None:
    """Serve the dashboard until interrupted."""
    from werkzeug.serving import run_simple

    run_simple(host, port, make_dashboard(settings), threaded=True)
