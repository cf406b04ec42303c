"""Servers and load for `manage.py bench`: gunicorn as shared/bench/serve.sh starts it, wrk, one-connection timing.

Only processes started here are ever signalled, by their own process id.
"""

import contextlib
import dataclasses
import functools
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import time
from pathlib import Path

# wrk's done() hook: one JSON line per run, latencies in microseconds (as shared/bench/lib/wrk_report.lua).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local line = string.format(
    '{"name":"%s","round":%s,"requests":%d,"duration_s":%.3f,"rps":%.2f,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,' ..
    '"bytes":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\\n',
    os.getenv("BENCH_NAME") or "?", os.getenv("BENCH_ROUND") or "0",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout)
  local f = assert(io.open(os.getenv("BENCH_OUT"), "a"))
  f:write(line)
  f:close()
end
"""


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclasses.dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start_gunicorn(
    name: str, app: str, *, gunicorn: str, chdir: Path, env: dict[str, str], log_dir: Path, workers: int = 2
) -> Server:
    """Start gunicorn with serve.sh's flags: sync workers, 127.0.0.1 only, no access log, errors at warning."""
    port = free_port()
    log = log_dir / f"{name}.gunicorn.log"
    environment = {key: value for key, value in {**os.environ, **env}.items() if key != "GUNICORN_CMD_ARGS"}
    command = [
        gunicorn,
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log),
        "--chdir",
        str(chdir),
        app,
    ]
    process = subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL)  # noqa: S603
    return Server(name, port, process, log)


def wait_ready(server: Server, path: str, *, timeout: float = 60.0) -> None:
    """Wait until the server answers the path at all; raise if it died or never did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with status {server.process.returncode}; see {server.log}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            fetch(server.port, path, timeout=10)
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer {path} within {timeout:.0f} s; see {server.log}")


def stop(servers: list[Server]) -> None:
    """Stop the gunicorn masters started here (they stop their own workers); kill one that lingers."""
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)
    servers.clear()


def fetch(port: int, path: str, *, cookie: str = "", timeout: float = 30.0) -> tuple[int, bytes, float]:
    """One request on a new connection, as a reader's (gunicorn's sync workers close every connection).

    Returns the status, the body and the seconds from connecting to the last byte.
    """
    headers = {"Host": f"127.0.0.1:{port}", "User-Agent": "archive-bench"}
    if cookie:
        headers["Cookie"] = cookie
    start = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response.status, body, time.perf_counter() - start


def try_fetch(port: int, path: str, *, cookie: str = "", timeout: float = 30.0) -> tuple[int, bytes, float]:
    """As fetch(), but a connection closed without an answer (a worker killed by its timeout) is status 0."""
    start = time.perf_counter()
    try:
        return fetch(port, path, cookie=cookie, timeout=timeout)
    except (OSError, http.client.HTTPException):
        return 0, b"", time.perf_counter() - start


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def summary_ms(samples: list[float]) -> dict:
    return {
        "n": len(samples),
        "p50_ms": percentile(samples, 0.50) * 1000,
        "p95_ms": percentile(samples, 0.95) * 1000,
        "p99_ms": percentile(samples, 0.99) * 1000,
        "mean_ms": statistics.fmean(samples) * 1000,
    }


class Wrk:
    """wrk runs, each appending one JSON line to a file."""

    def __init__(self, out_dir: Path, *, threads: int = 1) -> None:
        self.out_dir = out_dir
        self.threads = threads
        self.script = out_dir / "wrk_report.lua"
        self.script.write_text(WRK_REPORT)

    def run(self, name: str, url: str, *, connections: int, seconds: int, out: str, round_number: int = 0) -> dict:
        results = self.out_dir / out
        env = {**os.environ, "BENCH_NAME": name, "BENCH_ROUND": str(round_number), "BENCH_OUT": str(results)}
        command = [
            "wrk",
            f"-t{self.threads}",
            f"-c{connections}",
            f"-d{max(1, seconds)}s",
            "--timeout",
            "10s",
            "-s",
            str(self.script),
            url,
        ]
        # Bounded: wrk stops by itself after the duration; the timeout is a guard against a hung run.
        subprocess.run(  # noqa: S603
            command, env=env, check=True, stdout=subprocess.DEVNULL, timeout=seconds + 30
        )
        return json.loads(results.read_text().splitlines()[-1])


def measured_code() -> str:
    """The checkout measured: its commit, and whether files differ from it (others' work in progress counts)."""
    from django.conf import settings

    git = shutil.which("git")
    if not git:
        return "unknown"
    run = functools.partial(subprocess.run, capture_output=True, text=True, check=False, cwd=settings.BASE_DIR)
    head = run([git, "rev-parse", "--short", "HEAD"]).stdout.strip() or "unknown"  # noqa: S603
    changed = run([git, "status", "--porcelain", "--untracked-files=no"]).stdout.strip()  # noqa: S603
    return f"{head} with uncommitted changes" if changed else head
