"""For any stacked limits and any sequence of uses and reversals at any instants: no limit's
count ever exceeds it, exactly the uses that fit every limit are admitted, and the contingent
as of any past instant is the ledger replayed up to that instant."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from openbenefits.kit.periods import PeriodUnit, calendar_period
from tests.benefits.conftest import Scene
from tests.chain import create_contract
from tests.conftest import START
from tests.helpers import expect

BERLIN = ZoneInfo("Europe/Berlin")
_keys = count()

limits = st.dictionaries(
    st.sampled_from(["DAY", "WEEK", "MONTH"]), st.integers(min_value=1, max_value=4), min_size=1
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("use"), st.integers(min_value=0, max_value=40)),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=30)),
    ),
    min_size=1,
    max_size=25,
)


@dataclass
class Ledger:
    """The model: each use's instant, each reversal's instant."""

    used_at: dict[int, datetime] = field(default_factory=dict)
    reversed_at: dict[int, datetime] = field(default_factory=dict)

    def counted(self, unit: str, at: datetime) -> int:
        """Uses in the period of ``unit`` that contains ``at``, made by ``at`` and not
        reversed by then."""
        period = calendar_period(PeriodUnit(unit), at, BERLIN)
        return sum(
            1
            for usage, when in self.used_at.items()
            if period.contains(when)
            and when <= at
            and not (usage in self.reversed_at and self.reversed_at[usage] <= at)
        )


def _figures(view: dict) -> dict[str, int]:
    return {limit["period"]: limit["used"] for grant in view["grants"] for limit in grant["limits"]}


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stacked=limits, steps=steps)
async def test_stacked_limits_admit_exactly_what_fits_and_replay_as_of(
    scene: Scene, clock, stacked, steps
):
    clock.set(START)
    chain = scene.chain
    key = f"RULE{next(_keys)}"
    benefit = await scene.benefit(key)
    await scene.grant(
        benefit,
        rateId=scene.rate["id"],
        contingents=[{"uses": uses, "period": unit} for unit, uses in stacked.items()],
    )
    customer = await chain.customer()
    await create_contract(chain, customer, scene.rate, "2026-01-01")
    scene.customer = customer
    ledger = Ledger()
    instants = [clock.now()]
    usages = f"/v1/customers/{customer['id']}/benefit-usages"

    for action, argument in steps:
        clock.advance(timedelta(hours=argument) if action == "use" else timedelta(minutes=1))
        now = clock.now()
        if action == "use":
            fits = all(ledger.counted(unit, now) < uses for unit, uses in stacked.items())
            response = await scene.use(key)
            assert response.status_code == (200 if fits else 400), response.text
            if fits:
                newest = expect(
                    await chain.client.get(
                        usages, params={"key": key, "sliceSize": 500}, headers=scene.key_a
                    ),
                    200,
                )["result"][-1]["id"]
                ledger.used_at[newest] = now
        elif ledger.used_at:
            ids = sorted(ledger.used_at)
            target = ids[argument % len(ids)]
            response = await chain.client.post(
                f"{usages}/{target}/reversal", json={"reason": "test"}, headers=scene.key_a
            )
            assert response.status_code == (409 if target in ledger.reversed_at else 200)
            ledger.reversed_at.setdefault(target, now)
        instants.append(now)
        live = _figures(await scene.contingent(key))
        assert live == {unit: ledger.counted(unit, now) for unit in stacked}
        assert all(live[unit] <= uses for unit, uses in stacked.items())

    for at in instants:
        response = await chain.client.get(
            f"/v1/customers/{customer['id']}/benefits/{key}/contingent",
            params={"at": at.isoformat()},
            headers=scene.key_a,
        )
        assert _figures(expect(response, 200)) == {
            unit: ledger.counted(unit, at) for unit in stacked
        }
