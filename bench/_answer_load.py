"""HTTP load for the answer benchmark: wrk with a Lua script, or an asyncio client without it.

Both hold `concurrency` connections open for `duration_s`, each sending its next request as
soon as the previous response arrived (a closed loop), rotate through a list of request
bodies, and report latency percentiles, throughput and status counts. With `inspect=True`
each 200 response is read as an answer: its id and how many sources it used are kept, so the
caller can check them against what was metered.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class LoadResult:
    client: str
    concurrency: int
    duration_s: float
    requests: int
    statuses: dict[int, int]
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    answers: list[tuple[str, int]] = field(default_factory=list)
    sponsored: int = 0  # sponsored items in the answers inspected

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def ok(self, status: int = 200) -> int:
        return self.statuses.get(status, 0)

    def errors(self, expected: int = 200) -> int:
        """Return responses with another status than `expected`, plus socket errors."""
        return self.requests - self.ok(expected) + self.socket_errors


def wrk_path() -> str | None:
    return shutil.which("wrk")


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which `fraction` of the values fall (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def run_load(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    bodies: list[str] | None = None,
    concurrency: int,
    duration_s: float,
    inspect: bool = False,
    client: str = "auto",
) -> LoadResult:
    """Load `url` with `concurrency` connections for `duration_s` seconds."""
    if client == "auto":
        client = "wrk" if wrk_path() else "python"
    if client == "wrk":
        return _run_wrk(url, method, headers or {}, bodies, concurrency, duration_s, inspect)
    return asyncio.run(
        _run_python(url, method, headers or {}, bodies, concurrency, duration_s, inspect)
    )


# -- wrk --------------------------------------------------------------------------------------

_LUA = r"""
local bodies = {%(bodies)s}
local method, path, inspect = %(method)s, %(path)s, %(inspect)s
wrk.headers = {%(headers)s}
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  counter, statuses, answers = offset, {}, {}
end

function request()
  counter = counter + 1
  local body = nil
  if #bodies > 0 then body = bodies[(counter %% #bodies) + 1] end
  return wrk.format(method, path, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if inspect and status == 200 then
    local id = string.match(body, '^{"id":"([%%w_]+)"')
    local _, sources = string.gsub(body, '"snippet":', "")
    local _, items = string.gsub(body, '"signed":{', "")
    table.insert(answers, (id or "?") .. " " .. sources .. " " .. items)
  end
end

function done(summary, latency, requests)
  local out = io.open(%(out)s, "w")
  local e = summary.errors
  out:write(string.format(
    '{"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "p50_us": %%d, '
    .. '"p90_us": %%d, "p99_us": %%d, "max_us": %%d, "statuses": {',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  local merged, first = {}, true
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + count
    end
  end
  for status, count in pairs(merged) do
    if not first then out:write(", ") end
    out:write(string.format('"%%d": %%d', status, count))
    first = false
  end
  out:write('}, "answers": [')
  first = true
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("answers")) do
      if not first then out:write(", ") end
      out:write('"' .. line .. '"')
      first = false
    end
  end
  out:write("]}\n")
  out:close()
end
"""


def _lua_string(value: str) -> str:
    level = "=" * 4
    assert f"]{level}]" not in value
    return f"[{level}[{value}]{level}]"


def _run_wrk(url, method, headers, bodies, concurrency, duration_s, inspect) -> LoadResult:
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    with tempfile.TemporaryDirectory(prefix="provenant-wrk-") as tmp:
        out = Path(tmp) / "result.json"
        script = Path(tmp) / "load.lua"
        script.write_text(
            _LUA
            % {
                "bodies": ", ".join(_lua_string(b) for b in bodies or []),
                "method": _lua_string(method),
                "path": _lua_string("/" + path),
                "inspect": "true" if inspect else "false",
                "headers": ", ".join(
                    f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()
                ),
                "out": _lua_string(str(out)),
            }
        )
        threads = min(2, concurrency)
        command = [
            wrk_path() or "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"{scheme}://{host}/",
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode or not out.exists():
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout} {done.stderr}")
        data = json.loads(out.read_text())
    answers, sponsored = [], 0
    for line in data["answers"]:
        answer_id, sources, items = line.split(" ")
        answers.append((answer_id, int(sources)))
        sponsored += int(items)
    return LoadResult(
        client="wrk",
        concurrency=concurrency,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        statuses={int(k): v for k, v in data["statuses"].items()},
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        answers=answers,
        sponsored=sponsored,
    )


# -- asyncio fallback ---------------------------------------------------------------------------


async def _run_python(url, method, headers, bodies, concurrency, duration_s, inspect) -> LoadResult:
    _, _, rest = url.partition("://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    path = "/" + path
    encoded = [b.encode() for b in bodies or []] or [b""]
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    requests = [
        (
            f"{method} {path} HTTP/1.1\r\nHost: {hostport}\r\n{head}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in encoded
    ]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    answers: list[tuple[str, int]] = []
    socket_errors = sponsored = 0
    started = time.perf_counter()
    deadline = started + duration_s

    async def worker(offset: int) -> None:
        nonlocal socket_errors, sponsored
        counter = offset
        reader = writer = None
        while time.perf_counter() < deadline:
            if writer is None:
                try:
                    reader, writer = await asyncio.open_connection(host, int(port or 80))
                    sock = writer.get_extra_info("socket")
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:
                    socket_errors += 1
                    await asyncio.sleep(0.01)
                    continue
            counter += 1
            sent = time.perf_counter()
            try:
                writer.write(requests[counter % len(requests)])
                status, close, body = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                socket_errors += 1
                writer.close()
                reader = writer = None
                continue
            latencies.append(time.perf_counter() - sent)
            statuses[status] = statuses.get(status, 0) + 1
            if inspect and status == 200:
                data = json.loads(body)
                answers.append((data["id"], len(data["sources"])))
                sponsored += len(data.get("sponsored") or [])
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker(i * 7919) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    ms = [s * 1000 for s in latencies]
    return LoadResult(
        client="python",
        concurrency=concurrency,
        duration_s=elapsed,
        requests=len(latencies),
        statuses=statuses,
        socket_errors=socket_errors,
        p50_ms=percentile(ms, 0.50),
        p90_ms=percentile(ms, 0.90),
        p99_ms=percentile(ms, 0.99),
        max_ms=max(ms, default=0.0),
        answers=answers,
        sponsored=sponsored,
    )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    if "content-length" in fields:
        body = await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.read()
        fields["connection"] = "close"
    return status, fields.get("connection", "").lower() == "close", body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def cpu_seconds(pids: list[int]) -> float:
    """Return the user + system CPU seconds the given processes have used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick
