"""jobs.kit_fingerprint and jobs.labour_seconds (caches and reports read no snapshot and sum no records); jobs by date

Revision ID: e2b7c9d4a613
Revises: c41d2a9e7b10
Create Date: 2026-12-05 00:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2b7c9d4a613'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = 'a74659a1812a'


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kit_fingerprint', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('labour_seconds', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE jobs SET labour_seconds = coalesce("
               "(SELECT sum(seconds_spent) FROM step_records WHERE step_records.job_id = jobs.id), 0)")
    # Existing jobs: copy the fingerprint out of their kit snapshot.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("UPDATE jobs SET kit_fingerprint = coalesce(kit_snapshot->>'fingerprint', '') "
                   "WHERE kit_snapshot IS NOT NULL")
    else:
        op.execute("UPDATE jobs SET kit_fingerprint = coalesce(json_extract(kit_snapshot, '$.fingerprint'), '') "
                   "WHERE kit_snapshot IS NOT NULL")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.alter_column('kit_fingerprint', server_default=None)
        batch_op.alter_column('labour_seconds', server_default=None)
        batch_op.create_index('ix_jobs_created', ['created_at', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_created')
        batch_op.drop_column('labour_seconds')
        batch_op.drop_column('kit_fingerprint')
