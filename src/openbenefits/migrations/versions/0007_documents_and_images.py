"""documents and images

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 12:00:59.686537
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("blob_key", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_documents_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customer_documents_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_documents")),
        sa.UniqueConstraint("blob_key", name=op.f("uq_customer_documents_blob_key")),
    )
    with op.batch_alter_table("customer_documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_documents_customer_id_id", ["customer_id", "id"], unique=False
        )

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_key", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("image_key")

    with op.batch_alter_table("customer_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_documents_customer_id_id")

    op.drop_table("customer_documents")
