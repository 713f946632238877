"""The UID an imported event came with, so that importing the same file again updates the
appointments it made instead of adding them twice.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ical_uid', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(
            'uq_appointment_owner_id_ical_uid', ['owner_id', 'ical_uid']
        )


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_constraint('uq_appointment_owner_id_ical_uid', type_='unique')
        batch_op.drop_column('ical_uid')
