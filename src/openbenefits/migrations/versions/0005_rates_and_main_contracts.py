"""rates and main contracts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 12:04:14.246161
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "rates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("term_value", sa.Integer(), nullable=False),
        sa.Column(
            "term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("extension_term_value", sa.Integer(), nullable=False),
        sa.Column(
            "extension_term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("cancellation_period_value", sa.Integer(), nullable=False),
        sa.Column(
            "cancellation_period_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rates_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rates")),
    )
    with op.batch_alter_table("rates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rates_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "rate_payment_frequencies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "FREE",
                "NON_RECURRING",
                "RECURRING",
                "MONTH_DAY",
                "TERM_BASED",
                name="paymentfrequencytype",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("term_value", sa.Integer(), nullable=True),
        sa.Column(
            "term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("price_table", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["rate_id"], ["rates.id"], name=op.f("fk_rate_payment_frequencies_rate_id_rates")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_rate_payment_frequencies_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_payment_frequencies")),
    )
    with op.batch_alter_table("rate_payment_frequencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rate_payment_frequencies_rate_id"), ["rate_id"], unique=False
        )

    op.create_table(
        "main_contracts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "studio_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rate_name", sa.String(length=200), nullable=False),
        sa.Column(
            "payment_frequency_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("created_date", sa.Date(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("term_value", sa.Integer(), nullable=False),
        sa.Column(
            "term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("extension_term_value", sa.Integer(), nullable=False),
        sa.Column(
            "extension_term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("cancellation_period_value", sa.Integer(), nullable=False),
        sa.Column(
            "cancellation_period_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("base_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("current_price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cancellation_date", sa.Date(), nullable=True),
        sa.Column("cancellation_receipt_date", sa.Date(), nullable=True),
        sa.Column("cancellation_reason", sa.String(length=500), nullable=True),
        sa.Column("third_party_id", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_main_contracts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["payment_frequency_id"],
            ["rate_payment_frequencies.id"],
            name=op.f("fk_main_contracts_payment_frequency_id_rate_payment_frequencies"),
        ),
        sa.ForeignKeyConstraint(
            ["rate_id"], ["rates.id"], name=op.f("fk_main_contracts_rate_id_rates")
        ),
        sa.ForeignKeyConstraint(
            ["studio_id"], ["studios.id"], name=op.f("fk_main_contracts_studio_id_studios")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_main_contracts_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_main_contracts")),
    )
    with op.batch_alter_table("main_contracts", schema=None) as batch_op:
        batch_op.create_index("ix_main_contracts_customer_id", ["customer_id", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("main_contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_main_contracts_customer_id")

    op.drop_table("main_contracts")
    with op.batch_alter_table("rate_payment_frequencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rate_payment_frequencies_rate_id"))

    op.drop_table("rate_payment_frequencies")
    with op.batch_alter_table("rates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rates_tenant_id"))

    op.drop_table("rates")
