"""EOL runs keep the simulator's seed (same kit, faults and seed give the same result)

Revision ID: 5e1d0c7a9b21
Revises: c41d2a9e7b10
Create Date: 2026-12-05 00:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1d0c7a9b21'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seed', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        batch_op.drop_column('seed')
