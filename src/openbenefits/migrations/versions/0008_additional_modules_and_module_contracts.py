"""additional modules and module contracts

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 12:48:00.238105
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import openbenefits.kit.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "additional_modules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("image_url", sa.String(length=1000), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("online_bookable", sa.Boolean(), nullable=False),
        sa.Column("term_value", sa.Integer(), nullable=True),
        sa.Column(
            "term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column(
            "extension_type",
            sa.Enum("TERM_EXTENSION", "NEW", name="extensiontype", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("extension_term_value", sa.Integer(), nullable=True),
        sa.Column(
            "extension_term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("extension_cancelation_period_value", sa.Integer(), nullable=True),
        sa.Column(
            "extension_cancelation_period_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("cancelation_period_value", sa.Integer(), nullable=True),
        sa.Column(
            "cancelation_period_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("trial_term_value", sa.Integer(), nullable=True),
        sa.Column(
            "trial_term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            openbenefits.kit.db.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_additional_modules_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_additional_modules")),
    )
    with op.batch_alter_table("additional_modules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_additional_modules_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "cancelation_reasons",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_cancelation_reasons_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancelation_reasons")),
    )
    with op.batch_alter_table("cancelation_reasons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cancelation_reasons_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "additional_module_payment_frequencies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "module_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
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
            ["module_id"],
            ["additional_modules.id"],
            name=op.f("fk_additional_module_payment_frequencies_module_id_additional_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_additional_module_payment_frequencies_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_additional_module_payment_frequencies")),
    )
    with op.batch_alter_table("additional_module_payment_frequencies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_additional_module_payment_frequencies_module_id"),
            ["module_id"],
            unique=False,
        )

    op.create_table(
        "additional_module_rates",
        sa.Column(
            "module_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["additional_modules.id"],
            name=op.f("fk_additional_module_rates_module_id_additional_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["rate_id"], ["rates.id"], name=op.f("fk_additional_module_rates_rate_id_rates")
        ),
        sa.PrimaryKeyConstraint("module_id", "rate_id", name=op.f("pk_additional_module_rates")),
    )
    op.create_table(
        "additional_module_contracts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "tenant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "main_contract_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "module_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "payment_frequency_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
        ),
        sa.Column("price", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_date", sa.Date(), nullable=False),
        sa.Column("trial_start_date", sa.Date(), nullable=True),
        sa.Column("trial_term_value", sa.Integer(), nullable=True),
        sa.Column(
            "trial_term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("term_value", sa.Integer(), nullable=False),
        sa.Column(
            "term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("extension_term_value", sa.Integer(), nullable=True),
        sa.Column(
            "extension_term_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("cancelation_period_value", sa.Integer(), nullable=False),
        sa.Column(
            "cancelation_period_unit",
            sa.Enum("DAY", "WEEK", "MONTH", "YEAR", name="termunit", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "cancelation_status",
            sa.Enum(
                "CANCELED",
                "PENDING_VERIFICATION",
                "PENDING_WITHDRAWAL_VERIFICATION",
                name="cancelationstatus",
                native_enum=False,
            ),
            nullable=True,
        ),
        sa.Column("cancelation_date", sa.Date(), nullable=True),
        sa.Column("cancelation_receipt_date", sa.Date(), nullable=True),
        sa.Column(
            "cancelation_reason_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["cancelation_reason_id"],
            ["cancelation_reasons.id"],
            name=op.f("fk_additional_module_contracts_cancelation_reason_id_cancelation_reasons"),
        ),
        sa.ForeignKeyConstraint(
            ["main_contract_id"],
            ["main_contracts.id"],
            name=op.f("fk_additional_module_contracts_main_contract_id_main_contracts"),
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["additional_modules.id"],
            name=op.f("fk_additional_module_contracts_module_id_additional_modules"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_frequency_id"],
            ["additional_module_payment_frequencies.id"],
            name=op.f(
                "fk_additional_module_contracts_payment_frequency_id_additional_module_payment_frequencies"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_additional_module_contracts_tenant_id_tenants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_additional_module_contracts")),
    )
    with op.batch_alter_table("additional_module_contracts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_module_contracts_main_contract", ["main_contract_id", "module_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("additional_module_contracts", schema=None) as batch_op:
        batch_op.drop_index("ix_module_contracts_main_contract")

    op.drop_table("additional_module_contracts")
    op.drop_table("additional_module_rates")
    with op.batch_alter_table("additional_module_payment_frequencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_additional_module_payment_frequencies_module_id"))

    op.drop_table("additional_module_payment_frequencies")
    with op.batch_alter_table("cancelation_reasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cancelation_reasons_tenant_id"))

    op.drop_table("cancelation_reasons")
    with op.batch_alter_table("additional_modules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_additional_modules_tenant_id"))

    op.drop_table("additional_modules")
