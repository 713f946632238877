"""The translation console: the edit history of catalog entries, and the translate permission.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 10:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

TRANSLATE = "translate"
# Roles that get it, after the permission they had from 0003.
GRANTED = {"admin": ["admin-panel", "appointments-manage", "users-read", "users-manage",
                     "roles-manage", "audit-read"],
           "translator": []}
GRANTED_AFTER = {"admin": GRANTED["admin"] + [TRANSLATE], "translator": ["admin-panel", TRANSLATE]}


def upgrade():
    op.create_table('translation_edit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=16), nullable=False),
    sa.Column('msgid', sa.Text(), nullable=False),
    sa.Column('how', sa.String(length=16), nullable=False),
    sa.Column('old', sa.JSON(), nullable=False),
    sa.Column('new', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_translation_edit_actor_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_translation_edit'))
    )
    with op.batch_alter_table('translation_edit', schema=None) as batch_op:
        batch_op.create_index('ix_translation_edit_language_key', ['language', 'key', 'created'], unique=False)

    _set_permissions(GRANTED, GRANTED_AFTER)


def downgrade():
    _set_permissions(GRANTED_AFTER, GRANTED)
    with op.batch_alter_table('translation_edit', schema=None) as batch_op:
        batch_op.drop_index('ix_translation_edit_language_key')
    op.drop_table('translation_edit')


def _set_permissions(before, after):
    """Change the roles' permissions, unless an admin already changed them by hand."""
    role = sa.table('role', sa.column('name', sa.String), sa.column('permissions', sa.UnicodeText))
    for name, permissions in after.items():
        op.execute(
            role.update()
            .where(role.c.name == name)
            .where(sa.func.coalesce(role.c.permissions, '') == ",".join(before[name]))
            .values(permissions=",".join(permissions) or None)
        )
