"""The binary COPY decoder: records built by hand from the NUMERIC wire format (PostgreSQL's
numeric_send), values checked against Python's float() of the decimal text, which rounds
correctly as strtod (PostgreSQL's cast) does."""

from __future__ import annotations

import random
import struct
from decimal import Decimal

import numpy as np
import pytest

from app.repositories.pg_binary import (
    CopyFormatError,
    LongNumeric,
    copy_row_fields,
    float8_array,
    numeric_records,
)

POS, NEG, NAN, PINF, NINF = 0x0000, 0x4000, 0xC000, 0xD000, 0xF000


def record(digits: list[int], weight: int, sign: int = POS, dscale: int = 0) -> bytes:
    """One 16-byte record: the numeric_send header and digits, zero-padded."""
    raw = struct.pack(">hhHh", len(digits), weight, sign, dscale) + struct.pack(f">{len(digits)}h", *digits)
    return raw[:16].ljust(16, b"\0")


def encode(text: str) -> bytes:
    """A decimal text as numeric_send would send it: base-10000 digit groups aligned on the point,
    leading and trailing zero groups dropped, weight the power of 10000 of the first group."""
    value = Decimal(text)
    sign = NEG if value.is_signed() else POS
    integer, _, fraction = format(abs(value), "f").partition(".")
    integer = integer.lstrip("0")
    integer = integer.zfill(-(-len(integer) // 4) * 4) if integer else ""
    fraction = fraction.ljust(-(-len(fraction) // 4) * 4, "0")
    groups = [int(integer[i : i + 4]) for i in range(0, len(integer), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        return record([], 0, POS)
    return record(groups, weight, sign)


def test_hand_worked_records():
    values = numeric_records(
        memoryview(
            record([9500], -1, dscale=2)  # 0.95 = 9500 * 10000**-1
            + record([450, 5000], 0, dscale=4)  # 450.5000 = 450 + 5000 / 10000
            + record([1, 2500], 0, NEG, 2)  # -1.25
            + record([], 0)  # 0
            + record([1234, 5678, 9012], 1, dscale=4)  # 12345678.9012 = 1234 * 10000 + 5678 + 9012e-4
            + record([1], 5)  # 1e20 = 1 * 10000**5
            + record([100], -8)  # 1e-30 = 100 * 10000**-8
            + record([9999, 9999, 9999, 9999], -1)  # 0.9999999999999999 (a 16-digit integer)
        )
    )
    expected = [0.95, 450.5, -1.25, 0.0, 12345678.9012, 1e20, 1e-30, 0.9999999999999999]
    assert values.tolist() == expected


def test_nan_and_infinities_decode_as_ieee_specials():
    values = numeric_records(memoryview(record([], 0, NAN) + record([], 0, PINF) + record([], 0, NINF)))
    assert np.isnan(values[0])
    assert values[1] == np.inf
    assert values[2] == -np.inf


def test_a_value_longer_than_a_record_is_refused():
    long = struct.pack(">hhHh", 5, 0, POS, 0) + struct.pack(">4h", 1, 2, 3, 4)  # a truncated 5-digit value
    with pytest.raises(LongNumeric):
        numeric_records(memoryview(long))


def test_a_field_that_is_not_whole_records_is_refused():
    with pytest.raises(CopyFormatError):
        numeric_records(memoryview(b"\0" * 20))


def test_random_decimals_match_correctly_rounded_float():
    rng = random.Random(20)
    texts = []
    for _ in range(4000):
        digits = rng.randint(1, 13)
        mantissa = rng.randrange(10 ** (digits - 1), 10**digits)
        scale = rng.randint(-6, 16)
        text = str(Decimal(mantissa).scaleb(-scale))
        texts.append(("-" if rng.random() < 0.3 else "") + text)
    buffer = b"".join(encode(t) for t in texts)
    assert numeric_records(memoryview(buffer)).tolist() == [float(t) for t in texts]


def copy_stream(*fields: bytes | None) -> bytes:
    """A one-row binary COPY: header, the row's fields (None is NULL), trailer."""
    out = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0) + struct.pack(">h", len(fields))
    for field in fields:
        out += struct.pack(">i", -1) if field is None else struct.pack(">i", len(field)) + field
    return out + b"\xff\xff"


def float8_array_field(values: list[float]) -> bytes:
    """A one-dimensional float8[] in the array binary format (element oid 701)."""
    head = struct.pack(">iiiii", 1, 0, 701, len(values), 1)
    return head + b"".join(struct.pack(">id", 8, v) for v in values)


def test_a_one_row_copy_splits_into_its_fields():
    fields = copy_row_fields(copy_stream(float8_array_field([1.5, -2.0]), None, b"abc"))
    assert fields[1] is None
    assert bytes(fields[2]) == b"abc"
    assert float8_array(fields[0]).tolist() == [1.5, -2.0]


def test_a_stream_with_more_than_one_row_is_refused():
    two_rows = copy_stream(b"x")[:-2] + struct.pack(">hi", 1, 1) + b"y" + b"\xff\xff"
    with pytest.raises(CopyFormatError):
        copy_row_fields(two_rows)


def test_a_null_element_in_a_float8_array_is_refused():
    field = struct.pack(">iiiii", 1, 1, 701, 1, 1) + struct.pack(">i", -1)
    with pytest.raises(CopyFormatError):
        float8_array(memoryview(field))
