"""The WSGI entry point: ``application`` for uWSGI, ``app`` for ``flask --app wsgi``."""

import gc

from app import create_app

application = app = create_app()

# uWSGI builds the app in each worker (lazy-apps): freeze what it allocated, so that the garbage
# collector stops walking it on every full collection (p99 ~25 ms to ~3 ms: docs/performance.md,
# "Garbage collection").
gc.freeze()
