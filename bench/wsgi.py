"""uWSGI entry point of the benchmark: the production app plus the bare reference page.

uwsgi.ini loads it instead of wsgi.py when SCHED_WSGI_MODULE=bench.wsgi:application.
"""

import gc

from bench.reference import bp
from wsgi import application

application.register_blueprint(bp)

# Freeze what building the app allocated, as wsgi.py does, the blueprint included.
gc.freeze()
