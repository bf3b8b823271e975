"""The store layer: the only code that runs minirq's Lua scripts and writes job state.

- :mod:`.runner` sends script calls (one ``EVALSHA`` each; a lost reply is safe to resend
  because every script recognises its own second run);
- :mod:`.calls` (and :mod:`.scheduling_calls` for the scheduler's scripts) has one typed
  function per script, mirroring its KEYS/ARGV header;
- :mod:`.record` is the job-hash codec, the only place field names are spelled, which
  never raises on bad bytes;
- :mod:`.jobs` reads jobs and registries; :mod:`.reap` recovers jobs of dead workers;
  :mod:`.limits` keeps the queues' default limits and reads each limit's use.

It knows key names (:mod:`minirq.keys`) but no ``Job``, ``Queue`` or ``Worker`` object.
"""

from . import calls, jobs, limits, scheduling_calls
from .reap import reap_expired_leases
from .record import JobRecord, decode_record, encode_record
from .runner import Call, Runner, chain, runner_for

__all__ = [
    "Call",
    "JobRecord",
    "Runner",
    "calls",
    "chain",
    "decode_record",
    "encode_record",
    "jobs",
    "limits",
    "reap_expired_leases",
    "runner_for",
    "scheduling_calls",
]
