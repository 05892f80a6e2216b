"""A program version's status, computed from the clock (seed 003, "Loyalty program versions").

- DRAFT: its start is in the future;
- DEPRECATED: its end has passed, or it is in force but a higher-numbered version in force
  supersedes it (no contract can be created on it);
- CURRENT: the highest-numbered version in force (start passed, end not yet).

So at most one version is CURRENT, and contracts can be created exactly when one is.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class VersionStatus(StrEnum):
    DRAFT = "DRAFT"
    CURRENT = "CURRENT"
    DEPRECATED = "DEPRECATED"


@dataclass(frozen=True)
class VersionDates:
    version_number: int
    start_date: datetime
    end_date: datetime | None


def in_force(version: VersionDates, at: datetime) -> bool:
    return version.start_date <= at and (version.end_date is None or at < version.end_date)


def current_version_number(versions: Iterable[VersionDates], at: datetime) -> int | None:
    return max((v.version_number for v in versions if in_force(v, at)), default=None)


def version_statuses(versions: Iterable[VersionDates], at: datetime) -> dict[int, VersionStatus]:
    """Each version's status at ``at``, by version number."""
    versions = list(versions)
    current = current_version_number(versions, at)
    statuses = {}
    for version in versions:
        if version.start_date > at:
            statuses[version.version_number] = VersionStatus.DRAFT
        elif version.version_number == current:
            statuses[version.version_number] = VersionStatus.CURRENT
        else:
            statuses[version.version_number] = VersionStatus.DEPRECATED
    return statuses


def latest_end(versions: Iterable[VersionDates]) -> datetime | None:
    """When every version will be DEPRECATED (None: never); from then on the program's
    contracts are inaccessible."""
    ends = [v.end_date for v in versions]
    if not ends or any(end is None for end in ends):
        return None
    return max(end for end in ends if end is not None)
