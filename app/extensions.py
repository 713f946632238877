"""Extension objects, created here and bound to an app in ``create_app``."""

from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_security import Security
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from app.core.db import Base
from app.core.mail import AfterResponseMailUtil

db = SQLAlchemy(model_class=Base)
# The models' base class. db.Model is made at run time from Base (adding Flask-SQLAlchemy's
# query and bind key), which type checkers cannot follow: for them it is Base itself.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate(render_as_batch=True, compare_type=True)
babel = Babel()
csrf = CSRFProtect()
mail = Mail()
security = Security(mail_util_cls=AfterResponseMailUtil)  # mail after the answer
