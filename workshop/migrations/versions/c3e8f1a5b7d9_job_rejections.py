"""jobs.rejections: how often an inspection rejected the job (an open job's page looks for the decision only when there is one)

Revision ID: c3e8f1a5b7d9
Revises: f3a6d2c8e915
Create Date: 2026-12-06 07:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e8f1a5b7d9'
down_revision = 'f3a6d2c8e915'
branch_labels = None
depends_on = 'bd038b7732a7'  # inspections

# Every rejection so far (tests/inspection/test_inspection.py runs it on a job's real data).
BACKFILL = (
    "UPDATE jobs SET rejections = (SELECT count(*) FROM inspections "
    "WHERE inspections.job_id = jobs.id AND inspections.decision = 'rejected')"
)


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rejections', sa.Integer(), nullable=False, server_default='0'))
    op.execute(BACKFILL)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('rejections')
