"""eol_runs.report_sha256: the report PDF rendered when a run ends, kept as evidence

Revision ID: a8c4e1f7d302
Revises: c41d2a9e7b10
Create Date: 2026-12-05 12:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8c4e1f7d302'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = '7e5723626b8e'


def upgrade():
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_sha256', sa.String(length=64), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        batch_op.drop_column('report_sha256')
