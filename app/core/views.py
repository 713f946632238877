"""The home page."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_security import current_user

bp = Blueprint("core", __name__)


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("scheduling.appointment_list"))
    return render_template("index.html")
