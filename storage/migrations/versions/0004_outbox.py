"""reminder subscriptions, the outbox, the drainer's lease, planned call dates

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.types

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=96), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('chat_id', 'target')
    )
    op.create_index(op.f('ix_subscription_chat_id'), 'subscription', ['chat_id'], unique=False)
    op.create_index(op.f('ix_subscription_target'), 'subscription', ['target'], unique=False)
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_index('ix_outbox_status_due_at', 'outbox', ['status', 'due_at'], unique=False)
    op.create_index(op.f('ix_outbox_chat_id'), 'outbox', ['chat_id'], unique=False)
    op.create_index(op.f('ix_outbox_subject'), 'outbox', ['subject'], unique=False)
    op.create_table('lease',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('call_schedule',
    sa.Column('call_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('opens', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closes', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('known_since', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('planned_until', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('call_id')
    )


def downgrade() -> None:
    op.drop_table('call_schedule')
    op.drop_table('lease')
    op.drop_index(op.f('ix_outbox_subject'), table_name='outbox')
    op.drop_index(op.f('ix_outbox_chat_id'), table_name='outbox')
    op.drop_index('ix_outbox_status_due_at', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index(op.f('ix_subscription_target'), table_name='subscription')
    op.drop_index(op.f('ix_subscription_chat_id'), table_name='subscription')
    op.drop_table('subscription')
