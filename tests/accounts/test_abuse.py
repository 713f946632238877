"""Abuse of the account forms: rate limits per address, lockout per account, answers that do not
tell whether an address has an account, and redirects that stay on the site."""

from __future__ import annotations

import contextlib
import http.client
import threading
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select

from app import create_app
from app.accounts.models import ROLE_ADMIN, User
from app.audit.models import AuditEntry
from app.core.db import now_utc
from app.extensions import db
from tests.accounts.test_accounts import link_in
from tests.core.test_serving import SECRET, serving_env, start_uwsgi, stop_uwsgi, wait_until
from tests.support.browser import Browser, RequestIsolatingClient, csrf_token_from
from tests.support.factories import PASSWORD, make_user
from tests.support.network import free_port
from tests.support.queries import fresh
from tests.support.redis_server import redis_server
from tests.support.smtp_sink import SmtpSink

WRONG = "not the password at all"


def from_address(client, address: str) -> Browser:
    """A browser whose requests come from ``address`` (the server's view of the peer)."""
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def page_text(response) -> str:
    return response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# Rate limits per client address
# ---------------------------------------------------------------------------------------------


def test_logins_past_the_limit_get_429_with_retry_after(app, browser, user):
    token = browser.token("/login")
    for _ in range(10):
        answer = browser.client.post("/login", data={"csrf_token": token,
                                                     "email": "nobody@example.com",
                                                     "password": WRONG})
        assert answer.status_code == 400
    refused = browser.client.post("/login", data={"csrf_token": token, "email": user.email,
                                                  "password": PASSWORD})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 61  # the minute window, rounded up
    assert "Too many attempts from your address" in page_text(refused)
    assert browser.get("/appointments/").status_code == 302, "the right password did not count"

    # Looking at the form is free, and other addresses have their own count.
    assert browser.get("/login").status_code == 200
    other = from_address(app.test_client(), "192.0.2.7")
    assert other.submit("/login", {"email": user.email, "password": PASSWORD}).status_code == 302


def test_a_json_client_gets_a_json_429(browser, user):
    token = browser.token("/login")
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    body = {"email": user.email, "password": WRONG}
    for _ in range(10):
        assert browser.client.post("/login", json=body, headers=headers).status_code == 400
    refused = browser.client.post("/login", json=body, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["error"]["code"] == 429


@pytest.mark.parametrize(
    ("path", "data", "allowed"),
    [
        ("/register", {"email": "someone@example.com", "password": "x"}, 10),
        ("/reset", {"email": "someone@example.com"}, 5),
        ("/confirm", {"email": "someone@example.com"}, 5),
    ],
)
def test_signups_and_reset_mails_are_limited_too(browser, outbox, path, data, allowed):
    token = browser.token(path)
    for _ in range(allowed):
        assert browser.client.post(path, data={"csrf_token": token, **data}).status_code != 429
    sent = len(outbox)
    refused = browser.client.post(path, data={"csrf_token": token, **data})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert len(outbox) == sent, "a refused request sends no mail"


def test_reset_mails_share_one_count_per_address(browser, user):
    token = browser.token("/reset")
    for _ in range(3):
        browser.client.post("/reset", data={"csrf_token": token, "email": user.email})
    for _ in range(2):
        browser.client.post("/confirm", data={"csrf_token": token, "email": user.email})
    assert browser.client.post("/reset", data={"csrf_token": token,
                                               "email": user.email}).status_code == 429


def test_a_forged_forwarded_for_does_not_reset_the_count(browser, user):
    """No proxy is trusted (the default, production's too): the header is not believed."""
    token = browser.token("/login")
    for n in range(11):
        answer = browser.client.post(
            "/login", data={"csrf_token": token, "email": user.email, "password": WRONG},
            headers={"X-Forwarded-For": f"198.51.100.{n}"},
        )
    assert answer.status_code == 429


@pytest.mark.parametrize("app_overrides", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_proxy_only_its_own_entry_counts(app, user):
    """An HTTP proxy configured in front (SCHED_TRUSTED_PROXIES=1) appends the peer's address;
    what the client wrote before it is ignored."""
    browser = from_address(app.test_client(), "127.0.0.1")  # the proxy
    token = browser.token("/login")
    for n in range(11):
        answer = browser.client.post(
            "/login", data={"csrf_token": token, "email": user.email, "password": WRONG},
            headers={"X-Forwarded-For": f"198.51.100.{n}, 203.0.113.9"},
        )
    assert answer.status_code == 429
    # Another real client behind the same proxy is not affected.
    other = browser.client.post(
        "/login", data={"csrf_token": token, "email": user.email, "password": WRONG},
        headers={"X-Forwarded-For": "203.0.113.10"},
    )
    assert other.status_code == 400


def login_attempts(app, count: int, address: str = "127.0.0.1") -> list[int]:
    browser = from_address(app.test_client(), address)
    token = browser.token("/login")
    return [
        browser.client.post("/login", data={"csrf_token": token, "email": "nobody@example.com",
                                            "password": WRONG}).status_code
        for _ in range(count)
    ]


@contextlib.contextmanager
def two_hosts(database_url, storage: str):
    """Two instances of the app, as on two hosts (or two workers): nothing shared in memory."""
    apps = []
    for _ in range(2):
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url,
                                     "RATELIMIT_STORAGE_URI": storage})
        app.test_client_class = RequestIsolatingClient
        apps.append(app)
    try:
        yield apps
    finally:
        for app in apps:  # their pooled connections, closed now rather than by the collector
            with app.app_context():
                db.engine.dispose()


def test_with_redis_the_count_is_shared_by_every_worker_and_host(app, database_url, tmp_path):
    with redis_server(tmp_path) as url, two_hosts(database_url, url) as (first, second):
        assert login_attempts(first, 6) == [400] * 6
        assert login_attempts(second, 5) == [400] * 4 + [429]
        assert login_attempts(first, 1) == [429]
        # Another address still has all of its attempts, on either host.
        assert login_attempts(second, 10, address="192.0.2.1") == [400] * 10


def test_the_embedded_default_counts_in_each_process(app, database_url):
    """memory:// (the README says so): each worker counts on its own."""
    with two_hosts(database_url, "memory://") as (first, second):
        assert login_attempts(first, 10) == [400] * 10
        assert login_attempts(second, 10) == [400] * 10
        assert login_attempts(first, 1) == [429]


# ---------------------------------------------------------------------------------------------
# Lockout per account, whatever the address
# ---------------------------------------------------------------------------------------------


def fail_logins(app, user: User, count: int, first_address: int = 1) -> None:
    """Wrong passwords from ``count`` different addresses: the rate limit never applies."""
    for n in range(first_address, first_address + count):
        browser = from_address(app.test_client(), f"198.51.100.{n}")
        answer = browser.submit("/login", {"email": user.email, "password": WRONG})
        assert answer.status_code == 400


def test_ten_failures_from_anywhere_lock_the_account_and_tell_the_owner(app, user, outbox):
    user.locale = "de"
    db.session.commit()
    fail_logins(app, user, 9)
    assert fresh(user).locked_until is None and fresh(user).failed_logins == 9
    fail_logins(app, user, 1, first_address=50)

    locked = fresh(user)
    assert locked.locked_until > now_utc() + timedelta(minutes=14)
    browser = from_address(app.test_client(), "192.0.2.99")
    refused = browser.submit("/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400 and "Authentication failed" in page_text(refused)
    assert browser.get("/appointments/").status_code == 302

    # One e-mail, to the owner, in the owner's language, with the way out.
    assert len(outbox) == 1 and outbox[0].to == [user.email]
    assert "gesperrt" in outbox[0].subject + outbox[0].body
    assert "/reset" in outbox[0].body
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("login_failed") == 10 and "account_locked" in actions

    # More failures during the lock neither extend it nor send more mail.
    fail_logins(app, user, 3, first_address=100)
    assert fresh(user).locked_until == locked.locked_until and len(outbox) == 1


def test_the_lock_ends_by_itself(app, user):
    fail_logins(app, user, 10)
    user = fresh(user)
    user.locked_until = now_utc() - timedelta(seconds=1)  # the lock's time has passed
    db.session.commit()
    browser = from_address(app.test_client(), "192.0.2.99")
    browser.login(user.email)
    assert fresh(user).failed_logins == 0 and fresh(user).locked_until is None


def test_a_success_forgets_earlier_failures(app, user):
    fail_logins(app, user, 9)
    from_address(app.test_client(), "192.0.2.99").login(user.email)
    fail_logins(app, user, 9, first_address=20)
    assert fresh(user).locked_until is None


def test_a_password_reset_unlocks_the_account(app, user, outbox):
    fail_logins(app, user, 10)
    browser = from_address(app.test_client(), "192.0.2.99")
    asked = browser.submit("/reset", {"email": user.email})
    assert asked.status_code in (200, 302)
    reset_mail = outbox[-1]
    assert reset_mail.to == [user.email]
    link = link_in(reset_mail, "/reset/")
    new_password = "a brand new long password"
    answer = browser.submit(link, {"password": new_password, "password_confirm": new_password})
    assert answer.status_code == 302
    assert fresh(user).locked_until is None
    browser.login(user.email, new_password)


def test_an_admin_unlocks_an_account_from_the_user_list(app, user):
    fail_logins(app, user, 10)
    admin = make_user("admin@example.com", roles=(ROLE_ADMIN,))
    staff = from_address(app.test_client(), "192.0.2.200")
    staff.login(admin.email)
    listing = page_text(staff.get("/admin/users/"))
    assert "Locked until" in listing and "Unlock" in listing

    answer = staff.submit("/admin/users/action/", {"action": "unlock", "rowid": [str(user.id)]},
                          form_url="/admin/users/", follow_redirects=True)
    assert "1 account was unlocked." in page_text(answer)
    assert fresh(user).locked_until is None
    from_address(app.test_client(), "192.0.2.99").login(user.email)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "update")).all()[-1]
    assert "locked_until" in entry.changes


def test_concurrent_failures_are_all_counted_and_lock_once(app, user, outbox):
    """Twelve wrong passwords at once, from twelve addresses: one lock, one e-mail."""
    email = user.email
    browsers = [from_address(app.test_client(), f"198.51.100.{n}") for n in range(12)]
    tokens = [browser.token("/login") for browser in browsers]
    barrier = threading.Barrier(len(browsers))
    statuses = []

    def attempt(browser, token):
        barrier.wait()
        with app.app_context():
            answer = browser.client.post("/login", data={"csrf_token": token,
                                                          "email": email, "password": WRONG})
            statuses.append(answer.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(browsers, tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [400] * 12
    locked = fresh(user)
    assert locked.locked_until is not None
    # Ten made the lock; the two that came after it (if any came after) were not counted.
    assert locked.failed_logins in (0, 1, 2)
    assert len([mail for mail in outbox if mail.to == [email]]) == 1


# ---------------------------------------------------------------------------------------------
# Password checks of a logged-in account: re-authentication (/verify), changing it (/change)
# ---------------------------------------------------------------------------------------------

NEW_PASSWORD = "a brand new long password"
PASSWORD_CHECKS = {
    "/verify": lambda password: {"password": password},
    "/change": lambda password: {"password": password, "new_password": NEW_PASSWORD,
                                 "new_password_confirm": NEW_PASSWORD},
}


def logged_in_from(app, user: User, address: str) -> Browser:
    browser = from_address(app.test_client(), address)
    browser.login(user.email)
    return browser


def audit_actions() -> list[str]:
    return db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()


@pytest.mark.parametrize("app_overrides", [{"LOCKOUT_ATTEMPTS": 1000}])  # the limit alone
@pytest.mark.parametrize("path", PASSWORD_CHECKS)
def test_guessing_a_logged_in_accounts_password_shares_the_login_limit(app, user, path):
    """Someone holding a session (a borrowed laptop, a stolen cookie) guesses the password:
    each guess counts like a login from that address; one login and nine guesses, then 429."""
    browser = logged_in_from(app, user, "192.0.2.10")
    statuses = [browser.submit(path, PASSWORD_CHECKS[path](WRONG)).status_code
                for _ in range(9)]
    assert statuses == [400] * 9
    refused = browser.submit(path, PASSWORD_CHECKS[path](PASSWORD))
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "Too many attempts from your address" in page_text(refused)
    assert fresh(user).failed_logins == 9
    # The same count as the login form's.
    login = browser.submit("/login", {"email": user.email, "password": PASSWORD},
                           form_url="/appointments/")
    assert login.status_code == 429


@pytest.mark.parametrize("path", PASSWORD_CHECKS)
def test_wrong_passwords_of_a_logged_in_account_lock_it_like_failed_logins(
    app, user, outbox, path
):
    """Ten wrong passwords, each from another address (so the rate limit never applies): the
    account locks as after ten failed logins, the owner hears of it, and the session ends."""
    browser = logged_in_from(app, user, "192.0.2.10")
    for n in range(10):
        browser.client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        answer = browser.submit(path, PASSWORD_CHECKS[path](WRONG))
        assert answer.status_code == 400 and "Invalid password" in page_text(answer)
    assert fresh(user).locked_until > now_utc() + timedelta(minutes=14)
    assert [mail.to for mail in outbox] == [[user.email]]
    actions = audit_actions()
    assert actions.count("login_failed") == 10 and "account_locked" in actions

    assert browser.get("/appointments/").status_code == 302, "the session is over"
    refused = browser.submit("/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400 and "Authentication failed" in page_text(refused)


@pytest.mark.parametrize("path", PASSWORD_CHECKS)
def test_a_locked_account_is_refused_even_the_right_password_and_logged_out(app, user, path):
    """The owner is logged in when someone else's failed logins lock the account: the right
    password on /verify or /change gets exactly the answer of a wrong one, changes nothing,
    and ends the session, as the login page refuses it too."""
    owner = logged_in_from(app, user, "192.0.2.10")
    wrong = owner.submit(path, PASSWORD_CHECKS[path](WRONG))  # before the lock, to compare
    fail_logins(app, user, 10, first_address=20)
    locked = fresh(user)
    assert locked.locked_until is not None
    password_hash, sessions_before = locked.password, locked.fs_uniquifier

    refused = owner.submit(path, PASSWORD_CHECKS[path](PASSWORD))
    assert refused.status_code == wrong.status_code == 400
    assert without_token(page_text(refused)) == without_token(page_text(wrong))
    user = fresh(user)
    assert user.password == password_hash and user.fs_uniquifier == sessions_before
    assert "password_change" not in audit_actions()
    assert owner.get("/appointments/").status_code == 302, "the session is over"


def test_the_login_page_answers_a_locked_accounts_right_password_as_a_wrong_one(app, user):
    fail_logins(app, user, 10)
    other = make_user("other@example.com")
    browser = from_address(app.test_client(), "192.0.2.99")
    right = browser.submit("/login", {"email": user.email, "password": PASSWORD})
    wrong = browser.submit("/login", {"email": user.email, "password": WRONG})
    unlocked_wrong = browser.submit("/login", {"email": other.email, "password": WRONG})
    assert right.status_code == wrong.status_code == unlocked_wrong.status_code == 400
    assert without_token(page_text(right)) == without_token(page_text(wrong)) == without_token(
        page_text(unlocked_wrong)).replace(other.email, user.email)
    assert browser.get("/appointments/").status_code == 302


# ---------------------------------------------------------------------------------------------
# Answers that do not tell whether an address has an account
# ---------------------------------------------------------------------------------------------


def without_token(html: str) -> str:
    return html.replace(csrf_token_from(html), "")


def test_login_answers_alike_for_a_wrong_password_and_an_unknown_address(browser, user):
    wrong = browser.submit("/login", {"email": user.email, "password": WRONG})
    unknown = browser.submit("/login", {"email": "nobody@example.com", "password": WRONG})
    assert wrong.status_code == unknown.status_code == 400
    assert without_token(page_text(wrong)).replace(user.email, "X") == without_token(
        page_text(unknown)).replace("nobody@example.com", "X")


def test_reset_answers_alike_for_known_and_unknown_addresses(browser, user, outbox):
    known = browser.submit("/reset", {"email": user.email}, follow_redirects=True)
    unknown = browser.submit("/reset", {"email": "nobody@example.com"}, follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    assert without_token(page_text(known)).replace(user.email, "X") == without_token(
        page_text(unknown)).replace("nobody@example.com", "X")
    assert [mail.to for mail in outbox] == [[user.email]]  # only the owner hears of it


def post_reset_request(port: int, email: str) -> int:
    """Ask uWSGI for a reset link as a browser does (the form, then its POST); the status."""
    def ask(method: str, **request) -> tuple[int, str, str | None]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:  # a connection each: uWSGI closes it after the answer
            connection.request(method, "/reset", **request)
            answer = connection.getresponse()
            return answer.status, answer.read().decode(), answer.getheader("Set-Cookie")
        finally:
            connection.close()

    _, form, cookie = ask("GET")
    status, _, _ = ask(
        "POST",
        body=urlencode({"email": email, "csrf_token": csrf_token_from(form)}),
        headers={"Cookie": cookie.split(";")[0],
                 "Content-Type": "application/x-www-form-urlencoded"},
    )
    return status


@pytest.mark.uwsgi
def test_a_reset_answer_does_not_wait_for_its_mail(user, database_url, tmp_path):
    """Its timing would otherwise tell a known address (a mail sent) from an unknown one. With
    uWSGI and a mail server that keeps its clients waiting, the answer comes at once; the mail
    follows once the server lets it through."""
    release = threading.Event()
    port = free_port()
    with SmtpSink(hold=release) as sink:
        process = start_uwsgi({
            **serving_env(tmp_path),
            "SCHED_HTTP": f"127.0.0.1:{port}",
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "SECURITY_PASSWORD_SALT": SECRET[::-1],
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(sink.port),
            "SCHED_REMINDERS": "off",
        }, tmp_path)
        try:
            assert post_reset_request(port, user.email) == 200  # the page, re-shown with its news
            assert sink.received == []  # held: the answer came first
            release.set()
            wait_until(lambda: sink.received, 10, lambda: "the reset mail never came")
        finally:
            release.set()
            stop_uwsgi(process, tmp_path)
    [mail] = sink.received
    assert mail["To"] == user.email and "/reset/" in mail.get_body(("plain",)).get_content()


def test_signing_up_with_a_taken_address_looks_like_any_sign_up(browser, user, outbox):
    def sign_up(email):
        return browser.submit("/register", {
            "email": email, "password": "twelve chars ok", "password_confirm": "twelve chars ok",
            "timezone": "UTC", "locale": "en",
        })

    taken, new = sign_up(user.email), sign_up("new@example.com")
    assert taken.status_code == new.status_code == 302
    assert taken.headers["Location"] == new.headers["Location"]
    db.session.expire_all()
    assert db.session.scalar(select(User).filter_by(email=user.email)).password == fresh(
        user).password, "the existing account is untouched"
    # The owner of the taken address is told by e-mail; the page tells nobody.
    assert {mail.to[0] for mail in outbox} == {user.email, "new@example.com"}


# ---------------------------------------------------------------------------------------------
# Redirects stay on this site
# ---------------------------------------------------------------------------------------------

FOREIGN_TARGETS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    " //evil.example",
    "\t//evil.example",
    "http://localhost@evil.example/",
]


def assert_local(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert not location.lstrip().startswith(("//", "/\\", "\\")), location
    assert "evil.example" not in parts.netloc and "javascript" not in location.lower()


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_login_next_only_leads_to_this_site(browser, user, target):
    token = browser.token("/login")
    answer = browser.client.post("/login", query_string={"next": target},
                                 data={"csrf_token": token, "email": user.email,
                                       "password": PASSWORD})
    # Flask-Security refuses the form (400, no redirect), or goes to a page of this site.
    assert answer.status_code in (400, 302)
    if answer.status_code == 302:
        assert_local(answer.headers["Location"])


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_language_switch_only_leads_back_to_this_site(browser, target):
    answer = browser.submit("/language", {"language": "fr", "next": target}, form_url="/login")
    # A target with a control character (the tab) is refused outright (400).
    assert answer.status_code in (302, 400)
    if answer.status_code == 302:
        assert_local(answer.headers["Location"])


@pytest.mark.parametrize("target", FOREIGN_TARGETS)
def test_admin_url_parameter_only_leads_to_this_site(app, browser, target):
    admin = make_user("admin@example.com", roles=(ROLE_ADMIN,))
    browser.login(admin.email)
    form = "/admin/users/edit/?id=%d" % admin.id
    answer = browser.submit(
        f"/admin/users/edit/?id={admin.id}&url={target}",
        {"email": admin.email, "full_name": "Ada Admin", "timezone": "UTC", "locale": "en",
         "active": "y", "roles": [str(role.id) for role in admin.roles]},
        form_url=form,
    )
    # A target with a control character (the tab) is refused outright (400).
    assert answer.status_code in (302, 400)
    if answer.status_code == 302:
        assert_local(answer.headers["Location"])
    deleted = browser.submit(
        "/admin/users/delete/", {"id": str(admin.id), "url": target}, form_url="/admin/users/"
    )
    assert deleted.status_code in (302, 400)
    if deleted.status_code == 302:
        assert_local(deleted.headers["Location"])
