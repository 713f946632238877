"""The profile page: name, language and time zone, and the calendar subscription address."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_security import auth_required, current_user

from app.accounts.forms import ProfileForm
from app.extensions import db

bp = Blueprint("accounts", __name__, template_folder="templates", url_prefix="/account")


@bp.route("/", methods=["GET", "POST"])
@auth_required()
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        form.populate_obj(current_user)
        db.session.commit()
        flash(_("Your profile has been saved."), "success")
        return redirect(url_for("accounts.profile"))
    # A new subscription address breaks every subscription to the current one: asked first.
    confirming = request.args.get("confirm") == "new-address"
    return render_template("accounts/profile.html", form=form, confirming_new_address=confirming)
