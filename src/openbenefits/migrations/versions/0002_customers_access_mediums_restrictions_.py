"""customers, access mediums, restrictions, idle periods

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:50:18.696209
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("customer_number", sa.String(length=50), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "MEMBER",
                "PROSPECT",
                "FORMER_MEMBER",
                name="customerstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column(
            "first_name_key",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "last_name_key",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("email_key", sa.String(length=254), nullable=True),
        sa.Column(
            "gender",
            sa.Enum("MALE", "FEMALE", "UNISEX", name="gender", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("street", sa.String(length=200), nullable=True),
        sa.Column("house_number", sa.String(length=20), nullable=True),
        sa.Column("zip_code", sa.String(length=20), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("phone_private", sa.String(length=50), nullable=True),
        sa.Column("phone_private_mobile", sa.String(length=50), nullable=True),
        sa.Column("phone_business", sa.String(length=50), nullable=True),
        sa.Column("phone_business_mobile", sa.String(length=50), nullable=True),
        sa.Column("language_code", sa.String(length=2), nullable=True),
        sa.Column("language_country_code", sa.String(length=2), nullable=True),
        sa.Column("third_party_id", sa.String(length=100), nullable=True),
        sa.Column("referral_code", sa.String(length=50), nullable=True),
        sa.Column("debtor_id", sa.String(length=50), nullable=True),
        sa.Column("account_holder", sa.String(length=200), nullable=True),
        sa.Column("bank_name", sa.String(length=200), nullable=True),
        sa.Column("bic", sa.String(length=11), nullable=True),
        sa.Column("iban", sa.String(length=34), nullable=True),
        sa.Column("signup_details", sa.JSON(), nullable=True),
        sa.Column(
            "created_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"], ["studios.id"], name=op.f("fk_customers_studio_id_studios")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_customers_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint(
            "tenant_id", "customer_number", name=op.f("uq_customers_tenant_id_customer_number")
        ),
        sa.UniqueConstraint("uuid", name=op.f("uq_customers_uuid")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customers_studio_status_id", ["studio_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_customers_tenant_date_of_birth", ["tenant_id", "date_of_birth"], unique=False
        )
        batch_op.create_index(
            "ix_customers_tenant_debtor_id", ["tenant_id", "debtor_id"], unique=False
        )
        batch_op.create_index(
            "ix_customers_tenant_email_key", ["tenant_id", "email_key"], unique=False
        )
        batch_op.create_index(
            "ix_customers_tenant_first_name_key", ["tenant_id", "first_name_key"], unique=False
        )
        batch_op.create_index(
            "ix_customers_tenant_last_name_key", ["tenant_id", "last_name_key"], unique=False
        )

    op.create_table(
        "access_mediums",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "type",
            sa.Enum(
                "CARD_NUMBER",
                "PIN",
                "BARCODE",
                "WALLET_PASS",
                name="accessmediumtype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_access_mediums_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_access_mediums_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_mediums")),
        sa.UniqueConstraint(
            "tenant_id", "type", "value", name=op.f("uq_access_mediums_tenant_id_type_value")
        ),
    )
    with op.batch_alter_table("access_mediums", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_mediums_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "access_restrictions",
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_access_restrictions_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_access_restrictions_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_access_restrictions")),
    )
    op.create_table(
        "idle_periods",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_idle_periods_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_idle_periods_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idle_periods")),
    )
    with op.batch_alter_table("idle_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idle_periods_customer_id"), ["customer_id"], unique=False
        )

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "next_customer_number", sa.BigInteger(), server_default="1000", nullable=False
            )
        )


def downgrade() -> None:

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("next_customer_number")

    with op.batch_alter_table("idle_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idle_periods_customer_id"))

    op.drop_table("idle_periods")
    op.drop_table("access_restrictions")
    with op.batch_alter_table("access_mediums", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_mediums_customer_id"))

    op.drop_table("access_mediums")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_tenant_last_name_key")
        batch_op.drop_index("ix_customers_tenant_first_name_key")
        batch_op.drop_index("ix_customers_tenant_email_key")
        batch_op.drop_index("ix_customers_tenant_debtor_id")
        batch_op.drop_index("ix_customers_tenant_date_of_birth")
        batch_op.drop_index("ix_customers_studio_status_id")

    op.drop_table("customers")
