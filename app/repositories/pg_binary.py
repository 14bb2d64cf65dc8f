"""Decoding a one-row PostgreSQL binary COPY with numpy: float8 arrays and NUMERIC values as sent.

PostgreSQL casts NUMERIC to float8 through text (numeric_out, then strtod), the largest
server cost of a chain read. The chain read instead sends each NUMERIC in its binary
form (numeric_send), zero-padded to a fixed 16-byte record so that a whole column
decodes as one numpy array:

    int16 ndigits, int16 weight, uint16 sign, int16 dscale, 4 x int16 base-10000 digits

The value is sum(digit[i] * 10000 ** (weight - i)); sign 0x4000 is negative, 0xC000 NaN,
0xD000 +Infinity, 0xF000 -Infinity. A value with more than 4 digits does not fit a
record (LongNumeric: the caller reads it another way).

Layout of the COPY (PostgreSQL docs, "COPY", binary format): a 19-byte header plus an
extension area, then per row an int16 field count and per field an int32 length (-1 for
NULL) and the value; an int16 -1 ends the data.
"""

from __future__ import annotations

import numpy as np

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = 19  # signature (11), flags (4), extension length (4)
_ARRAY_HEADER = 20  # ndim, flags, element oid, dimension size, lower bound (int32 each)
_FLOAT8_ELEMENT = np.dtype([("length", ">i4"), ("value", ">f8")])

RECORD_DIGITS = 4
RECORD_BYTES = 8 + 2 * RECORD_DIGITS
_NEGATIVE, _NAN, _PLUS_INFINITY, _MINUS_INFINITY = 0x4000, 0xC000, 0xD000, 0xF000
# An integer up to 2**53 times or over an exact power of ten (10**0 .. 10**22) is one correctly
# rounded IEEE operation: the double nearest the decimal value, which is what strtod of the
# decimal text (PostgreSQL's cast) gives.
_EXACT_INTEGER = 2**53
_EXACT_POWERS = np.array([float(10**k) for k in range(23)])
# Most values have at most 3 digits (12 decimal digits): taking missing digits as zeros, their
# integer is below 10**12, always exact in float64.
_COMMON_DIGITS = 3
_COMMON_PLACES = np.array([1e8, 1e4, 1.0])
_INTEGER_PLACES = np.array([10**12, 10**8, 10**4, 1], dtype=np.int64)
_PADDING = np.array([10 ** (4 * (RECORD_DIGITS - n)) for n in range(RECORD_DIGITS + 1)], dtype=np.int64)


class CopyFormatError(RuntimeError):
    """The COPY stream does not have the layout the query asked for."""


class LongNumeric(ValueError):
    """A NUMERIC value has more base-10000 digits than a record holds."""


def copy_row_fields(buffer: bytes | bytearray) -> list[memoryview | None]:
    """The fields of the single data row of a binary COPY (None for NULL)."""
    view = memoryview(buffer)
    if bytes(view[:11]) != _SIGNATURE:
        raise CopyFormatError("not a binary COPY stream")
    pos = _HEADER + int.from_bytes(view[15:19], "big")
    count = int.from_bytes(view[pos : pos + 2], "big", signed=True)
    if count < 0:
        raise CopyFormatError("the COPY returned no row")
    pos += 2
    fields: list[memoryview | None] = []
    for _ in range(count):
        length = int.from_bytes(view[pos : pos + 4], "big", signed=True)
        pos += 4
        if length < 0:
            fields.append(None)
            continue
        fields.append(view[pos : pos + length])
        pos += length
    if bytes(view[pos:]) != b"\xff\xff":
        raise CopyFormatError("expected exactly one row")
    return fields


def float8_array(field: memoryview) -> np.ndarray:
    """A one-dimensional float8[] without NULL elements, as float64."""
    count = int.from_bytes(field[12:16], "big", signed=True) if len(field) >= _ARRAY_HEADER else 0
    if len(field) != _ARRAY_HEADER + _FLOAT8_ELEMENT.itemsize * count:
        raise CopyFormatError("unexpected NULL or width in a float8 array")
    elements = np.frombuffer(field, dtype=_FLOAT8_ELEMENT, count=count, offset=_ARRAY_HEADER)
    if np.any(elements["length"] != 8):
        raise CopyFormatError("unexpected NULL or width in a float8 array")
    return elements["value"].astype(np.float64)


def numeric_records(field: memoryview) -> np.ndarray:
    """Concatenated 16-byte NUMERIC records as the float64 values PostgreSQL's cast gives.

    NaN is NaN, ±Infinity is ±inf. Raises LongNumeric when a value did not fit its record.
    """
    if len(field) % RECORD_BYTES:
        raise CopyFormatError("NUMERIC records of an unexpected size")
    # Whole-array conversions: numpy casts a strided big-endian column several times slower.
    words = np.frombuffer(field, dtype=">u2").astype(np.uint16).reshape(-1, RECORD_BYTES // 2)
    ndigits, sign = words[:, 0], words[:, 2]
    if np.any(ndigits > RECORD_DIGITS):  # unsigned: a negative count reads as > 4 too
        raise LongNumeric("a NUMERIC value has more than 4 base-10000 digits")
    weight = words[:, 1].view(np.int16).astype(np.int64)
    integer = words.astype(np.float64)[:, 4 : 4 + _COMMON_DIGITS] @ _COMMON_PLACES
    exponent = 4 * (weight - _COMMON_DIGITS + 1)
    magnitude = integer / _EXACT_POWERS[np.clip(-exponent, 0, len(_EXACT_POWERS) - 1)]
    special = sign >= _NAN  # NaN 0xC000, +Infinity 0xD000, -Infinity 0xF000
    redo = np.flatnonzero((ndigits > _COMMON_DIGITS) | (exponent > 0) | (exponent <= -len(_EXACT_POWERS)))
    if len(redo):  # 4 digits, values from 10**12 or below 10**-10: from the value's own integer
        own = words[redo, 4:].astype(np.int64) @ _INTEGER_PLACES // _PADDING[ndigits[redo]]
        own_exponent = 4 * (weight[redo] - ndigits[redo] + 1)
        magnitude[redo] = _scaled(own.astype(np.float64), own_exponent)
        hard = (own >= _EXACT_INTEGER) | (np.abs(own_exponent) >= len(_EXACT_POWERS))
        for i, m, e in zip(redo[hard], own[hard], own_exponent[hard], strict=True):  # 16 digits, extreme exponents
            magnitude[i] = float(f"{int(m)}e{int(e)}")  # float() of decimal text rounds correctly
    np.negative(magnitude, out=magnitude, where=sign == _NEGATIVE)
    if special.any():
        magnitude[sign == _NAN] = np.nan
        magnitude[sign == _PLUS_INFINITY] = np.inf
        magnitude[sign == _MINUS_INFINITY] = -np.inf
    return magnitude


def _scaled(integer: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """integer * 10**exponent, correctly rounded where integer < 2**53 and |exponent| <= 22."""
    power = _EXACT_POWERS[np.minimum(np.abs(exponent), len(_EXACT_POWERS) - 1)]
    return np.where(exponent >= 0, integer * power, integer / power)
