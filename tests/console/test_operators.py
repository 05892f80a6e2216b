"""Operator accounts: made by the command line, hashed with argon2, signed in with a lockout."""

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from openbenefits.cli import CliContext, app
from openbenefits.console import operators
from openbenefits.console.models import Operator, OperatorRole, OperatorStudio
from openbenefits.kit.audit import AuditEntry
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.errors import AppError, Unauthorized
from tests.conftest import SECRET, START
from tests.console.conftest import PASSWORD, add_operator
from tests.helpers import admin_headers, create_tenant


@pytest.fixture
def cli_env(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("OPENBENEFITS_DATABASE_URL", database_url)
    monkeypatch.setenv("OPENBENEFITS_SECRET_KEY", SECRET)
    monkeypatch.setenv("OPENBENEFITS_DATA_DIR", str(tmp_path))


@pytest.fixture
async def tenants(client, settings, clock) -> tuple[Any, Any]:
    admin = admin_headers(settings, clock)
    return await create_tenant(client, admin, "Ops"), await create_tenant(client, admin, "Other")


async def _sign_in(db, email: str, password: str, at=START) -> Operator | Unauthorized:
    async with db.session() as session:
        outcome = await operators.sign_in(session, email, password, at)
        await session.commit()
        return outcome


async def test_the_command_line_makes_the_first_tenant_admin(cli_env, tenants, db):
    ops, _ = tenants
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "operators", "create", "--tenant-id", str(ops.tenant_id),
            "--email", " Anna@Example.org ", "--role", "TENANT_ADMIN",
        ],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        obj=CliContext(clock=FixedClock(START)),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout[result.stdout.index("{") :])
    assert (created["email"], created["role"]) == ("anna@example.org", "TENANT_ADMIN")
    async with db.session() as session:
        stored = await session.get(Operator, created["id"])
        audit = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "operator.created")
        )
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert audit is not None
    assert (audit.actor, audit.entity_id) == ("system:cli", str(created["id"]))
    assert isinstance(await _sign_in(db, "ANNA@example.org", PASSWORD), Operator)


@pytest.mark.parametrize(
    ("role", "fields", "code"),
    [
        (OperatorRole.STUDIO_MANAGER, {}, "STUDIOS_REQUIRED"),
        (OperatorRole.READ_ONLY, {"studio_ids": "own"}, "STUDIOS_NOT_ALLOWED"),
        (OperatorRole.STUDIO_MANAGER, {"studio_ids": "other"}, "STUDIO_NOT_FOUND"),
        (OperatorRole.TENANT_ADMIN, {"password": "too short"}, "PASSWORD_LENGTH"),
        (OperatorRole.TENANT_ADMIN, {"email": "not an address"}, "INVALID_EMAIL"),
        (OperatorRole.TENANT_ADMIN, {"email": "Taken@example.org"}, "OPERATOR_EXISTS"),
    ],
)
async def test_accounts_follow_the_rules(tenants, db, role, fields, code):
    ops, other = tenants
    await add_operator(db, ops.tenant_id, "taken@example.org")
    studios = {"own": [ops.studio_id], "other": [other.studio_id]}
    if "studio_ids" in fields:
        fields["studio_ids"] = studios[fields["studio_ids"]]
    email = fields.pop("email", "new@example.org")
    with pytest.raises(AppError) as refused:
        await add_operator(db, ops.tenant_id, email, role, **fields)
    assert refused.value.code == code


async def test_a_studio_manager_manages_the_studios_named(tenants, db):
    ops, _ = tenants
    operator_id = await add_operator(
        db, ops.tenant_id, "m@example.org", OperatorRole.STUDIO_MANAGER, studio_ids=[ops.studio_id]
    )
    async with db.session() as session:
        managed = list(
            await session.scalars(
                select(OperatorStudio.studio_id).where(OperatorStudio.operator_id == operator_id)
            )
        )
    assert managed == [ops.studio_id]


async def test_wrong_and_unknown_sign_ins_answer_alike(tenants, db):
    ops, _ = tenants
    await add_operator(db, ops.tenant_id, "anna@example.org")
    wrong = await _sign_in(db, "anna@example.org", "not the password")
    unknown = await _sign_in(db, "nobody@example.org", PASSWORD)
    assert isinstance(wrong, Unauthorized)
    assert isinstance(unknown, Unauthorized)
    assert (
        (wrong.code, wrong.message)
        == (unknown.code, unknown.message)
        == (
            "INVALID_CREDENTIALS",
            "Wrong email or password.",
        )
    )


async def test_five_failures_in_a_row_lock_the_account_for_a_quarter_hour(tenants, db):
    ops, _ = tenants
    await add_operator(db, ops.tenant_id, "anna@example.org")
    # Concurrent failures all count: the counter moves in one statement.
    await asyncio.gather(
        *(_sign_in(db, "anna@example.org", f"wrong {n}") for n in range(operators.LOCK_AFTER))
    )
    locked = await _sign_in(db, "anna@example.org", PASSWORD)
    assert isinstance(locked, Unauthorized)
    assert locked.code == "OPERATOR_LOCKED"
    later = START + operators.LOCK_FOR + timedelta(seconds=1)
    assert isinstance(await _sign_in(db, "anna@example.org", PASSWORD, later), Operator)
    async with db.session() as session:
        operator = await session.scalar(select(Operator))
    assert operator is not None
    assert (operator.failed_sign_ins, operator.locked_until) == (0, None)


async def test_a_success_clears_earlier_failures(tenants, db):
    ops, _ = tenants
    await add_operator(db, ops.tenant_id, "anna@example.org")
    for _ in range(operators.LOCK_AFTER - 1):
        await _sign_in(db, "anna@example.org", "wrong")
    assert isinstance(await _sign_in(db, "anna@example.org", PASSWORD), Operator)
    await _sign_in(db, "anna@example.org", "wrong")
    assert isinstance(await _sign_in(db, "anna@example.org", PASSWORD), Operator)


async def test_a_password_is_changed_with_the_current_one(tenants, db):
    ops, _ = tenants
    await add_operator(db, ops.tenant_id, "anna@example.org")
    new = "a much longer passphrase"
    async with db.session() as session:
        operator = await session.scalar(select(Operator))
        assert operator is not None
        with pytest.raises(Unauthorized):
            await operators.change_password(session, operator, "wrong", new, START)
        await operators.change_password(session, operator, PASSWORD, new, START)
        await session.commit()
    assert isinstance(await _sign_in(db, "anna@example.org", PASSWORD), Unauthorized)
    assert isinstance(await _sign_in(db, "anna@example.org", new), Operator)
