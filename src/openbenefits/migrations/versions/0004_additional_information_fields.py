"""additional information fields

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-22 11:57:40.228078
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "additional_info_fields",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("abbreviation", sa.String(length=20), nullable=True),
        sa.Column(
            "type",
            sa.Enum(
                "BOOLEAN",
                "DATE",
                "LIST",
                "NUMERIC",
                "TEXT",
                name="additionalinformationfieldtype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_additional_info_fields_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_additional_info_fields")),
        sa.UniqueConstraint(
            "tenant_id", "name", name=op.f("uq_additional_info_fields_tenant_id_name")
        ),
    )
    op.create_table(
        "additional_info_list_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("field_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["additional_info_fields.id"],
            name=op.f("fk_additional_info_list_items_field_id_additional_info_fields"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_additional_info_list_items_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_additional_info_list_items")),
    )
    with op.batch_alter_table("additional_info_list_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_additional_info_list_items_field_id"), ["field_id"], unique=False
        )

    op.create_table(
        "additional_info_assignments",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("field_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_additional_info_assignments_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["field_id"],
            ["additional_info_fields.id"],
            name=op.f("fk_additional_info_assignments_field_id_additional_info_fields"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_additional_info_assignments_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint(
            "customer_id", "field_id", name=op.f("pk_additional_info_assignments")
        ),
    )
    with op.batch_alter_table("additional_info_assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_additional_info_assignments_field_id"), ["field_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("additional_info_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_additional_info_assignments_field_id"))

    op.drop_table("additional_info_assignments")
    with op.batch_alter_table("additional_info_list_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_additional_info_list_items_field_id"))

    op.drop_table("additional_info_list_items")
    op.drop_table("additional_info_fields")
