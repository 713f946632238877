"""Styled error pages for people, JSON errors for programs."""

from __future__ import annotations

import logging
import secrets

import pytest
from sqlalchemy import insert

from app import create_app
from app.accounts.models import User
from app.extensions import db


def test_404_is_a_styled_page(client):
    response = client.get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in html and 'class="navbar' in html


def test_404_is_json_for_json_clients(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.get_json() == {
        "error": {
            "code": 404,
            "title": "Page not found",
            "message": "The page you asked for does not exist.",
        }
    }


def test_405_keeps_the_allow_header(client):
    response = client.post("/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "Method not allowed" in response.get_data(as_text=True)


def test_400_from_a_missing_csrf_token_says_why(client):
    response = client.post("/register", data={"email": "a@example.com"})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)


def test_403_page(app, client):
    from flask import abort

    app.add_url_rule("/forbidden-for-test", "forbidden", lambda: abort(403))
    response = client.get("/forbidden-for-test")
    assert response.status_code == 403
    assert "Forbidden" in response.get_data(as_text=True)


@pytest.fixture
def failing_app(database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def explode():
        raise RuntimeError("boom")

    app.add_url_rule("/explode", "explode", explode)
    return app


def test_500_is_a_styled_page_without_details(failing_app):
    response = failing_app.test_client().get("/explode")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "boom" not in html and "Traceback" not in html


def test_500_is_json_for_json_clients(failing_app):
    response = failing_app.test_client().get("/explode", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == 500


def test_a_failed_statement_is_logged_without_its_values(app, caplog):
    """An unexpected database error's log keeps the statement, never the values it carried
    (a password hash, a token): the engine hides them."""
    hash_value = "$argon2id$v=19$m=19456,t=2,p=1$secret-hash-value"

    def duplicate():
        for _ in range(2):  # the same fs_uniquifier twice
            db.session.execute(insert(User).values(
                email=f"{secrets.token_hex(4)}@example.com", password=hash_value,
                fs_uniquifier="same", active=True,
            ))
        return "saved"

    app.add_url_rule("/duplicate", "duplicate", duplicate)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        assert app.test_client().get("/duplicate").status_code == 500
    assert "IntegrityError" in caplog.text and "INSERT INTO" in caplog.text
    assert hash_value not in caplog.text
