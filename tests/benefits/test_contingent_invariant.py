"""For any sequence of uses, reversals and passing days: remaining = limit - uses counted in the
current period, never negative, and a use succeeds exactly when something remains."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.benefits.conftest import Scene
from tests.chain import create_contract, purchase_module
from tests.conftest import START
from tests.helpers import expect

BERLIN = ZoneInfo("Europe/Berlin")
LIMIT = 5

steps = st.lists(
    st.one_of(
        st.tuples(st.just("use"), st.sampled_from("ab")),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=12)),
    ),
    min_size=1,
    max_size=25,
)


@hypothesis_settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=steps)
async def test_remaining_is_the_limit_less_the_uses_of_the_period(scene: Scene, clock, steps):
    clock.set(START)
    chain = scene.chain
    customer = await chain.customer()
    contract = await create_contract(chain, customer, scene.rate, "2026-01-01")
    await purchase_module(chain, contract, scene.module)
    scene.customer = customer
    month_of_use: dict[int, tuple[int, int]] = {}  # usage id -> (year, month) it counted in
    reversed_ids: set[int] = set()

    def month() -> tuple[int, int]:
        local = clock.now().astimezone(BERLIN)
        return local.year, local.month

    def counted() -> int:
        return sum(1 for uid, m in month_of_use.items() if m == month() and uid not in reversed_ids)

    history_path = f"/v1/customers/{customer['id']}/benefit-usages"
    for action, argument in steps:
        if action == "use":
            response = await scene.use("SAUNA", studio=argument)
            assert response.status_code == (200 if counted() < LIMIT else 400)
            if response.status_code == 200:
                newest = expect(
                    await chain.client.get(
                        history_path, params={"sliceSize": 500}, headers=scene.key_a
                    ),
                    200,
                )["result"][-1]["id"]
                month_of_use[newest] = month()
        elif action == "reverse" and month_of_use:
            ids = sorted(month_of_use)
            target = ids[argument % len(ids)]
            response = await chain.client.post(
                f"/v1/customers/{customer['id']}/benefit-usages/{target}/reversal",
                json={"reason": "test"},
                headers=scene.key_a,
            )
            assert response.status_code == (409 if target in reversed_ids else 200)
            reversed_ids.add(target)
        elif action == "wait":
            clock.advance(timedelta(days=argument))
        view = await scene.contingent()
        assert view["used"] == counted()
        assert view["remaining"] == LIMIT - counted() >= 0
