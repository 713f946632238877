"""An appointment's category and colour, shown in every view and carried in iCalendar
(CATEGORIES, COLOR); both empty for the appointments made before.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 19:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('category', sa.String(length=64), server_default='', nullable=False)
        )
        batch_op.add_column(
            sa.Column('color', sa.String(length=16), server_default='', nullable=False)
        )


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('color')
        batch_op.drop_column('category')
