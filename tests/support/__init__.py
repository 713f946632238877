"""What the tests share, in one place: helpers, factories and the servers tests start.

    browser        the test client as a browser uses it (forms with their CSRF token, login)
    e2e            the same in headless Chromium (Playwright): log in, screenshots, CSP
    queries        reading back what the requests stored (count_appointments, fresh, ...)
    factories      users, appointments and feed tokens with sensible defaults
    html_form      a page's form as a browser would send it
    concurrent     another request's write at the worst moment (meanwhile)
    snapshot       what the database holds, to compare two moments by
    zones          UTC and the time zones the tests use
    paths          the project's folder
    network        free_port
    postgres       a throw-away PostgreSQL cluster (python -m tests.support.postgres -- ...);
                   the benchmark's cluster too (bench/admin.py)
    redis_server   a throw-away Redis server
    smtp_sink      an SMTP server that keeps what it receives
    tmpfs          a small disk of its own, to fill up

Nothing here is collected as tests; bench/ imports postgres and network, which import nothing
of the app's.
"""
