"""Users and roles, on Flask-Security's SQLAlchemy 2 mixins."""

from __future__ import annotations

from flask_security.models import sqla as fs_models
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

fs_models.FsModels.set_db_info(base_model=db.Model)

ROLE_ADMIN = "admin"
ROLE_STAFF = "staff"
ROLE_TRANSLATOR = "translator"


class Role(db.Model, fs_models.FsRoleMixin):
    __tablename__ = "role"

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class User(db.Model, fs_models.FsUserMixin):
    __tablename__ = "user"

    full_name: Mapped[str] = mapped_column(String(255), default="")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
