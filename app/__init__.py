"""sched, an appointment scheduler: the application factory."""

from __future__ import annotations

import os

from flask import Flask, request

from app.core.gettext import TextJSONProvider
from config import config


class SchedFlask(Flask):
    json_provider_class = TextJSONProvider

    def log_exception(self, exc_info) -> None:
        """Flask's log line for an unexpected error, naming the request without its secrets."""
        from app.core.request_log import loggable_path

        self.logger.error(
            "Exception on %s [%s]", loggable_path(), request.method, exc_info=exc_info
        )


def create_app(config_name: str | None = None, overrides: dict | None = None) -> Flask:
    """Build the app for an environment; no database or file is touched here.

    ``overrides`` replaces settings after the environment's, as tests do for their database.
    """
    config_name = config_name or os.environ.get("SCHED_CONFIG", "development")
    settings = config[config_name]
    app = SchedFlask(__name__, instance_path=os.environ.get("SCHED_INSTANCE_PATH"))
    app.config.from_object(settings)
    settings.init_app(app)
    app.config.update(overrides or {})
    # `flask` commands reset app.debug from FLASK_DEBUG; check-deploy judges what was configured.
    app.config["DEBUG_AS_CONFIGURED"] = app.config["DEBUG"]

    register_extensions(app)
    register_blueprints(app)
    register_admin(app)
    register_template_helpers(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from app.accounts.security import init_security
    from app.audit.recording import init_audit
    from app.core.caching import init_caching
    from app.core.db import init_db
    from app.core.http import init_http
    from app.core.i18n import init_babel
    from app.core.request_log import init_request_log
    from app.extensions import csrf, db, mail, migrate

    db.init_app(app)
    init_db(app, db)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, os.pardir, "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    init_babel(app)
    init_security(app)
    init_audit(app)
    init_http(app)
    init_caching(app)
    init_request_log(app)


def register_blueprints(app: Flask) -> None:
    from app.accounts.ratelimits import init_feed_rate_limit
    from app.accounts.views import bp as accounts_bp
    from app.core.views import bp as core_bp
    from app.scheduling.views import appointments, calendar, ical, moves, search

    app.register_blueprint(core_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(appointments.bp)
    app.register_blueprint(ical.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(moves.bp)
    init_feed_rate_limit(app)  # wraps the feed's view, so it comes once that is registered


def register_admin(app: Flask) -> None:
    from app.admin import init_admin

    init_admin(app)


def register_template_helpers(app: Flask) -> None:
    from app.core.filters import init_template_helpers

    init_template_helpers(app)


def register_error_handlers(app: Flask) -> None:
    from app.core.errors import init_error_handlers

    init_error_handlers(app)


def register_commands(app: Flask) -> None:
    from app.accounts.cli import purge_sessions_command
    from app.core.cli import init_commands
    from app.demo import seed_demo_command
    from app.scheduling.cli import send_reminders_command

    init_commands(app)
    for command in (purge_sessions_command, send_reminders_command, seed_demo_command):
        app.cli.add_command(command)
