"""RQ's stored call and hash, decoded without running code (pure unit tests)."""

from __future__ import annotations

import base64
import contextlib
import pickle
import random
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from minirq.rq_payload import MAX_INFLATED_BYTES, RQPayloadError, convert_call, convert_meta
from minirq.serializers import SERIALIZERS
from minirq.store.rq_record import decode_rq_job, failure_text

from .rq_import_jobs import Counter

PICKLE, JSON = SERIALIZERS["pickle"], SERIALIZERS["json"]
NAME = "tests.rq_import_jobs.add"
SHARED = [1, 2]
CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((1, "a"), {}),
    ((), {}),
    ((NAME,), {"k": NAME}),  # the function name again: a memo reference to it
    ((SHARED, SHARED), {"x": SHARED}),
    ((datetime(2020, 1, 1, tzinfo=UTC),), {"d": {1: 2}}),
    ((1, 2, 3, 4, 5), {"a": (1,), "b": [], "c": None}),
    (({1}, frozenset({2}), b"x" * 300, "y" * 70_000), {}),
]


def rq_pickled(instance: Any, args: Any, kwargs: Any, protocol: int) -> bytes:
    return zlib.compress(pickle.dumps((NAME, instance, args, kwargs), protocol=protocol))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_a_pickled_call_carries_over_exactly(protocol: int, args: Any, kwargs: Any) -> None:
    converted = convert_call(rq_pickled(None, args, kwargs, protocol), PICKLE)
    assert (converted.func_name, converted.has_instance) == (NAME, False)
    assert pickle.loads(converted.data) == (args, kwargs)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_bound_method_keeps_its_instance_and_shared_references(protocol: int) -> None:
    converted = convert_call(rq_pickled(Counter(3), (SHARED, SHARED), {}, protocol), PICKLE)
    instance, args, _ = pickle.loads(converted.data)
    assert converted.has_instance and instance.start == 3
    assert args == (SHARED, SHARED) and args[0] is args[1]


def test_another_serializer_takes_plain_values_and_names_the_rest() -> None:
    converted = convert_call(rq_pickled(None, (1, "a"), {"b": [2]}, 5), JSON)
    assert JSON.loads(converted.data) == [[1, "a"], {"b": [2]}]
    with pytest.raises(RQPayloadError, match=r"datetime\.datetime object, which the json"):
        convert_call(rq_pickled(None, (datetime(2020, 1, 1),), {}, 5), JSON)
    with pytest.raises(RQPayloadError, match="Counter object"):
        convert_call(rq_pickled(Counter(1), (), {}, 5), JSON)


def test_rq_s_json_serializer_is_read_too() -> None:
    data = zlib.compress(b'["tests.rq_import_jobs.add", null, [7, 8], {}]')
    assert pickle.loads(convert_call(data, PICKLE).data) == [[7, 8], {}]
    assert JSON.loads(convert_call(data, JSON).data) == [[7, 8], {}]


def test_meta_carries_over() -> None:
    meta = pickle.dumps({"source": "rq", "when": datetime(2020, 1, 1)})
    assert convert_meta(meta, PICKLE) == meta
    assert convert_meta(pickle.dumps({"a": 1}), JSON) == b'{"a":1}'
    assert convert_meta(None, PICKLE) is None
    with pytest.raises(RQPayloadError, match="not a dict"):
        convert_meta(pickle.dumps([1]), PICKLE)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "no stored call"),
        (b"\x80\x05garbage", "not a readable pickle"),
        (zlib.compress(pickle.dumps((NAME, None, (1,)))), "(function, instance, args, kwargs)"),
        (zlib.compress(pickle.dumps((1, None, (), {}))), "names no function"),
        (zlib.compress(pickle.dumps((NAME, None, 5, {}))), "positional arguments are a int"),
        (zlib.compress(pickle.dumps((NAME, None, (), {1: 2}))), "not a dict with text keys"),
        (zlib.compress(b"\0" * (MAX_INFLATED_BYTES + 10)), "inflates to more than"),
    ],
)
def test_a_bad_call_is_refused_with_its_reason(data: bytes | None, reason: str) -> None:
    with pytest.raises(RQPayloadError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        convert_call(data, PICKLE)


def test_no_bytes_make_the_decoders_raise_anything_else() -> None:
    rng = random.Random(14)
    valid = rq_pickled(Counter(1), (1, "a", [2]), {"k": {3}}, 5)
    samples = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 60))) for _ in range(300)]
    inflated = zlib.decompress(valid)
    for _ in range(300):
        damaged = bytearray(inflated)
        damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        samples.append(bytes(damaged))
    samples += [inflated[:cut] for cut in range(len(inflated))]
    for sample in samples:
        for serializer in (PICKLE, JSON):
            with contextlib.suppress(RQPayloadError):
                convert_call(sample, serializer)
        names = (b"status", b"created_at", b"timeout", b"dependency_ids", b"exc_info")
        fields = {**dict.fromkeys(names, sample), sample: b"1"}
        decode_rq_job("j", fields)
        failure_text([(b"1-0", {b"type": b"2", b"exc_string": sample})])


def test_rq_s_hash_decodes_with_each_problem_named() -> None:
    job = decode_rq_job(
        "j",
        {
            b"status": b"queued",
            b"created_at": b"2026-12-01T12:07:37.837395Z",
            b"timeout": b"soon",
            b"retry_intervals": b"[5, 10]",
            b"dependency_ids": b'["a", "b"]',
            b"success_callback_name": b"m.ok",
            b"success_callback_timeout": b"7",
            b"exc_info": zlib.compress(b"Traceback ..."),
        },
    )
    assert job.created_ms == 1796126857837
    assert job.retry_intervals == [5.0, 10.0] and job.dependency_ids == ("a", "b")
    assert job.callbacks == {"on_success": ("m.ok", 7)}
    assert job.exc_info == "Traceback ..."
    assert job.problems == {"timeout": "is not a whole number: 'soon'"}


def test_the_newest_failure_of_rq_s_results_stream_gives_the_traceback() -> None:
    text = base64.b64encode(zlib.compress(b"ValueError: boom"))
    entries = [(b"2-0", {b"type": b"1"}), (b"1-0", {b"type": b"2", b"exc_string": text})]
    assert failure_text(entries) == "ValueError: boom"
    assert failure_text([(b"1-0", {b"type": b"2", b"exc_string": b"%%%"})]) is None
    assert failure_text("nonsense") is None
