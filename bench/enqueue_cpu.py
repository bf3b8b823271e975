"""Where an enqueue's time goes: CPU per job in the producer and in Redis, per library.

    python3 bench/enqueue_cpu.py                     # minirq, huey, RQ; one by one and bulk
    python3 bench/enqueue_cpu.py --libs minirq huey --only one --repeat 7

On a shared machine a wall-clock rate moves with the other processes; the CPU a job
costs moves much less. For each library (in its venv under ``bench/``, which
``bench/run.py`` creates) this starts a fresh process per measurement against a private
redis-server, in turn, and reports per job: the producer's CPU time (``process_time``),
the redis-server's (``INFO cpu``, user + system: reading the command, running it,
writing the reply), their sum, and the wall time. Each measurement is the median of
``--rounds`` rounds of ``--n`` jobs (bulk: ``Queue.enqueue_many`` of 1,000 a call, as in
``bench/run.py``), with a ``FLUSHALL`` before each round. Standard library only here;
the child (``--child``) uses the library's own venv.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
FIGURES = {"one": "one by one", "bulk": "bulk"}
SIZES = {"one": 3000, "bulk": 10000}


def child(lib: str, figure: str, n: int, rounds: int, url: str) -> None:
    import importlib
    import os

    import redis

    sys.path.insert(0, str(BENCH))
    os.environ["BENCH_REDIS_URL"] = url
    peer = importlib.import_module(f"peers.{lib}_bench")
    monitor = redis.Redis.from_url(url)

    def redis_cpu() -> float:
        info = monitor.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])

    producer = peer.producer(url)
    producer.send()  # connects, loads scripts, creates the queue
    samples = []
    for _ in range(rounds):
        monitor.flushall()
        redis0, cpu0, wall0 = redis_cpu(), time.process_time(), time.perf_counter()
        if figure == "one":
            for _ in range(n):
                producer.send()
        else:
            producer.send_many(n)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        samples.append((cpu / n, (redis_cpu() - redis0) / n, wall / n))
    producer.close()
    client, server, wall = (statistics.median(s[i] for s in samples) for i in range(3))
    print(json.dumps({"client": client * 1e6, "redis": server * 1e6, "wall": wall * 1e6}))


def measure(lib: str, figure: str, rounds: int, url: str) -> dict[str, float]:
    python = BENCH / f".venv-{lib}" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{python} is missing: run python3 bench/run.py --quick once")
    out = subprocess.run(
        [str(python), __file__, "--child", lib, figure, str(SIZES[figure]), str(rounds), url],
        capture_output=True, text=True, check=True, cwd=BENCH,
    ).stdout  # fmt: skip
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        lib, figure, n, rounds, url = sys.argv[2:7]
        child(lib, figure, int(n), int(rounds), url)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--libs", nargs="+", default=["minirq", "huey", "rq"])
    parser.add_argument("--only", nargs="+", choices=list(FIGURES), default=list(FIGURES))
    parser.add_argument("--repeat", type=int, default=3, help="measurements per library")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per measurement")
    options = parser.parse_args()
    sys.path.insert(0, str(BENCH))
    import envs

    server = envs.RedisServer()
    try:
        for figure in options.only:
            libs = [lib for lib in options.libs if figure == "one" or lib != "huey"]
            results: dict[str, list[dict[str, float]]] = {lib: [] for lib in libs}
            for repeat in range(options.repeat):
                for lib in libs[repeat % len(libs) :] + libs[: repeat % len(libs)]:
                    results[lib].append(measure(lib, figure, options.rounds, server.url))
            print(f"\n{FIGURES[figure]}: us per job, median of {options.repeat}")
            print("| library | producer CPU | Redis CPU | sum | wall |")
            print("|---|---:|---:|---:|---:|")
            for lib, runs in results.items():
                client, redis_cpu, wall = (
                    statistics.median(r[k] for r in runs) for k in ("client", "redis", "wall")
                )
                print(f"| {lib} | {client:.1f} | {redis_cpu:.1f} | {client + redis_cpu:.1f} "
                      f"| {wall:.1f} |")  # fmt: skip
    finally:
        server.stop()


if __name__ == "__main__":
    main()
