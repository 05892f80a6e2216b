"""Webhook targets are public addresses, or in networks the operator allows: refused when
subscribing, and refused again on the connection the worker makes, after resolving the name
(DNS rebinding)."""

import socket
import ssl
from datetime import UTC, datetime
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openbenefits.config import Settings
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.webhooks import worker
from tests.chain import Chain
from tests.helpers import expect
from tests.webhooks.conftest import Deliver
from tests.webhooks.receiver import Receiver, running_receiver
from tests.webhooks.subscriptions import subscribe
from tests.webhooks.test_webhooks import deliveries

Answers = dict[str, list[str]]


@pytest.fixture
def allowed_networks() -> list[str]:
    """None, unlike the rest of the suite: a test that wants some parametrizes this."""
    return []


@pytest.fixture
def settings(settings: Settings, allowed_networks: list[str]) -> Settings:
    networks = [ip_network(network) for network in allowed_networks]
    return settings.model_copy(update={"webhook_allowed_networks": networks})


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Answers:
    """The system resolver, except for the names put in here: each answers the addresses it is
    given (none: the name does not resolve)."""
    answers: Answers = {}
    system = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return system(host, port, *args, **kwargs)
        if not answers[name]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port or 0, 0, 0))
            if ip_address(address).version == 6
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))
            for address in answers[name]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.fixture
async def integration(chain: Chain) -> int:
    """A partner integrated in studio A."""
    base = f"/admin/v1/tenants/{chain.tenant_id}"
    partner = expect(
        await chain.client.post(f"{base}/partners", json={"name": "Hooks"}, headers=chain.admin),
        201,
    )
    created = await chain.client.post(
        f"{base}/partner-integrations",
        json={"partnerId": partner["id"], "studioId": chain.studio_a},
        headers=chain.admin,
    )
    return int(expect(created, 201)["id"])


async def create(chain: Chain, integration: int, url: str) -> httpx.Response:
    body = {"partnerIntegrationId": integration, "url": url, "eventTypes": ["TEST"]}
    return await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions",
        json=body,
        headers=chain.admin,
    )


def assert_target_refused(response: httpx.Response) -> None:
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["code"], problem["reference"]) == ("WEBHOOK_TARGET_NOT_ALLOWED", "url")


def named(receiver: Receiver, host: str) -> str:
    """The receiver's URL under another host name."""
    return receiver.url.replace("127.0.0.1", host)


async def the_attempt(chain: Chain, **filters: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The only delivery (of those ``filters`` select), and its only attempt."""
    [delivery] = await deliveries(chain, **filters)
    detail = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/webhook-deliveries/{delivery['id']}",
            headers=chain.admin,
        ),
        200,
    )
    [attempt] = detail["attemptLog"]
    return detail, attempt


async def send_test_event(chain: Chain, subscription: dict[str, Any]) -> None:
    expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}/test",
            headers=chain.admin,
        ),
        202,
    )


# Subscribing


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("127.1", id="loopback-short-form"),
        pytest.param("2130706433", id="loopback-as-a-number"),
        pytest.param("0177.0.0.1", id="loopback-in-octal"),
        pytest.param("[::1]", id="loopback-v6"),
        pytest.param("10.1.2.3", id="private-10"),
        pytest.param("172.16.5.4", id="private-172.16"),
        pytest.param("192.168.1.10", id="private-192.168"),
        pytest.param("[fd12:3456::1]", id="unique-local-v6"),
        pytest.param("100.64.0.1", id="carrier-grade-nat"),
        pytest.param("169.254.10.1", id="link-local"),
        pytest.param("[fe80::1]", id="link-local-v6"),
        pytest.param("169.254.169.254", id="metadata"),
        pytest.param("[fd00:ec2::254]", id="metadata-aws-v6"),
        pytest.param("100.100.100.200", id="metadata-alibaba"),
        pytest.param("168.63.129.16", id="metadata-azure-wireserver"),
        pytest.param("224.0.0.251", id="multicast"),
        pytest.param("[ff02::1]", id="multicast-v6"),
        pytest.param("0.0.0.0", id="unspecified"),  # noqa: S104
        pytest.param("[::]", id="unspecified-v6"),
        pytest.param("240.0.0.1", id="reserved"),
        pytest.param("255.255.255.255", id="broadcast"),
        pytest.param("192.0.2.10", id="documentation"),
        pytest.param("[2001:db8::1]", id="documentation-v6"),
        pytest.param("[::ffff:127.0.0.1]", id="ipv4-mapped-loopback"),
        pytest.param("[::ffff:169.254.169.254]", id="ipv4-mapped-metadata"),
        pytest.param("[64:ff9b::a9fe:a9fe]", id="nat64-metadata"),
        pytest.param("[2002:a00:1::1]", id="6to4-private"),
    ],
)
async def test_a_non_public_address_is_refused(chain: Chain, integration: int, host: str) -> None:
    assert_target_refused(await create(chain, integration, f"http://{host}:8080/hooks"))
    listed = await chain.client.get(
        f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions", headers=chain.admin
    )
    assert expect(listed, 200)["items"] == []


@pytest.mark.parametrize(
    "host", ["93.184.215.14", "[2606:4700::1111]", "[::ffff:93.184.215.14]", "[64:ff9b::101:101]"]
)
async def test_a_public_address_is_accepted(chain: Chain, integration: int, host: str) -> None:
    expect(await create(chain, integration, f"https://{host}/hooks"), 201)


async def test_a_name_that_resolves_to_loopback_is_refused(chain: Chain, integration: int) -> None:
    assert_target_refused(await create(chain, integration, "http://localhost:8080/hooks"))


async def test_a_name_is_refused_when_any_of_its_addresses_is_not_public(
    chain: Chain, integration: int, dns: Answers
) -> None:
    dns["hooks.test"] = ["93.184.215.14", "10.0.0.7"]
    assert_target_refused(await create(chain, integration, "https://hooks.test/hooks"))
    dns["hooks.test"] = ["93.184.215.14", "2606:4700::1111"]
    expect(await create(chain, integration, "https://hooks.test/hooks"), 201)


async def test_a_name_that_does_not_resolve_yet_is_accepted(
    chain: Chain, integration: int, dns: Answers
) -> None:
    dns["later.test"] = []
    expect(await create(chain, integration, "https://later.test/hooks"), 201)


async def test_changing_the_url_to_a_non_public_address_is_refused(
    chain: Chain, integration: int, dns: Answers
) -> None:
    dns["hooks.test"] = ["93.184.215.14"]
    subscription = expect(await create(chain, integration, "https://hooks.test/hooks"), 201)
    url = f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}"

    for target in ("http://169.254.169.254/latest/meta-data/", "http://localhost/hooks"):
        changed = await chain.client.patch(url, json={"url": target}, headers=chain.admin)
        assert_target_refused(changed)

    assert expect(await chain.client.get(url, headers=chain.admin), 200)["url"] == (
        "https://hooks.test/hooks"
    )
    moved = await chain.client.patch(
        url, json={"url": "https://[2606:4700::1111]/hooks"}, headers=chain.admin
    )
    assert expect(moved, 200)["url"] == "https://[2606:4700::1111]/hooks"


@pytest.mark.parametrize("allowed_networks", [["10.0.0.0/8", "fd12::/16"]])
async def test_the_operator_may_allow_networks(
    chain: Chain, integration: int, dns: Answers
) -> None:
    dns["intranet.test"] = ["10.20.30.40"]
    expect(await create(chain, integration, "http://10.1.2.3/hooks"), 201)
    expect(await create(chain, integration, "http://[fd12::7]/hooks"), 201)
    expect(await create(chain, integration, "http://intranet.test/hooks"), 201)
    assert_target_refused(await create(chain, integration, "http://192.168.1.10/hooks"))
    assert_target_refused(await create(chain, integration, "http://127.0.0.1/hooks"))


# Delivering


async def test_a_name_rebound_to_loopback_after_subscribing_is_refused_at_delivery(
    chain: Chain, dns: Answers, deliver: Deliver, receiver: Receiver
) -> None:
    dns["hooks.test"] = ["93.184.215.14"]
    subscription = await subscribe(chain, named(receiver, "hooks.test"), chain.studio_a)
    dns["hooks.test"] = ["127.0.0.1"]
    await send_test_event(chain, subscription)

    assert await deliver() == 1

    assert receiver.requests == []
    delivery, attempt = await the_attempt(chain)
    assert (delivery["state"], delivery["attempts"]) == ("PENDING", 1)
    assert (attempt["statusCode"], attempt["responseBody"]) == (None, None)
    assert attempt["error"] == (
        "TargetNotAllowed: hooks.test is not a public address, nor in a network the operator allows"
    )


@pytest.mark.parametrize("allowed_networks", [["127.0.0.0/8"]])
async def test_a_target_outside_the_workers_allowance_is_refused_at_delivery(
    chain: Chain, db: Database, clock: FixedClock, receiver: Receiver, settings: Settings
) -> None:
    """Subscribed while the operator allowed loopback; delivered by a worker that does not."""
    subscription = await subscribe(chain, receiver.url, chain.studio_a)
    await send_test_event(chain, subscription)

    assert await worker.deliver_due(db, clock, settings.keyring) == 1

    assert receiver.requests == []
    _, attempt = await the_attempt(chain)
    assert attempt["error"].startswith("TargetNotAllowed: 127.0.0.1 is not a public address")


@pytest.mark.parametrize("allowed_networks", [["127.0.0.0/8"]])
async def test_the_allowance_lets_its_network_through_under_the_name_subscribed(
    chain: Chain, dns: Answers, deliver: Deliver, receiver: Receiver
) -> None:
    dns["hooks.test"] = ["127.0.0.1"]
    url = named(receiver, "hooks.test")
    subscription = await subscribe(chain, url, chain.studio_a)
    await send_test_event(chain, subscription)

    assert await deliver() == 1

    [request] = receiver.requests
    assert request.headers["host"] == httpx.URL(url).netloc.decode()
    delivery, attempt = await the_attempt(chain)
    assert (delivery["state"], attempt["statusCode"]) == ("DELIVERED", 200)


@pytest.mark.parametrize("allowed_networks", [["127.0.0.0/8"]])
async def test_a_name_with_one_address_outside_the_allowance_is_refused_at_delivery(
    chain: Chain, dns: Answers, deliver: Deliver, receiver: Receiver
) -> None:
    dns["hooks.test"] = ["127.0.0.1"]
    subscription = await subscribe(chain, named(receiver, "hooks.test"), chain.studio_a)
    dns["hooks.test"] = ["127.0.0.1", "10.0.0.7"]
    await send_test_event(chain, subscription)

    assert await deliver() == 1

    assert receiver.requests == []
    _, attempt = await the_attempt(chain)
    assert attempt["error"].startswith("TargetNotAllowed: hooks.test")


def certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate_file, key_file = directory / "certificate.pem", directory / "key.pem"
    certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_file, key_file


@pytest.mark.parametrize("allowed_networks", [["127.0.0.0/8"]])
async def test_tls_is_verified_against_the_name_subscribed_not_the_address(
    chain: Chain,
    dns: Answers,
    deliver: Deliver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    certificate, key = certificate_for("hooks.test", tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate, key)
    dns["hooks.test"] = dns["other.test"] = ["127.0.0.1"]
    async with running_receiver(tls) as receiver:
        subscription = await subscribe(chain, named(receiver, "hooks.test"), chain.studio_a)
        await send_test_event(chain, subscription)
        assert await deliver() == 1
        assert len(receiver.requests) == 1

        expect(
            await chain.client.patch(
                f"/admin/v1/tenants/{chain.tenant_id}/webhook-subscriptions/{subscription['id']}",
                json={"url": named(receiver, "other.test")},
                headers=chain.admin,
            ),
            200,
        )
        await send_test_event(chain, subscription)
        assert await deliver() == 1
        assert len(receiver.requests) == 1

    _, attempt = await the_attempt(chain, state="PENDING")
    assert attempt["error"].startswith("ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED]")
    assert "other.test" in attempt["error"]
