"""Card number formats: one number, three spellings."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbenefits.customers.card_numbers import CardNumberFormat, from_decimal, to_decimal

DEC, MSB, LSB = CardNumberFormat.DECIMAL, CardNumberFormat.HEX_MSB, CardNumberFormat.HEX_LSB


@pytest.mark.parametrize(
    ("value", "fmt", "decimal"),
    [
        ("168496141", DEC, "168496141"),
        ("000123", DEC, "123"),
        ("0A0B0C0D", MSB, "168496141"),
        ("0a0b0c0d", MSB, "168496141"),
        ("0D0C0B0A", LSB, "168496141"),
        ("ABC", MSB, "2748"),  # an odd length reads as if led by a zero
        ("04A1B2C3D4E5F6", MSB, "1303689068602870"),
        ("F6E5D4C3B2A104", LSB, "1303689068602870"),
        ("FF", LSB, "255"),
    ],
)
def test_to_decimal(value, fmt, decimal):
    assert to_decimal(value, fmt) == decimal


@pytest.mark.parametrize(
    ("decimal", "fmt", "rendered"),
    [
        ("168496141", MSB, "0A0B0C0D"),
        ("168496141", LSB, "0D0C0B0A"),
        ("168496141", DEC, "168496141"),
        ("0", MSB, "00"),
        ("256", LSB, "0001"),
    ],
)
def test_from_decimal(decimal, fmt, rendered):
    assert from_decimal(decimal, fmt) == rendered


@pytest.mark.parametrize(
    ("value", "fmt"), [("12a4", DEC), ("", DEC), ("0x12", MSB), ("G1", LSB), (" ", MSB)]
)
def test_invalid_card_numbers(value, fmt):
    with pytest.raises(ValueError, match="card number"):
        to_decimal(value, fmt)


@given(
    number=st.integers(min_value=0, max_value=2**80), fmt=st.sampled_from(list(CardNumberFormat))
)
def test_every_format_round_trips(number, fmt):
    decimal = str(number)
    assert to_decimal(from_decimal(decimal, fmt), fmt) == decimal
