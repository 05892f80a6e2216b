"""Card numbers in the three formats of the studio Open API.

A card number is one integer (an RFID chip's serial). Readers print it in decimal, or as hex
with the most significant byte first (HEX_MSB) or the least significant byte first (HEX_LSB).
We store decimal and convert at the edge; hex renderings use the fewest whole bytes that hold
the number.
"""

import re
from enum import StrEnum

_DECIMAL = re.compile(r"^[0-9]{1,40}$")
_HEX = re.compile(r"^[0-9A-Fa-f]{1,40}$")


class CardNumberFormat(StrEnum):
    DECIMAL = "DECIMAL"
    HEX_MSB = "HEX_MSB"
    HEX_LSB = "HEX_LSB"


def to_decimal(value: str, fmt: CardNumberFormat) -> str:
    """The canonical (decimal) form of ``value`` read in ``fmt``; ValueError if it is not one."""
    value = value.strip()
    if fmt is CardNumberFormat.DECIMAL:
        if not _DECIMAL.match(value):
            raise ValueError("a decimal card number has only digits")
        return str(int(value))
    if not _HEX.match(value):
        raise ValueError("a hexadecimal card number has only the digits 0-9 and A-F")
    raw = bytes.fromhex(value if len(value) % 2 == 0 else "0" + value)
    if fmt is CardNumberFormat.HEX_LSB:
        raw = raw[::-1]
    return str(int.from_bytes(raw, "big"))


def from_decimal(decimal: str, fmt: CardNumberFormat) -> str:
    if fmt is CardNumberFormat.DECIMAL:
        return decimal
    number = int(decimal)
    raw = number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")
    if fmt is CardNumberFormat.HEX_LSB:
        raw = raw[::-1]
    return raw.hex().upper()
