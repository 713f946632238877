"""What browsers and shared caches may keep: pages nothing, static files for a long time.

Pages show personal data (appointments, accounts, the admin panel), so every answer the app
makes is ``Cache-Control: private, no-store`` unless its view chose otherwise (the calendar feed,
which calendar apps poll, and the health check set their own). Flask-Security's own header is
turned off (``SECURITY_CACHE_CONTROL``): Werkzeug wrote its values as ``no-store=True``, which no
cache reads as ``no-store``.

Static files are linked with a hash of their content (``?v=``, added by ``url_for``), so a file
that changes gets a new address: an answer to a versioned address is ``immutable`` and kept a
year. Without nginx the app serves them (see uwsgi.ini); nginx does the same for ``/static/``.
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta

from flask import Flask, request
from werkzeug.security import safe_join

# How long a versioned static file may be kept, browsers and proxies alike.
VERSIONED_MAX_AGE = timedelta(days=365)
VERSION_ARG = "v"


def static_version(app: Flask, filename: str) -> str | None:
    """A short hash of the static file's content; None if there is no such file.

    Read again only when the file's size or modification time changes (an edit in development).
    """
    if app.static_folder is None:  # never with the "static" endpoint, which needs the folder
        return None
    path = safe_join(app.static_folder, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    cache: dict = app.extensions["sched_static_versions"]
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in cache:
        with open(path, "rb") as file:
            cache[key] = hashlib.sha256(file.read()).hexdigest()[:12]
    return cache[key]


def _is_static(endpoint: str | None) -> bool:
    """Our static files and a blueprint's (Flask-Admin's, versioned by its release)."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def init_caching(app: Flask) -> None:
    app.extensions["sched_static_versions"] = {}

    @app.url_defaults
    def add_static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and VERSION_ARG not in values and "filename" in values:
            version = static_version(app, values["filename"])
            if version is not None:
                values[VERSION_ARG] = version

    @app.after_request
    def set_cache_control(response):
        if _is_static(request.endpoint):
            if response.status_code in (200, 304) and request.args.get(VERSION_ARG):
                response.cache_control.public = True
                response.cache_control.max_age = int(VERSIONED_MAX_AGE.total_seconds())
                response.cache_control.immutable = True
            return response
        if "Cache-Control" not in response.headers:
            response.cache_control.private = True
            response.cache_control.no_store = True
        return response
