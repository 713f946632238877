"""``flask check-deploy``: every setting that makes a deployment unsafe, like Django's
``check --deploy``. It reads the settings the app was built with (set SCHED_CONFIG=production
and the production environment before running it) and names each problem with its fix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import urlsplit

from config import MIN_SECRET_LENGTH

MIN_SECRET_DISTINCT_CHARACTERS = 10
MIN_HSTS_SECONDS = 180 * 24 * 3600
INSECURE_MAIL_BACKENDS = ("locmem", "console", "dummy", "app.core.mail.DevelopmentEmailBackend")


def _weak(secret: object) -> bool:
    return (
        not isinstance(secret, str)
        or len(secret) < MIN_SECRET_LENGTH
        or len(set(secret)) < MIN_SECRET_DISTINCT_CHARACTERS
        or "testing" in secret
        or "not-for-production" in secret
    )


def deploy_problems(config: Mapping) -> list[str]:
    """What is unsafe in these settings for a public deployment, each with how to fix it."""
    problems = []

    def problem(condition: bool, text: str) -> None:
        if condition:
            problems.append(text)

    debug = config.get("DEBUG") or config.get("DEBUG_AS_CONFIGURED")
    problem(
        bool(debug),
        "DEBUG is on: tracebacks and the debugger are public (SCHED_CONFIG=production).",
    )
    problem(
        bool(config.get("TESTING")),
        "TESTING is on: errors propagate and checks are relaxed (SCHED_CONFIG=production).",
    )
    for name in ("SECRET_KEY", "SECURITY_PASSWORD_SALT"):
        problem(
            _weak(config.get(name)),
            f"{name} is missing or weak: set a random value of at "
            f"least {MIN_SECRET_LENGTH} characters in the environment.",
        )
    problem(
        bool(config.get("SECRET_KEY"))
        and config.get("SECRET_KEY") == config.get("SECURITY_PASSWORD_SALT"),
        "SECRET_KEY and SECURITY_PASSWORD_SALT are the same: use two different values.",
    )
    for cookie in ("SESSION_COOKIE", "REMEMBER_COOKIE"):
        problem(
            not config.get(f"{cookie}_SECURE"),
            f"{cookie}_SECURE is off: the cookie would travel over plain HTTP.",
        )
        problem(
            not config.get(f"{cookie}_HTTPONLY"),
            f"{cookie}_HTTPONLY is off: scripts could read the cookie.",
        )
        problem(
            str(config.get(f"{cookie}_SAMESITE")) not in ("Lax", "Strict"),
            f"{cookie}_SAMESITE is not Lax or Strict: other sites could send it along.",
        )
    problem(
        not config.get("TRUSTED_HOSTS"),
        "No trusted hosts: set SCHED_ALLOWED_HOSTS to the site's host names.",
    )
    site = urlsplit(str(config.get("SITE_URL") or ""))
    problem(
        site.scheme != "https" or _loopback_host(site.hostname or ""),
        "SITE_URL is not the site's https address: set SCHED_SITE_URL (reminder e-mails link "
        "to it, and calendar UIDs end with its host unless SCHED_ICAL_UID_DOMAIN is set).",
    )
    problem(not config.get("WTF_CSRF_ENABLED"), "CSRF protection is off (WTF_CSRF_ENABLED).")
    problem(
        bool(config.get("SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS")),
        "Flask-Security skips CSRF on login and registration "
        "(SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS).",
    )
    problem(
        not config.get("SECURITY_HEADERS"),
        "Security headers are off (SECURITY_HEADERS): "
        "no CSP, X-Frame-Options, X-Content-Type-Options or Referrer-Policy.",
    )
    problem(
        int(config.get("HSTS_SECONDS") or 0) < MIN_HSTS_SECONDS,
        "HSTS is off or short (HSTS_SECONDS): browsers may be talked into plain HTTP.",
    )
    problem(
        config.get("SECURITY_PASSWORD_HASH") != "argon2",
        "Passwords are not hashed with argon2 (SECURITY_PASSWORD_HASH).",
    )
    problem(
        config.get("MAIL_BACKEND") in INSECURE_MAIL_BACKENDS,
        "Mail is not sent (MAIL_BACKEND is a development or test backend).",
    )
    problems.extend(_forwarding_problems(config))
    return problems


def _forwarding_problems(config: Mapping) -> list[str]:
    """Where clients could tell the app an address or scheme of their choosing: forwarded
    headers believed on uWSGI's HTTP socket open to the network, or the uwsgi socket itself
    (whose peer writes REMOTE_ADDR and HTTPS) open to the network."""
    proxies = int(config.get("TRUSTED_PROXIES") or 0)
    uwsgi_socket = config.get("UWSGI_SOCKET")
    if uwsgi_socket:
        if _local_only(uwsgi_socket):
            return []
        return [
            (
                f"SCHED_SOCKET ({uwsgi_socket}) listens on the network: whoever reaches it speaks "
                "the uwsgi protocol as nginx does and writes the client address and HTTPS "
                "themselves. Use a unix socket (deploy/env.example) or a loopback address."
            )
        ]
    http_socket = config.get("UWSGI_HTTP_SOCKET") or ""
    if not proxies or _local_only(http_socket):
        return []
    return [
        (
            f"SCHED_TRUSTED_PROXIES is {proxies} while uWSGI's HTTP socket ({http_socket}) is open "
            "to the network: a client that reaches it directly forges X-Forwarded-For (a fresh "
            "rate-limit count on every request, any address in the audit log) and "
            "X-Forwarded-Proto and -Host. Serve nginx on SCHED_SOCKET, which needs no forwarded "
            "headers, or listen on a loopback address behind the proxy, or unset "
            "SCHED_TRUSTED_PROXIES."
        )
    ]


def _local_only(address: str) -> bool:
    """Whether a uWSGI socket address is reachable from this host only: a unix socket's path
    (or an abstract one, @name) or a loopback address and port."""
    if "/" in address or address.startswith("@"):
        return True
    host = address.rpartition(":")[0].strip("[]") if ":" in address else address
    return _loopback_host(host)


def _loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # "" (every interface) or a host name
        return False
