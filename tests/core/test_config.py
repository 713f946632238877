"""Settings per environment: production refuses to start without strong secrets."""

from __future__ import annotations

import json

import pytest

from app import create_app

STRONG = "k3Jd9-sLq0ZpX7vB2nM4cR8tY1wE6uI5oA_hG"


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECURITY_PASSWORD_SALT", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app("production")


@pytest.mark.parametrize("weak", ["secret", "x" * 40, "changeme" * 2])
def test_production_refuses_weak_secrets(monkeypatch, weak):
    monkeypatch.setenv("SECRET_KEY", weak)
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", STRONG)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production")


def test_production_starts_with_strong_secrets_and_secure_cookies(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", STRONG)
    monkeypatch.setenv("SECURITY_PASSWORD_SALT", STRONG[::-1])
    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == STRONG
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.debug is False


def test_development_reads_its_secrets_from_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SCHED_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="secrets.json is missing"):
        create_app("development", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    from config import write_dev_secrets

    path = write_dev_secrets(tmp_path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    secrets = json.loads(path.read_text())
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == secrets["SECRET_KEY"]
    assert len(secrets["SECRET_KEY"]) >= 32
    # A second run keeps the same secrets, so sessions survive restarts.
    write_dev_secrets(tmp_path)
    assert json.loads(path.read_text()) == secrets


def test_factory_touches_no_database(tmp_path):
    database = tmp_path / "never-created.db"
    create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    assert not database.exists()


def test_argon2_is_the_password_hash(app):
    from flask_security import hash_password

    assert hash_password("a long enough password").startswith("$argon2id$v=19$m=19456,t=2,p=1$")


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@db/sched", "postgresql+psycopg://u@db/sched"),
        ("postgres://u@db/sched", "postgresql+psycopg://u@db/sched"),
        ("postgresql+psycopg://u@db/sched", "postgresql+psycopg://u@db/sched"),
        ("sqlite:////srv/sched.db", "sqlite:////srv/sched.db"),
    ],
)
def test_database_url_picks_the_shipped_postgresql_driver(monkeypatch, given, used):
    from config import database_url_from_env

    monkeypatch.setenv("DATABASE_URL", given)
    assert database_url_from_env() == used
