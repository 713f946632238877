"""Calendar feed tokens kept as their SHA-256 only, so a copy of the database opens no feed.

Each existing token is replaced by its hash, so every subscription made before keeps working
(the feed looks the token up by its hash). New accounts get no token until they ask for one.
A downgrade cannot recover the tokens: it gives every user a new one, and the old addresses
stop working.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 09:00:00.000000

"""
import hashlib
import secrets

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_calendar_token'), type_='unique')
        batch_op.alter_column(
            'calendar_token', new_column_name='calendar_token_hash',
            existing_type=sa.String(length=64), nullable=True,
        )

    # The same digest as app.accounts.models.calendar_token_digest, written out here: a
    # migration must not change when the app's code does.
    _replace_tokens('calendar_token_hash', lambda old: hashlib.sha256(old.encode()).hexdigest())

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f('uq_user_calendar_token_hash'), ['calendar_token_hash']
        )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_user_calendar_token_hash'), type_='unique')
        batch_op.alter_column(
            'calendar_token_hash', new_column_name='calendar_token',
            existing_type=sa.String(length=64), nullable=True,
        )

    # A hash gives no token back: every user gets a new address, as 0002 gave the first ones.
    _replace_tokens('calendar_token', lambda _old: secrets.token_urlsafe(32), every_row=True)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.alter_column('calendar_token', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_user_calendar_token'), ['calendar_token'])


def _replace_tokens(column_name, new_value, every_row=False):
    """Set each user's ``column_name`` to ``new_value(old value)``; rows without one stay None
    unless ``every_row``."""
    user = sa.table('user', sa.column('id', sa.Integer), sa.column(column_name, sa.String))
    column = user.c[column_name]
    rows = sa.select(user.c.id, column)
    if not every_row:
        rows = rows.where(column.isnot(None))
    connection = op.get_bind()
    values = [
        {'row_id': row_id, 'new_value': new_value(old)}
        for row_id, old in connection.execute(rows).all()
    ]
    if values:
        connection.execute(
            user.update().where(user.c.id == sa.bindparam('row_id'))
            .values({column_name: sa.bindparam('new_value')}),
            values,
        )
