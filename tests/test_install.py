"""Reproducible installs: the environment holds exactly what requirements.lock names, every
locked file is pinned by hash, the version has one source, and time zones are the bundled ones."""

import re
import subprocess
import sys
import tomllib
import zoneinfo
from importlib.metadata import distributions, version
from pathlib import Path

import httpx
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+) \\$")


def _locked() -> dict[str, str]:
    """Each locked distribution's version, after checking that it carries at least one hash."""
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    pins: dict[str, str] = {}
    for number, line in enumerate(lines):
        match = _PIN.match(line)
        if match:
            assert lines[number + 1].strip().startswith("--hash=sha256:"), line
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        lines += extra
    return [Requirement(line) for line in lines]


def test_the_lock_pins_every_declared_dependency_at_its_declared_version():
    locked = _locked()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is declared but not locked: run `make lock`"
        assert requirement.specifier.contains(locked[name]), (requirement, locked[name])


def test_the_environment_holds_exactly_the_locked_versions():
    locked = _locked()
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version
        for dist in distributions()
        if canonicalize_name(dist.metadata["Name"]) != "openbenefits"
    }
    rebuild = "rebuild the environment from the lock: make clean test"
    assert {name: installed.get(name) for name in locked} == locked, rebuild
    assert set(installed) <= set(locked), (set(installed) - set(locked), rebuild)


async def test_the_version_has_one_source(client: httpx.AsyncClient):
    expected = version("openbenefits")
    printed = subprocess.run(  # noqa: ASYNC221 (a short command, before any request)
        [Path(sys.executable).parent / "openbenefits", "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed.strip() == f"openbenefits {expected}"
    document = (await client.get("/openapi.json")).json()
    assert document["info"]["version"] == expected


def test_time_zones_come_from_the_bundled_tzdata_not_the_host():
    import openbenefits  # noqa: F401  (sets the zone search path)

    assert zoneinfo.TZPATH == ()
    assert version("tzdata") == _locked()["tzdata"]
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert berlin.key == "Europe/Berlin"
    assert "America/New_York" in zoneinfo.available_timezones()
