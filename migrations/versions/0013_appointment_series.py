"""Repeating appointments: a series is an appointment with a repeat rule and a zone of its own;
an exception replaces one occurrence (its series and the occurrence's original start); an
occurrence deleted from a series is an excluded date.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 19:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rrule', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('series_timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('series_end', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('series_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('recurrence_id', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            'fk_appointment_series_id_appointment', 'appointment', ['series_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_unique_constraint(
            'uq_appointment_series_id_recurrence_id', ['series_id', 'recurrence_id']
        )
        batch_op.create_check_constraint(
            op.f('ck_appointment_series_has_zone'), '(rrule IS NULL) = (series_timezone IS NULL)'
        )
        batch_op.create_check_constraint(
            op.f('ck_appointment_exception_names_occurrence'), '(series_id IS NULL) = (recurrence_id IS NULL)'
        )
        batch_op.create_check_constraint(
            op.f('ck_appointment_exception_is_no_series'), 'rrule IS NULL OR series_id IS NULL'
        )

    op.create_table(
        'appointment_exdate',
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.Column('recurrence_id', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['series_id'], ['appointment.id'],
            name=op.f('fk_appointment_exdate_series_id_appointment'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('series_id', 'recurrence_id', name=op.f('pk_appointment_exdate')),
    )


def downgrade():
    op.drop_table('appointment_exdate')
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_appointment_exception_is_no_series'), type_='check')
        batch_op.drop_constraint(op.f('ck_appointment_exception_names_occurrence'), type_='check')
        batch_op.drop_constraint(op.f('ck_appointment_series_has_zone'), type_='check')
        batch_op.drop_constraint('uq_appointment_series_id_recurrence_id', type_='unique')
        batch_op.drop_constraint('fk_appointment_series_id_appointment', type_='foreignkey')
        batch_op.drop_column('recurrence_id')
        batch_op.drop_column('series_id')
        batch_op.drop_column('series_end')
        batch_op.drop_column('series_timezone')
        batch_op.drop_column('rrule')
