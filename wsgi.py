"""The WSGI entry point: ``application`` for uWSGI, ``app`` for ``flask --app wsgi``."""

from app import create_app

application = app = create_app()
