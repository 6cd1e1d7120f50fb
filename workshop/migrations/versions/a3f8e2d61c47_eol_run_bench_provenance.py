"""EOL runs record where they ran: bench kind, interface, channel, adapter, host, software

Revision ID: a3f8e2d61c47
Revises: c41d2a9e7b10 (depends on 7e5723626b8e, which creates the EOL tables)
Create Date: 2026-12-05 05:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3f8e2d61c47'
down_revision = 'c41d2a9e7b10'
branch_labels = None
depends_on = '7e5723626b8e'

COLUMNS = (
    ('bench_kind', 16),
    ('bench_centre', 16),
    ('bench_interface', 32),
    ('bench_channel', 64),
    ('adapter_serial', 64),
    ('agent_host', 128),
    ('software_version', 32),
)


def upgrade():
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        for name, length in COLUMNS:
            batch_op.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default='')
            )


def downgrade():
    with op.batch_alter_table('eol_runs', schema=None) as batch_op:
        for name, _length in reversed(COLUMNS):
            batch_op.drop_column(name)
