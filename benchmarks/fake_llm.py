"""A fast loopback OpenAI-compatible chat server whose model name scripts the run.

``bench-kN``: N turns, each calling ``add(a=i, b=1)`` once, then a final answer.
``bench-parallel-M`` (``bench-parallel-M-Tms``): one turn with M ``sleep(ms=T)`` calls (T=200),
then a final answer. ``stream: true`` answers with SSE (chunked transfer encoding), every
tool call's arguments split over 3 chunks, then a usage chunk and ``data: [DONE]``.

Every request costs the same constant work whoever the client is: parse the JSON body, find
the offered tool, count the tool messages, answer. ``GET /stats`` returns the counters (requests,
tool results received, wrong ``add`` results, final answers, connections) for sanity checks.

Run: ``python benchmarks/fake_llm.py [--port 0]``; the first stdout line is the base URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import sys
from dataclasses import asdict, dataclass
from typing import Any

_K_MODEL = re.compile(r"bench-k(\d+)$")
_PARALLEL_MODEL = re.compile(r"bench-parallel-(\d+)(?:-(\d+)ms)?$")
FINAL_PREFIX = "done after"


@dataclass
class Stats:
    """Counters since start-up (or the last ``POST /reset``)."""

    requests: int = 0
    stream_requests: int = 0
    tool_results: int = 0
    bad_results: int = 0
    tool_calls_sent: int = 0
    finals: int = 0
    errors: int = 0
    connections: int = 0


class Reply:
    """What the script says for one request: tool calls or a final answer."""

    def __init__(self, calls: list[tuple[str, str, dict[str, Any]]], text: str | None) -> None:
        self.calls = calls
        self.text = text


class BadRequest(Exception):
    """The request does not fit the script; answered with HTTP 400."""


def _tool_named(tools: list[Any], suffix: str) -> str:
    for tool in tools:
        name = tool.get("function", {}).get("name", "")
        if name == suffix or name.endswith(suffix):
            return str(name)
    raise BadRequest(f"no '{suffix}' tool among the offered tools")


def script(body: dict[str, Any], stats: Stats) -> Reply:
    """Decide the reply from the model name and the history; count what came back."""
    model = str(body.get("model", ""))
    messages = body.get("messages") or []
    tools = body.get("tools") or []
    rounds = 0
    for message in messages:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            rounds += 1
    new_results: list[Any] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        new_results.append(message)
    stats.tool_results += len(new_results)
    if match := _K_MODEL.match(model):
        turns = int(match.group(1))
        if new_results and str(new_results[0].get("content", "")).strip() != str(rounds):
            stats.bad_results += 1
        if rounds < turns:
            name = _tool_named(tools, "add")
            return Reply([(f"call_{rounds}_0", name, {"a": rounds, "b": 1})], None)
        return Reply([], f"{FINAL_PREFIX} {rounds} tool rounds")
    if match := _PARALLEL_MODEL.match(model):
        count, ms = int(match.group(1)), int(match.group(2) or 200)
        if rounds < 1:
            name = _tool_named(tools, "sleep")
            return Reply([(f"call_0_{i}", name, {"ms": ms}) for i in range(count)], None)
        return Reply([], f"{FINAL_PREFIX} {rounds} tool rounds")
    raise BadRequest(f"unknown model {model!r}; expected bench-kN or bench-parallel-M")


def _usage(body_size: int) -> dict[str, int]:
    prompt = body_size // 4
    return {"prompt_tokens": prompt, "completion_tokens": 12, "total_tokens": prompt + 12}


def _tool_call(index: int, call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {
        "index": index,
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def completion(reply: Reply, model: str, number: int, body_size: int) -> bytes:
    """A whole ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.calls:
        message["tool_calls"] = [
            _tool_call(i, cid, name, json.dumps(args)) for i, (cid, name, args) in enumerate(reply.calls)
        ]
    data = {
        "id": f"chatcmpl-bench-{number}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if reply.calls else "stop"}
        ],
        "usage": _usage(body_size),
    }
    return json.dumps(data).encode()


def _thirds(text: str) -> list[str]:
    step = max(1, -(-len(text) // 3))
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def stream_events(reply: Reply, model: str, number: int, body_size: int) -> list[bytes]:
    """The SSE events of a streamed ``chat.completion.chunk`` answer, ending in ``[DONE]``."""
    head = {"id": f"chatcmpl-bench-{number}", "object": "chat.completion.chunk", "created": 0, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks: list[dict[str, Any]] = [chunk({"role": "assistant", "content": None if reply.calls else ""})]
    for i, (cid, name, args) in enumerate(reply.calls):
        chunks.append(chunk({"tool_calls": [_tool_call(i, cid, name, "")]}))
        chunks.extend(
            chunk({"tool_calls": [{"index": i, "function": {"arguments": part}}]})
            for part in _thirds(json.dumps(args))
        )
    if reply.text is not None:
        chunks.extend(chunk({"content": part}) for part in _thirds(reply.text))
    chunks.append(chunk({}, "tool_calls" if reply.calls else "stop"))
    chunks.append({**head, "choices": [], "usage": _usage(body_size)})
    events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks]
    events.append(b"data: [DONE]\n\n")
    return events


class FakeLLM:
    """The HTTP/1.1 keep-alive server: one asyncio task per connection."""

    def __init__(self) -> None:
        self.stats = Stats()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._one_request(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        line = await reader.readline()
        if not line:
            return False
        method, path, _ = line.decode("latin-1").split(" ", 2)
        length, keep_alive = 0, True
        while True:
            header = await reader.readline()
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep_alive = False
        body = await reader.readexactly(length) if length else b""
        if method == "GET" and path == "/stats":
            self._send(writer, 200, json.dumps(asdict(self.stats)).encode())
        elif method == "POST" and path == "/reset":
            self.stats = Stats()
            self._send(writer, 200, b"{}")
        elif method == "POST" and path.endswith("/chat/completions"):
            await self._chat(writer, body)
        else:
            self._send(writer, 404, b'{"error": {"message": "not found", "code": 404}}')
        await writer.drain()
        return keep_alive

    async def _chat(self, writer: asyncio.StreamWriter, raw: bytes) -> None:
        stats = self.stats
        stats.requests += 1
        try:
            body = json.loads(raw)
            reply = script(body, stats)
        except (ValueError, BadRequest) as exc:
            stats.errors += 1
            error = {"error": {"message": str(exc), "code": 400}}
            self._send(writer, 400, json.dumps(error).encode())
            return
        stats.tool_calls_sent += len(reply.calls)
        stats.finals += reply.text is not None
        model = str(body["model"])
        if not body.get("stream"):
            self._send(writer, 200, completion(reply, model, stats.requests, len(raw)))
            return
        stats.stream_requests += 1
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        for event in stream_events(reply, model, stats.requests, len(raw)):
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        writer.write(b"0\r\n\r\n")

    @staticmethod
    def _send(writer: asyncio.StreamWriter, status: int, payload: bytes) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        writer.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (status, reason.encode(), len(payload), payload)
        )


async def serve(port: int) -> None:
    """Listen on 127.0.0.1 and print the base URL once ready."""
    fake = FakeLLM()
    server = await asyncio.start_server(fake.handle, "127.0.0.1", port, backlog=512)
    bound = server.sockets[0].getsockname()[1]
    sys.stdout.write(f"http://127.0.0.1:{bound}/v1\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible server for the benchmarks.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free port)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
