"""EOL runs keep the simulator's seed; results and abort reasons as message codes

Revision ID: 5e1d0c7a9b21
Revises: c41d2a9e7b10 (depends on 7e5723626b8e, which creates the EOL tables)
Create Date: 2026-12-05 00:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e1d0c7a9b21'
down_revision = 'c41d2a9e7b10'
branch_labels = None
# the EOL tables are created on another branch of the history
depends_on = '7e5723626b8e'


def upgrade():
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seed', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('abort_message', sa.JSON(), nullable=True))
    with op.batch_alter_table('eol_checks', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('message_code', sa.String(length=64), nullable=False, server_default='')
        )
        batch_op.add_column(sa.Column('message_params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('eol_checks', schema=None) as batch_op:
        batch_op.drop_column('message_params')
        batch_op.drop_column('message_code')
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        batch_op.drop_column('abort_message')
        batch_op.drop_column('seed')
