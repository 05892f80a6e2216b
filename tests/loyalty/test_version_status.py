"""The version-status rules over random version sets and clocks (hypothesis)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from openbenefits.loyalty.versions import (
    VersionDates,
    VersionStatus,
    current_version_number,
    latest_end,
    version_statuses,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
hours = st.integers(min_value=0, max_value=200).map(lambda h: EPOCH + timedelta(hours=h))


@st.composite
def versions(draw: st.DrawFn) -> list[VersionDates]:
    count = draw(st.integers(min_value=1, max_value=6))
    result = []
    for number in range(1, count + 1):
        start = draw(hours)
        length = draw(st.none() | st.integers(min_value=0, max_value=100))
        end = None if length is None else start + timedelta(hours=length)
        result.append(VersionDates(number, start, end))
    return result


@given(versions(), hours)
def test_statuses_follow_the_rules(dated: list[VersionDates], at: datetime) -> None:
    statuses = version_statuses(dated, at)
    in_force = [v for v in dated if v.start_date <= at and (v.end_date is None or at < v.end_date)]
    current = [n for n, s in statuses.items() if s == VersionStatus.CURRENT]
    # At most one CURRENT, and one exactly when some version is in force: the highest of them.
    assert current == ([max(v.version_number for v in in_force)] if in_force else [])
    assert current_version_number(dated, at) == (current[0] if current else None)
    for version in dated:
        status = statuses[version.version_number]
        if version.start_date > at:
            assert status == VersionStatus.DRAFT
        elif version.end_date is not None and version.end_date <= at:
            assert status == VersionStatus.DEPRECATED
        else:
            assert status in (VersionStatus.CURRENT, VersionStatus.DEPRECATED)


@given(versions(), hours)
def test_contracts_are_accessible_exactly_until_every_version_is_deprecated(
    dated: list[VersionDates], at: datetime
) -> None:
    end = latest_end(dated)
    accessible = end is None or at < end
    all_deprecated = all(
        s == VersionStatus.DEPRECATED for s in version_statuses(dated, at).values()
    )
    # A superseded version in force is DEPRECATED but its successor is CURRENT, so "all
    # DEPRECATED" means every end has passed.
    assert accessible != all_deprecated
