"""Drive `wrk` (the C load generator the original's figures were taken with), when installed:
a Python client on the same two cores cannot load a fast server without becoming the
bottleneck itself."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_s: float
    percentiles_ms: dict[float, float]  # 50, 75, 90, 99
    errors: int  # non-2xx answers and socket errors


def available() -> bool:
    return shutil.which("wrk") is not None


def parse(output: str) -> WrkResult:
    """The figures of `wrk --latency` output."""
    rate = _RATE.search(output)
    if rate is None:
        raise ValueError(f"no Requests/sec in wrk's output:\n{output}")
    percentiles = {
        float(share): float(value) * _UNITS_MS[unit]
        for share, value, unit in _PERCENTILE.findall(output)
    }
    errors = sum(int(n) for n in _NON_2XX.findall(output))
    for found in _SOCKET_ERRORS.findall(output):
        errors += sum(int(n) for n in found)
    return WrkResult(float(rate[1]), percentiles, errors)


def cycling(paths: list[str]) -> str:
    """A wrk Lua script sending `paths` in turn, one per request."""
    quoted = ",\n".join(f'  "{path}"' for path in paths)
    return (
        f"local paths = {{\n{quoted}\n}}\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        '  return wrk.format("GET", paths[(n % #paths) + 1])\n'
        "end\n"
    )


def never_seen(prefix: str, mean_pause_ms: float = 0.0) -> str:
    """A wrk Lua script reading the count of a new user on every request (each wrk thread
    has its own Lua state, hence a random tag per thread). With `mean_pause_ms`, each
    connection waits an exponentially distributed pause of that mean after every answer:
    arrivals then come about as an open model's would, at a rate set by the pause, without a
    Python client's CPU on the machine under measurement."""
    pause = (
        f"delay = function()\n  return -math.log(1 - math.random()) * {mean_pause_ms:.3f}\nend\n"
        if mean_pause_ms > 0
        else ""
    )
    return (
        "math.randomseed(os.time() + math.floor(os.clock() * 1e6))\n"
        "local tag = math.random(1, 1e9)\n"
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        f'  return wrk.format("GET", "/analytics/events?user_id={prefix}-" .. tag .. "-" .. n'
        ' .. "&page_url=/new")\n'
        "end\n" + pause
    )


async def run(
    base_url: str, script: str, connections: int, duration_s: float, threads: int = 2
) -> WrkResult:
    """`wrk -t<threads> -c<connections> -d<duration> --latency` with a Lua `script` choosing
    each request (keep-alive)."""
    with tempfile.TemporaryDirectory() as scratch:
        script_file = Path(scratch) / "requests.lua"
        script_file.write_text(script)
        process = await asyncio.create_subprocess_exec(
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--latency",
            "-s",
            str(script_file),
            base_url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output.decode()}")
    return parse(output.decode())
