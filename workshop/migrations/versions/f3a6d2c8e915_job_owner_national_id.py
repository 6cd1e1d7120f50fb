"""jobs.owner_national_id: the registered owner's Thai national ID, which the DLT re-registers the car in

Revision ID: f3a6d2c8e915
Revises: c41d2a9e7b10
Create Date: 2026-12-05 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a6d2c8e915'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = 'a74659a1812a'


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_national_id', sa.String(length=13), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('owner_national_id')
