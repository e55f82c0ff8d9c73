"""Load test: N simulated residents asking at once through the running web app.

    python -m benchmarks.load [--users 1,8,32] [--questions-per-user 6] [--url URL]

Without ``--url`` the real app is started in a child process exactly as users
start it (``python -m visio serve`` on a free loopback port, settings from
the ``VISIO_*`` environment, question limits off: every simulated user comes
from 127.0.0.1), so its memory is its own. An app given with ``--url`` needs
``VISIO_QUESTIONS_PER_MINUTE=0 VISIO_QUESTIONS_PER_MINUTE_PER_ADDRESS=0``. Each user is a thread
with its own HTTP connection and session, calling the app's named ``/ask``
endpoint through Gradio's documented HTTP API (``POST /gradio_api/call/ask``,
then the event's server-sent stream), back to back: there is no think time
unless ``--think-time`` is given, so N users means N questions in flight.

Users ask questions of the shipped held-out sets (evals/sets/*-heldout.jsonl), Swedish
and Finnish in turn; every third question is one of its follow-ups with the
conversation it follows, and the others carry the user's own last turns as
history, as the chat window sends them.

Prints per N: answers/s, latency p50/p95/p99/max, errors (transport errors,
HTTP errors, and answers saying the service failed or turned the user away:
``internal_error``, ``index_missing``, ``rate_limited``), refusals (expected for
the set's out-of-scope and injection questions), CPU time per answer of the
server and of this driver (which runs on the same cores) and the server's peak
RSS (VmHWM). The first two answers after start are timed apart: they show what
loading on first use costs.
Target (issue #7): 32 users on 2 cores, zero errors, p95 <= 2 s, extractive mode;
the exit status is 1 when a round of 32 or more users misses it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import peak_rss_mb, percentile, row
from evals.items import SHIPPED_SET, EvalItem, load_sets

TARGET_USERS = 32
TARGET_P95_S = 2.0
#: Answers whose first note says the service failed (not a refusal: a fault).
#: "rate_limited": the app's question limit turned the user away (a run against an app with
#: limits on measures the limiter, not the server).
FAILURE_NOTES = ("internal_error", "index_missing", "rate_limited")
#: Own turns sent as history with an ordinary question (the chat sends the whole session).
HISTORY_TURNS = 2
API = "gradio_api/call/ask"


# --- what the users ask -------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    question: str
    lang: str
    history: tuple[dict[str, str], ...] | None  # None: the user's own conversation so far


def user_plans(items: Sequence[EvalItem], users: int, per_user: int,
               seed: int) -> list[list[Request]]:
    """Each user's questions: sv and fi in turn, every third one a follow-up with its history."""
    follow = [i for i in items if i.history]
    main = {lang: [i for i in items if not i.history and i.lang == lang] for lang in ("sv", "fi")}
    plans = []
    for user in range(users):
        rng = random.Random(seed * 1000 + user)
        pools = {lang: rng.sample(pool, len(pool)) for lang, pool in main.items()}
        follow_ups = rng.sample(follow, len(follow))
        plan: list[Request] = []
        for n in range(per_user):
            if n % 3 == 2 and follow_ups:
                item = follow_ups[(n // 3) % len(follow_ups)]
                plan.append(Request(item.question, item.lang, tuple(item.history)))
            else:
                lang = ("sv", "fi")[(user + n) % 2]
                pool = pools[lang]
                item = pool[n % len(pool)]
                plan.append(Request(item.question, item.lang, None))
        plans.append(plan)
    return plans


# --- one simulated user ------------------------------------------------------------------

@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refusals: int = 0
    wrong_language: int = 0


def ask(client: httpx.Client, base: str, request: Request, history: Sequence[dict[str, str]],
        session: str) -> dict[str, Any]:
    """One call of the app's /ask endpoint; raises on any transport or API error.

    ``session`` is the user's session hash, kept across questions as a browser tab or
    gradio_client keeps it (without one, Gradio builds a new session per request).
    """
    started = client.post(f"{base}{API}", json={
        "data": [request.question, list(history), request.lang], "session_hash": session})
    started.raise_for_status()
    event_id = started.json()["event_id"]
    event = ""
    with client.stream("GET", f"{base}{API}/{event_id}") as stream:
        stream.raise_for_status()
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.partition(":")[2].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.partition(":")[2])
                if event == "error":
                    raise RuntimeError(f"the app reported an error: {data}")
                return data[0]
    raise RuntimeError("the event stream ended without an answer")


def run_user(base: str, plan: Sequence[Request], start: threading.Barrier, outcome: Outcome,
             timeout: float, think_time: float, auth: tuple[str, str] | None) -> None:
    own: list[dict[str, str]] = []
    session = secrets.token_hex(8)
    with httpx.Client(timeout=timeout) as client:
        if auth:
            client.post(f"{base}login", data={"username": auth[0], "password": auth[1]})
        start.wait()
        pause = random.Random(session)  # users think at their own pace, not in step
        if think_time:
            time.sleep(pause.uniform(0, think_time))
        for request in plan:
            history = request.history if request.history is not None else own[-2 * HISTORY_TURNS:]
            began = time.perf_counter()
            try:
                answer = ask(client, base, request, history, session)
            except Exception as exc:
                outcome.latencies.append(time.perf_counter() - began)
                outcome.errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            outcome.latencies.append(time.perf_counter() - began)
            notes = answer.get("notes") or []
            if notes and notes[0] in FAILURE_NOTES:
                outcome.errors.append(f"service failure: {notes[0]}")
                continue
            if answer.get("refused"):
                outcome.refusals += 1
            elif answer.get("language") != request.lang:
                outcome.wrong_language += 1
            if request.history is None:
                own += [{"role": "user", "content": request.question},
                        {"role": "assistant", "content": str(answer.get("answer", ""))}]
            if think_time:
                time.sleep(think_time * pause.uniform(0.5, 1.5))


# --- the server -----------------------------------------------------------------------------

def proc_status(pid: int | None) -> dict[str, float]:
    """VmHWM / VmRSS (MB) and CPU seconds of a process, from /proc (empty if unknown)."""
    if pid is None:
        return {}
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return {}
    values = {line.split(":")[0]: int(line.split()[1]) / 1024
              for line in status.splitlines() if line.startswith(("VmHWM", "VmRSS"))}
    ticks = os.sysconf("SC_CLK_TCK")
    values["cpu_s"] = (int(stat[11]) + int(stat[12])) / ticks  # utime + stime
    return values


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_app(ready_timeout: float) -> Iterator[tuple[str, int, Path]]:
    """`python -m visio serve` on a free loopback port; yields (url, pid, log file)."""
    port = free_port()
    log_path = Path(tempfile.mkstemp(prefix="visio-load-server-", suffix=".log")[1])
    with open(log_path, "wb") as log:
        # All simulated users come from 127.0.0.1: the per-address question limit would
        # turn most of them away, and this measures the server, not the limiter.
        env = {**os.environ, "VISIO_QUESTIONS_PER_MINUTE": "0",
               "VISIO_QUESTIONS_PER_MINUTE_PER_ADDRESS": "0"}
        server = subprocess.Popen(
            [sys.executable, "-m", "visio", "serve", "--host", "127.0.0.1",
             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the app exited with {server.returncode}; see {log_path}")
            try:
                if httpx.get(f"{url}gradio_api/info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the app did not start within {ready_timeout:.0f} s; "
                                 f"see {log_path}")
            time.sleep(1)
        yield url, server.pid, log_path
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- a round of N users ------------------------------------------------------------------------

@dataclass
class RoundResult:
    users: int
    answers: int
    errors: int
    refusals: int
    wrong_language: int
    seconds: float
    throughput: float
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    server_cpu_per_answer: float | None
    driver_cpu_per_answer: float | None
    server_peak_rss_mb: float | None
    error_samples: list[str]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def run_round(base: str, plans: Sequence[Sequence[Request]], *, timeout: float,
              think_time: float, server_pid: int | None,
              auth: tuple[str, str] | None) -> RoundResult:
    outcomes = [Outcome() for _ in plans]
    barrier = threading.Barrier(len(plans) + 1)
    threads = [threading.Thread(target=run_user, name=f"user-{n}", daemon=True,
                                args=(base, plan, barrier, outcome, timeout, think_time, auth))
               for n, (plan, outcome) in enumerate(zip(plans, outcomes, strict=True))]
    for thread in threads:
        thread.start()
    before = proc_status(server_pid)
    driver_before = _own_cpu_s()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    driver_cpu = _own_cpu_s() - driver_before
    after = proc_status(server_pid)
    latencies = [x for o in outcomes for x in o.latencies]
    errors = [e for o in outcomes for e in o.errors]
    answered = len(latencies) - len(errors)
    cpu = (after["cpu_s"] - before["cpu_s"]) / answered if after and before and answered else None
    return RoundResult(
        users=len(plans), answers=answered, errors=len(errors),
        refusals=sum(o.refusals for o in outcomes),
        wrong_language=sum(o.wrong_language for o in outcomes), seconds=seconds,
        throughput=answered / seconds if seconds else 0.0,
        p50=percentile(latencies, 50), p95=percentile(latencies, 95),
        p99=percentile(latencies, 99), max=max(latencies, default=None),
        server_cpu_per_answer=cpu,
        driver_cpu_per_answer=driver_cpu / answered if answered else None,
        server_peak_rss_mb=after.get("VmHWM"),
        error_samples=sorted(set(errors))[:5],
    )


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def report(result: RoundResult) -> None:
    print(f"\n  {result.users} users × {result.answers + result.errors} questions "
          f"in {result.seconds:.1f} s")
    print(row("answers/s", f"{result.throughput:.2f}"))
    print(row("latency p50 / p95 / p99",
              f"{_s(result.p50)} / {_s(result.p95)} / {_s(result.p99)}",
              f"p95 <= {TARGET_P95_S:.0f} s" if result.users == TARGET_USERS else ""))
    print(row("latency max", _s(result.max)))
    print(row("errors", str(result.errors), "0" if result.users == TARGET_USERS else ""))
    for sample in result.error_samples:
        print(f"      {sample}")
    print(row("refusals (out-of-scope / injection items)", str(result.refusals)))
    print(row("answers not in the question's language", str(result.wrong_language)))
    if result.server_cpu_per_answer is not None:
        print(row("server CPU per answer", f"{result.server_cpu_per_answer * 1000:.0f} ms"))
    if result.driver_cpu_per_answer is not None:
        print(row("load driver CPU per answer (same cores)",
                  f"{result.driver_cpu_per_answer * 1000:.0f} ms"))
    if result.server_peak_rss_mb is not None:
        print(row("server peak RSS (VmHWM, so far)", f"{result.server_peak_rss_mb:.0f} MB"))


# --- command line ----------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running app (default: start one with `visio serve`)")
    parser.add_argument("--server-pid", type=int,
                        help="the running app's process id, for its memory and CPU figures")
    parser.add_argument("--users", default="1,8,32", help="comma-separated user counts")
    parser.add_argument("--questions-per-user", type=int, default=6)
    parser.add_argument("--think-time", type=float, default=0.0,
                        help="mean seconds a user waits before each question, 0.5-1.5x at "
                             "random (default 0: back to back)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per request, seconds")
    parser.add_argument("--auth", help="user:password when the app has VISIO_AUTH set")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--ready-timeout", type=float, default=900.0,
                        help="seconds to wait for a started app (it may build the index)")
    args = parser.parse_args(argv)
    try:
        args.users = [int(n) for n in args.users.split(",") if n.strip()]
    except ValueError:
        parser.error("--users must be comma-separated numbers, e.g. 1,8,32")
    if not args.users or min(args.users) < 1 or args.questions_per_user < 1:
        parser.error("--users and --questions-per-user must be at least 1")
    if args.auth and ":" not in args.auth:
        parser.error("--auth must be user:password")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rounds and print the figures; exit status 1 when the target is missed."""
    args = parse_args(argv)
    items = load_sets(SHIPPED_SET)
    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    with (_given(args.url, args.server_pid) if args.url
          else served_app(args.ready_timeout)) as (url, pid, log_path):
        base = url if url.endswith("/") else url + "/"
        print(f"Load test — {base} (server pid {pid or 'unknown'}), {os.cpu_count()} cores, "
              f"load average {os.getloadavg()[0]:.1f} (others' work counts)")
        if log_path:
            print(f"  server log: {log_path}")
        cold = run_round(base, user_plans(items, 2, 1, args.seed), timeout=args.timeout,
                         think_time=0.0, server_pid=pid, auth=auth)
        print(row("first two answers after start (sv + fi)", _s(cold.max)))
        results = []
        for users in args.users:
            plans = user_plans(items, users, args.questions_per_user, args.seed + users)
            result = run_round(base, plans, timeout=args.timeout, think_time=args.think_time,
                               server_pid=pid, auth=auth)
            report(result)
            results.append(result)
        print(row("\n  load driver peak RSS (this process)", f"{peak_rss_mb():.0f} MB"))
        print(row("load average at the end", f"{os.getloadavg()[0]:.1f}"))
    if args.json:
        args.json.write_text(json.dumps({"cold_start": cold.to_dict(),
                                         "rounds": [r.to_dict() for r in results]},
                                        indent=2), encoding="utf-8")
    missed = [r for r in results if r.users >= TARGET_USERS
              and (r.errors or (r.p95 or 0.0) > TARGET_P95_S)]
    if missed:
        print(f"\n  target missed: {TARGET_USERS} users need 0 errors and p95 <= "
              f"{TARGET_P95_S:.0f} s")
    return 1 if missed else 0


@contextmanager
def _given(url: str, pid: int | None) -> Iterator[tuple[str, int | None, Path | None]]:
    yield url, pid, None


if __name__ == "__main__":
    sys.exit(main())
