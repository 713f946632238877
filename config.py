"""Settings for sched, one class per environment, in labelled sections like Django's settings.py.

Pick one with ``create_app("development" | "testing" | "production")`` or the ``SCHED_CONFIG``
environment variable. Secrets never live in this file: production reads them from the
environment, development from ``instance/secrets.json`` (written by ``make run``, never committed).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRETS_FILE = "secrets.json"

# A secret shorter than this is rejected in production.
MIN_SECRET_LENGTH = 32


def database_url_from_env(name: str = "DATABASE_URL") -> str | None:
    """Read a database URL; plain postgresql:// URLs use the psycopg 3 driver we ship."""
    url = os.environ.get(name)
    if url and url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Config:
    """Settings shared by every environment."""

    # ------------------------------------------------------------------------------------------
    # Core
    # ------------------------------------------------------------------------------------------
    # SECURITY WARNING: keep the secret key and password salt used in production secret.
    SECRET_KEY: str | None = None
    SECURITY_PASSWORD_SALT: str | None = None
    # SECURITY WARNING: don't run with debug turned on in production.
    DEBUG = False
    TESTING = False
    MAX_CONTENT_LENGTH = 1024 * 1024

    # ------------------------------------------------------------------------------------------
    # Database
    # ------------------------------------------------------------------------------------------
    # Default: SQLite in the instance folder (set in init_app, which knows where that is).
    # SQLite connections wait for locks, use WAL and check foreign keys (app/core/db.py).
    SQLALCHEMY_DATABASE_URI = database_url_from_env()
    # Check each pooled connection before use: after the database server restarts, the next
    # request reconnects instead of failing (tests/core/test_database.py shows both).
    # hide_parameters: a database error's text (in a log, say) shows the statement but not its
    # values, which may be a password hash, a session or a calendar token.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    SQLALCHEMY_RECORD_QUERIES = False
    # Seconds a new PostgreSQL connection may take (psycopg waits 130 by default): a server that
    # cannot be reached gets the 503 page quickly, not a request hung until uWSGI's harakiri.
    DATABASE_CONNECT_TIMEOUT = 5
    # Seconds a PostgreSQL statement may run, and may wait for a row or table lock, before the
    # server cancels it: the request gets the 503 page (and the worker is free again) instead of
    # hanging until uWSGI's harakiri kills the worker at 30 s. Migrations are not limited
    # (migrations/env.py). 0 turns a limit off.
    DATABASE_STATEMENT_TIMEOUT = 20
    DATABASE_LOCK_TIMEOUT = 5

    # ------------------------------------------------------------------------------------------
    # Sessions and cookies
    # ------------------------------------------------------------------------------------------
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # A login lasts at most this long; "Remember me" keeps its cookie across browser restarts
    # meanwhile. Logging out ends it on the server (app/accounts/sessions.py).
    PERMANENT_SESSION_LIFETIME = timedelta(days=14)

    # ------------------------------------------------------------------------------------------
    # HTTP: security headers (app/core/http.py), the proxies in front, the host names served
    # ------------------------------------------------------------------------------------------
    SECURITY_HEADERS = True  # CSP without inline script, nosniff, frame denial, referrer policy
    # How long browsers keep /static/ files when the app serves them (without nginx).
    SEND_FILE_MAX_AGE_DEFAULT: timedelta | None = timedelta(days=1)
    HSTS_SECONDS = 0  # Strict-Transport-Security on HTTPS responses when above 0
    # SECURITY WARNING: how many HTTP proxies in front of uWSGI's HTTP socket set
    # X-Forwarded-For/-Proto/-Host/-Port, which are then believed; 0: none, and no such header
    # is. Leave it at 0 behind nginx on SCHED_SOCKET: the uwsgi protocol carries the client's
    # address and HTTPS itself (app/core/http.py). Above 0, whoever reaches the HTTP socket
    # directly picks the address the rate limits count and the audit log keeps.
    TRUSTED_PROXIES = 0
    # Where uWSGI listens, read from the variables uwsgi.ini reads (its defaults too): nginx's
    # uwsgi socket, or else the HTTP socket. flask check-deploy weighs TRUSTED_PROXIES by them.
    UWSGI_SOCKET = os.environ.get("SCHED_SOCKET") or None
    UWSGI_HTTP_SOCKET = os.environ.get("SCHED_HTTP") or "127.0.0.1:5000"
    # Host names this site answers to (Flask refuses others); None accepts any, for development.
    TRUSTED_HOSTS: list[str] | None = None

    # ------------------------------------------------------------------------------------------
    # CSRF (Flask-WTF protects every POST, PUT, PATCH and DELETE)
    # ------------------------------------------------------------------------------------------
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    # ------------------------------------------------------------------------------------------
    # Accounts (Flask-Security-Too)
    # ------------------------------------------------------------------------------------------
    SECURITY_REGISTERABLE = True
    SECURITY_CONFIRMABLE = True
    SECURITY_RECOVERABLE = True
    SECURITY_CHANGEABLE = True
    SECURITY_TRACKABLE = True
    SECURITY_PASSWORD_LENGTH_MIN = 12
    SECURITY_PASSWORD_HASH = "argon2"
    # argon2id at 19 MiB, 2 passes, 1 lane: ~17 ms a hash (docs/performance.md, "Password hashing").
    SECURITY_PASSWORD_HASH_PASSLIB_OPTIONS = {
        "argon2__memory_cost": 19 * 1024,
        "argon2__rounds": 2,
        "argon2__parallelism": 1,
    }
    SECURITY_LOGOUT_METHODS = ["POST"]
    # Logged in by the session cookie only (app/accounts/sessions.py): no auth tokens.
    SECURITY_API_ENABLED_METHODS = ["session"]
    SECURITY_POST_LOGIN_VIEW = "scheduling.appointment_list"
    SECURITY_POST_LOGOUT_VIEW = "core.index"
    SECURITY_POST_REGISTER_VIEW = "core.index"
    SECURITY_POST_CONFIRM_VIEW = "security.login"
    SECURITY_EMAIL_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "sched <no-reply@localhost>")
    SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS = False
    SECURITY_REDIRECT_ALLOW_SUBDOMAINS = False
    # The confirmation e-mail proves an address; no DNS look-up while someone waits.
    SECURITY_EMAIL_VALIDATOR_ARGS = {"check_deliverability": False}
    # Pages are never cached (app/core/caching.py sends a valid "private, no-store").
    SECURITY_CACHE_CONTROL: dict = {}
    # Login, sign-up and reset answers never tell whether an address has an account.
    SECURITY_RETURN_GENERIC_RESPONSES = True
    # What reset and confirmation links bind to (the password hash, the address) is hashed inside
    # a token signed with SECRET_KEY, so it needs no slow hash. Flask-Security's default,
    # sha256_crypt, spent ~0.4 s building a link, for real accounts only: the answer's time told
    # who has an account. Links made with it before still verify (passlib reads either).
    SECURITY_HASHING_SCHEMES = ["hex_sha512", "sha256_crypt"]
    SECURITY_DEPRECATED_HASHING_SCHEMES = ["sha256_crypt"]

    # ------------------------------------------------------------------------------------------
    # Abuse: rate limits per client address (Flask-Limiter, app/accounts/ratelimits.py), and
    # per token for the calendar feed, and account lockout after failed logins from any
    # address (app/accounts/lockout.py)
    # ------------------------------------------------------------------------------------------
    # Where the counts live. memory:// (the default) counts in each worker process, so with N
    # workers an address gets up to N times each limit; redis://host:6379/0 shares the counts
    # between every worker and host.
    RATELIMIT_STORAGE_URI = os.environ.get("SCHED_RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_KEY_PREFIX = "sched"
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True  # Redis down: count per worker meanwhile
    RATELIMIT_LOGIN = "10 per minute;100 per day"
    RATELIMIT_REGISTER = "10 per hour"
    RATELIMIT_EMAIL = "5 per 15 minutes"  # reset and confirmation e-mails, reset links
    # Per calendar feed token, not per address: programs poll every 5 to 60 minutes, and one
    # address may be subscribed on several devices; the minute's limit stops a burst of full
    # feeds (each up to ~0.6 s of a worker; app/scheduling/feed.py).
    RATELIMIT_CALENDAR_FEED = "10 per minute;60 per hour"
    LOCKOUT_ATTEMPTS = 10
    LOCKOUT_DURATION = timedelta(minutes=15)

    # ------------------------------------------------------------------------------------------
    # E-mail (Flask-Mailman)
    # ------------------------------------------------------------------------------------------
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = SECURITY_EMAIL_SENDER

    # ------------------------------------------------------------------------------------------
    # Languages and time zones (Flask-Babel)
    # ------------------------------------------------------------------------------------------
    LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch"}
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    # The catalogs; the translation console writes here, so it must be writable by the app.
    # Every worker on the host sees a saved change on its next request. With several hosts,
    # point this at a shared folder (or deploy catalogs from the repository instead).
    BABEL_TRANSLATION_DIRECTORIES = os.environ.get("SCHED_TRANSLATIONS_DIR") or str(
        BASE_DIR / "translations"
    )

    # ------------------------------------------------------------------------------------------
    # Pages
    # ------------------------------------------------------------------------------------------
    APPOINTMENTS_PER_PAGE = 20
    # The site's public address, for links in e-mails sent outside a request (reminders).
    SITE_URL = os.environ.get("SCHED_SITE_URL", "http://127.0.0.1:5000")
    # What ends the UID of every appointment in iCalendar files and feeds; by default the host
    # of SITE_URL. Calendar programs tell events apart by UID: keep it when the site moves, or
    # every subscriber sees each appointment twice.
    ICAL_UID_DOMAIN = os.environ.get("SCHED_ICAL_UID_DOMAIN")

    @classmethod
    def init_app(cls, app) -> None:
        """Apply settings that depend on the app (its instance folder, say)."""
        if not app.config["SQLALCHEMY_DATABASE_URI"]:
            database = Path(app.instance_path) / "sched.db"
            app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"


class DevelopmentConfig(Config):
    """One developer's laptop: SQLite, debug pages, mail printed and kept in the instance folder."""

    DEBUG = True
    MAIL_BACKEND = "app.core.mail.DevelopmentEmailBackend"
    SEND_FILE_MAX_AGE_DEFAULT = None  # an edited stylesheet shows on the next reload of the page

    @classmethod
    def init_app(cls, app) -> None:
        super().init_app(app)
        app.config["MAIL_FILE_PATH"] = str(Path(app.instance_path) / "mail")
        path = Path(app.instance_path) / DEV_SECRETS_FILE
        if not path.exists():
            raise RuntimeError(
                f"{path} is missing. Run `make run`, or `python -m config` to create it."
            )
        app.config.update(json.loads(path.read_text()))


class TestingConfig(Config):
    """The test suite: a fresh database per test, mail kept in memory, fast but real hashing."""

    TESTING = True
    # SECURITY WARNING: these throw-away values exist only for tests.
    SECRET_KEY = "testing-secret-key-not-for-production-use-0123456789"
    SECURITY_PASSWORD_SALT = "testing-salt-not-for-production-use-0123456789"
    SQLALCHEMY_DATABASE_URI = database_url_from_env("TEST_DATABASE_URL") or "sqlite://"
    MAIL_BACKEND = "locmem"
    SERVER_NAME = None


class ProductionConfig(Config):
    """Behind nginx on PostgreSQL. Refuses to start without its secrets."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SECURITY_PASSWORD_SALT = os.environ.get("SECURITY_PASSWORD_SALT")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    HSTS_SECONDS = 365 * 24 * 3600
    # SECURITY WARNING: only for an HTTP proxy in front of SCHED_HTTP (see Config); never
    # needed behind nginx on SCHED_SOCKET.
    TRUSTED_PROXIES = int(os.environ.get("SCHED_TRUSTED_PROXIES", "0"))
    # SCHED_ALLOWED_HOSTS: the site's host names, comma-separated (flask check-deploy wants it).
    TRUSTED_HOSTS = [
        host.strip()
        for host in os.environ.get("SCHED_ALLOWED_HOSTS", "").split(",")
        if host.strip()
    ] or None

    @classmethod
    def init_app(cls, app) -> None:
        super().init_app(app)
        for name in ("SECRET_KEY", "SECURITY_PASSWORD_SALT"):
            value = os.environ.get(name) or ""
            if len(value) < MIN_SECRET_LENGTH or len(set(value)) < 10:
                raise RuntimeError(
                    f"{name} must be set in the environment to a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters (python -c 'import secrets; "
                    f"print(secrets.token_urlsafe(48))')."
                )
            app.config[name] = value


config = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def write_dev_secrets(instance_dir: Path = BASE_DIR / "instance") -> Path:
    """Create the development secrets file once, readable by its owner only.

    The instance folder is made the owner's alone too: it holds the SQLite database and the
    mails the app sends, with their links to reset passwords.
    """
    instance_dir.mkdir(parents=True, exist_ok=True)
    instance_dir.chmod(0o700)
    path = instance_dir / DEV_SECRETS_FILE
    if not path.exists():
        values = {
            "SECRET_KEY": secrets.token_urlsafe(48),
            "SECURITY_PASSWORD_SALT": secrets.token_urlsafe(48),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(values, f)
    return path


if __name__ == "__main__":
    print(f"Development secrets: {write_dev_secrets()}")
