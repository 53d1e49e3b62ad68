"""Py3AMF as an independent AMF0/AMF3 implementation for tests/amf_oracle.rs.

Py3AMF writes references (strings, objects, traits) the way Flash Player and the
Flex/BlazeDS stack do, which the `amf` crate oracle never does. Two modes:

  cases   print a JSON list of {"name", "encoding", "hex"}: values encoded by
          Py3AMF, rich in shared objects, repeated strings and classes.
  verify  read a JSON list of {"name", "encoding", "hex"} (our re-encodings of
          the cases) on stdin; decode each with Py3AMF and compare with the
          original value; print {"name": "ok" | "<why not>"}.
"""
import datetime
import json
import sys

import pyamf
import pyamf.amf3
import pyamf.util
from pyamf.flex import ArrayCollection, ObjectProxy


class Point(object):
    """A typed (sealed, static) class, to exercise AMF3 traits and their references."""

    class __amf__:
        static = ("x", "y")

    def __init__(self, x=0, y=0):
        self.x = x
        self.y = y

    def __eq__(self, other):
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)

    def __repr__(self):
        return "Point(%r, %r)" % (self.x, self.y)


pyamf.register_class(Point, "com.example.Point")



def values():
    shared = {"name": "shared", "tags": ["a", "b", "a"]}
    s = "repeated string"
    when = datetime.datetime(2024, 5, 17, 12, 30, 15, 250000)
    return {
        "scalars": [0, -1, 268435455, -268435456, 268435456, 1.5, True, False, None, "", "x"],
        "repeated_strings": [s, s, {"k": s, s: s}, s],
        "shared_object_twice": [shared, shared],
        "nested_shared": {"left": shared, "right": {"again": shared}},
        "typed_objects_share_traits": [Point(1, 2), Point(3, 4), Point(5, 6)],
        "same_typed_object_twice": (lambda p: [p, p])(Point(7, 8)),
        "dates": [when, when],
        "byte_array": pyamf.amf3.ByteArray(b"\x00\x01\xfe\xffbytes"),
        "unicode": "h\u00e9llo \u4e16\u754c \U0001f600",
        "deep": {"a": {"b": {"c": {"d": [1, [2, [3, [4]]]]}}}},
        "array_collection": ArrayCollection(["x", "y", {"z": 1}]),
        "object_proxy": ObjectProxy({"proxied": True, "n": 3}),
        "mixed_array": pyamf.MixedArray({"0": "zero", "key": "value"}),
        "long_string": "L" * 70000,
        "list_of_dicts_sharing_keys": [{"id": i, "label": "item"} for i in range(20)],
    }


def encode(value, encoding):
    return pyamf.encode(value, encoding=encoding).getvalue()


def decode_one(data, encoding):
    decoded = list(pyamf.decode(data, encoding=encoding))
    if len(decoded) != 1:
        raise ValueError("expected one value, got %d" % len(decoded))
    return decoded[0]


def normalize(value):
    """Py3AMF decodes containers into its own classes; compare by content."""
    if isinstance(value, (ArrayCollection,)):
        return ("ArrayCollection", [normalize(v) for v in list(value)])
    if isinstance(value, ObjectProxy):
        return ("ObjectProxy", normalize(value._amf_object))
    if isinstance(value, pyamf.amf3.ByteArray):
        return ("bytes", bytes(value.getvalue()))
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalize(v) for v in value]
    if isinstance(value, datetime.datetime):
        return ("date", value.replace(tzinfo=None).isoformat())
    if isinstance(value, Point):
        return ("Point", value.x, value.y)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    return value


ENCODINGS = {"amf0": pyamf.AMF0, "amf3": pyamf.AMF3}


def cases():
    out = []
    for name, value in sorted(values().items()):
        for enc_name, enc in sorted(ENCODINGS.items()):
            if enc_name == "amf0" and name in ("byte_array", "array_collection", "object_proxy"):
                continue  # AMF3-only types
            out.append({"name": name, "encoding": enc_name, "hex": encode(value, enc).hex()})
    return out


def verify(ours):
    originals = values()
    results = {}
    for case in ours:
        key = "%s/%s" % (case["name"], case["encoding"])
        try:
            got = decode_one(bytes.fromhex(case["hex"]), ENCODINGS[case["encoding"]])
            want = originals[case["name"]]
            if normalize(got) != normalize(want):
                results[key] = "differs: got %r, want %r" % (normalize(got), normalize(want))
            else:
                results[key] = "ok"
        except Exception as e:  # report, never crash the oracle
            results[key] = "Py3AMF could not decode it: %s: %s" % (type(e).__name__, e)
    return results


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode == "cases":
        json.dump(cases(), sys.stdout)
    elif mode == "verify":
        json.dump(verify(json.load(sys.stdin)), sys.stdout)
    else:
        sys.exit("usage: py3amf_oracle.py cases|verify")
