"""The store layer: each script wrapper passes exactly the KEYS and ARGV its script's
header declares, and the record codec never raises on any bytes."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from minirq.keys import Keys
from minirq.store import Call, calls, import_calls, scheduling_calls
from minirq.store.record import FIELDS, JobRecord, decode_record, encode_record
from minirq.store.runner import script_names, script_source

KEYS = Keys("t")
FIELDS_SAMPLE = {"func": b"m.f", "data": b"x"}


def _imported(parents: int) -> import_calls.ImportedJob:
    return import_calls.ImportedJob(
        job_id="j", queue="q", status="deferred", score="", pttl_ms=0, created_at="c",
        rq_place="rq:deferred:q", rq_place_is_list=False, allow_failure=False,
        parents=[(f"p{i}", False) for i in range(parents)], fields=FIELDS_SAMPLE,
    )  # fmt: skip


# One call of each wrapper with n variadic items (queues, parents, runs), and the n.
SAMPLES: dict[str, list[tuple[Call[Any], int]]] = {
    "enqueue": [
        (
            calls.enqueue(
                KEYS, job_id="j", queue="q", at_front=False, ttl_s=None, op_token="o",
                allow_failure=False, id_chosen=True, parent_ids=parents, fields=FIELDS_SAMPLE,
            ),
            len(parents),
        )
        for parents in ([], ["p1", "p2"])
    ],
    "enqueue_many": [],  # several enqueue calls in one: see test_enqueue_many_concatenates
    "schedule": [
        (
            calls.schedule(
                KEYS, job_id="j", queue="q", due_ms=None, delay_ms=5, ttl_s=None,
                op_token="o", id_chosen=False, fields=FIELDS_SAMPLE,
            ),
            0,
        )
    ],
    "fetch": [
        (calls.fetch(KEYS, queues=names, lease_ms=1, worker="w", run_token="r"), len(names))
        for names in (["a"], ["a", "b", "c"])
    ],
    "finish": [
        (
            calls.finish(
                KEYS, queue="q", job_id="j", run_token="r", result_ttl_s=1, result=b""
            ),
            0,
        )
    ],
    "fail": [
        (
            calls.fail(
                KEYS, queue="q", job_id="j", run_token="r", traceback="t", failure_ttl_s=1,
                retry="", retries_left=0, status="failed",
            ),
            0,
        )
    ],
    "repeat": [
        (
            calls.repeat(
                KEYS, queue="q", job_id="j", run_token="r", result=b"", when="now",
                repeats_left=1,
            ),
            0,
        )
    ],
    "requeue": [
        (
            calls.requeue(
                KEYS, queue="q", registry="failed", job_id="j", at_front=True, run_token="",
                op_token="o",
            ),
            0,
        )
    ],
    "cancel": [
        (
            calls.cancel(
                KEYS, queue="q", job_id="j", ttl_s=1, enqueue_dependents=False, op_token="o"
            ),
            0,
        )
    ],
    "renew": [
        (calls.renew(KEYS, lease_ms=1, runs=runs), len(runs))
        for runs in ([("q", "j", "r")], [("q", "j", "r"), ("p", "k", "s")])
    ],
    "reap": [
        (
            calls.reap(
                KEYS, queues=names, max_orphanings=3, limit=10, default_failure_ttl_s=1
            ),
            len(names),
        )
        for names in (["a"], ["a", "b"])
    ],
    "empty": [(calls.empty(KEYS, queue="q", batch=1), 0)],
    "empty_registry": [(calls.empty_registry(KEYS, registry="failed", queue="q", batch=1), 0)],
    "move_due": [(scheduling_calls.move_due(KEYS, queue="q", lease="l", now_ms=None, batch=1), 0)],
    "scheduler_lease": [
        (scheduling_calls.scheduler_lease(KEYS, action="acquire", value="v", lease_ms=1), 0)
    ],
    "cron_fire": [
        (
            scheduling_calls.cron_fire(
                KEYS, lease="l", entry="e", expected_ms=1, following_ms=2, slot_ms=1,
                slot_ttl_ms=1, job_id="j", queue="q", ttl_s=None, now_ms=None,
                fields=FIELDS_SAMPLE,
            ),
            0,
        )
    ],
    "unlock": [(calls.unlock(KEYS, lock_key=KEYS.reaper_lock, token="t"), 0)],
    "callback_error": [(calls.callback_error(KEYS, job_id="j", text="t"), 0)],
    "wait_result": [(calls.wait_result(KEYS, job_id="j"), 0)],
    "save": [(calls.save(KEYS, job_id="j", fields=FIELDS_SAMPLE), 0)],
    "delete": [
        (calls.delete(KEYS, job_id="j", with_dependents=True, remove_from_queue=True), 0)
    ],
    "rq_import": [(import_calls.rq_import(KEYS, _imported(n)), n) for n in (0, 2)],
    "rq_move": [(import_calls.rq_move(KEYS, _imported(n)), n) for n in (0, 2)],
    "rq_release": [(import_calls.rq_release(_imported(0)), 0)],
}  # fmt: skip

_ENTRY = re.compile(r"^-- (KEYS|ARGV)\[([^\]]+)\]", re.MULTILINE)


def declared(script: str) -> dict[str, Any]:
    """What a script's header declares: for KEYS and ARGV, the fixed count, how many
    entries each variadic item adds (``[2i]``, ``[2i+1]``: 2), whether ids follow one per
    item (``[9..8+n]``) and whether field/value pairs end the list (``[k..]``)."""
    header = script_source(script).split("\n\n", 1)[0]
    found: dict[str, Any] = {
        kind: {"fixed": 0, "per_item": 0, "ids": False, "pairs": False} for kind in ("KEYS", "ARGV")
    }
    for kind, index in _ENTRY.findall(header):
        spec = found[kind]
        if index.isdigit():
            assert int(index) == spec["fixed"] + 1, f"{script}: {kind}[{index}] out of order"
            spec["fixed"] = int(index)
        elif re.fullmatch(r"\d+\.\.\d+\+n", index):
            spec["ids"] = True
        elif index.endswith(".."):
            spec["pairs"] = True
        else:
            match = re.fullmatch(r"(?:\d+\+)?(\d*)i(?:[+-]\d+)?", index)
            assert match, f"{script}: cannot read {kind}[{index}]"
            spec["per_item"] = max(spec["per_item"], int(match[1] or 1))
    return found


def expected_count(spec: dict[str, Any], items: int, pairs: int) -> int:
    return (
        spec["fixed"]
        + spec["per_item"] * items
        + (items if spec["ids"] else 0)
        + (2 * pairs if spec["pairs"] else 0)
    )


def test_every_script_has_a_wrapper_sample() -> None:
    assert sorted(SAMPLES) == script_names()


@pytest.mark.parametrize("script", sorted(SAMPLES))
def test_each_wrapper_passes_exactly_what_its_script_declares(script: str) -> None:
    spec = declared(script)
    assert spec["KEYS"]["fixed"] + spec["KEYS"]["per_item"] > 0, f"{script} declares no KEYS"
    for call, items in SAMPLES[script]:
        assert call.script == script
        pairs = len(FIELDS_SAMPLE) if spec["ARGV"]["pairs"] else 0
        assert len(call.keys) == expected_count(spec["KEYS"], items, 0), script
        assert len(call.args) == expected_count(spec["ARGV"], items, pairs), script
        assert len(call.resent().args) == len(call.args), script


def test_enqueue_many_sends_the_queue_once_and_each_job_s_values() -> None:
    """enqueue_many.lua takes the queue's four keys once, then per job its id, token,
    flags, ttl, the counts of parents and field pairs, the parent ids and the pairs (its
    header says so in words: the reader above counts only fixed and per-item entries).
    Sent again after a lost reply, only the resend flag changes."""
    jobs = [
        calls.BatchedEnqueue("a", "o1", False, False, False, None, (), FIELDS_SAMPLE),
        calls.BatchedEnqueue("b", "o2", True, True, True, 60, ("p1", "p2"), FIELDS_SAMPLE),
    ]
    batch = calls.enqueue_many(KEYS, "q", jobs)
    assert batch.script == "enqueue_many"
    assert batch.keys == [
        KEYS.queue("q"),
        KEYS.queues,
        KEYS.wake_channel("q"),
        KEYS.registry("deferred", "q"),
    ]
    pairs = ["func", b"m.f", "data", b"x"]
    assert batch.args == [
        "q", "t", "0", 2,
        "a", "o1", 0, 0, 0, 2, *pairs,
        "b", "o2", 1 + 2 + 4, 60, 2, 2, "p1", "p2", *pairs,
    ]  # fmt: skip
    assert batch.resent().args == ["q", "t", "1", *batch.args[3:]]
    assert declared("enqueue_many")["KEYS"]["fixed"] == len(batch.keys)
    assert declared("enqueue_many")["ARGV"]["fixed"] == 4


def test_the_header_reader_sees_a_missing_argument() -> None:
    spec = declared("fail")
    short = calls.fail(
        KEYS, queue="q", job_id="j", run_token="r", traceback="t", failure_ttl_s=1,
        retry="", retries_left=0, status="failed",
    )  # fmt: skip
    assert len(short.args[:-1]) != expected_count(spec["ARGV"], 0, 0)


# -- the record codec ------------------------------------------------------------------

_NAMES = [name.encode() for name, _ in FIELDS.values()]
_SPECIAL = [b"", b"-1", b"1", b"0", b"\xff", b"\xc3\x28", b"99999999999999999999999", b"1.5"]


def _value(rng: random.Random) -> bytes:
    if rng.random() < 0.4:
        return rng.choice(_SPECIAL)
    return bytes(rng.randrange(256) for _ in range(rng.randrange(12)))


def test_decoding_never_raises_on_any_bytes() -> None:
    rng = random.Random(11)
    for _ in range(3000):
        raw = {
            (rng.choice(_NAMES) if rng.random() < 0.8 else _value(rng)): _value(rng)
            for _ in range(rng.randrange(14))
        }
        record = decode_record(raw)
        assert isinstance(record, JobRecord)
        assert all(isinstance(name, str) for name in record.problems)
        encode_record(record)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("timeout", b"ten", "not a whole number"),
        ("failure_ttl", b"\xff\xfe", "not UTF-8"),
        ("func", b"\xc3\x28", "not UTF-8"),
        ("instance", b"yes", "not 0 or 1"),
        ("orphaned", b"1e400", "not a whole number"),
        # Digits that str.isdigit accepts and int() refuses; signs int() refuses.
        ("timeout", "²".encode(), "not a whole number"),
        ("retries_left", "١٢".encode(), "not a whole number"),
        ("ttl", b"--5", "not a whole number"),
        ("started_ms", b"-", "not a whole number"),
    ],
)
def test_a_bad_field_is_named_on_the_record(field: str, value: bytes, problem: str) -> None:
    record = decode_record({b"func": b"m.f", b"data": b"x", field.encode(): value})
    assert problem in record.problems[field]
    reason = record.runnable_problem()
    assert reason is not None and repr(field) in reason


@pytest.mark.parametrize("name", [b"timeout", "timeout"])
def test_numbers_decode_from_bytes_and_text_names(name: bytes | str) -> None:
    record = decode_record({name: b"-30", b"ttl": b" 12 ", "result_ttl": "7"})
    assert (record.timeout_s, record.ttl_s, record.result_ttl_s) == (-30, 12, 7)
    assert record.problems == {}


def test_a_field_name_that_is_not_text_is_a_problem() -> None:
    record = decode_record({b"func": b"m.f", b"data": b"x", b"\xff\xfe": b"1"})
    assert record.runnable_problem() is not None


def test_encoding_then_decoding_gives_the_record_back() -> None:
    record = JobRecord(func="m.f", data=b"\x00\xff", timeout_s=30, dependency_ids=("a", "b"))
    record.unique = True
    again = decode_record(encode_record(record))
    assert (again.func, again.data, again.timeout_s, again.dependency_ids, again.unique) == (
        "m.f",
        b"\x00\xff",
        30,
        ("a", "b"),
        True,
    )
    assert again.problems == {}
