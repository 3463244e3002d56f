"""The floor: a hand-written minimal agent loop the project is measured against.

httpx (one keep-alive ``AsyncClient``) with request JSON built by hand, the official ``mcp``
SDK ``Client`` over stdio (tools listed once, ``mode="legacy"``: the handshake era, which the
project also speaks to this server once its first start has probed and remembered it), and
the tool calls of a turn run concurrently in an anyio task group. Nothing else: no validation,
no events, no retries. It is what any agent runtime pays at least on this machine.

As a script (cold start and peak RSS: one whole run per process)::

    python benchmarks/floor.py --base-url URL --model bench-k1 --server "python benchmarks/mcp_server.py"
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from contextlib import AsyncExitStack
from typing import Any

import anyio
import httpx
from mcp import Client, StdioServerParameters


class Floor:
    """One HTTP client and one MCP connection, reused by every :meth:`run`."""

    def __init__(self, base_url: str, server_argv: list[str]) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.server_argv = server_argv
        self.headers = {"Content-Type": "application/json", "Authorization": "Bearer x"}
        self.tools: list[dict[str, Any]] = []
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Floor:
        self.http = await self._stack.enter_async_context(httpx.AsyncClient(timeout=300))
        params = StdioServerParameters(command=self.server_argv[0], args=self.server_argv[1:])
        self.mcp = await self._stack.enter_async_context(Client(params, mode="legacy"))
        listed = await self.mcp.list_tools()
        self.tools = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description or "",
                    "parameters": t.input_schema,
                },
            }
            for t in listed.tools
        ]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    async def run(self, model: str, prompt: str = "go", *, stream: bool = False, max_turns: int = 100) -> Any:
        """Loop until the model answers; returns ``(answer, turns, tool results)``."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        results = 0
        for turn in range(1, max_turns + 1):
            body: dict[str, Any] = {"model": model, "messages": messages, "tools": self.tools}
            if stream:
                body["stream"] = True
            content = json.dumps(body).encode()
            message = await (self._stream(content) if stream else self._post(content))
            messages.append(message)
            calls = message.get("tool_calls") or []
            if not calls:
                return message.get("content"), turn, results
            slots: list[dict[str, Any]] = [{}] * len(calls)
            async with anyio.create_task_group() as tg:
                for index, call in enumerate(calls):
                    tg.start_soon(self._call, index, call, slots)
            messages.extend(slots)
            results += len(slots)
        raise RuntimeError(f"no answer after {max_turns} turns")

    async def _post(self, content: bytes) -> dict[str, Any]:
        response = await self.http.post(self.url, content=content, headers=self.headers)
        response.raise_for_status()
        message: dict[str, Any] = response.json()["choices"][0]["message"]
        return message

    async def _stream(self, content: bytes) -> dict[str, Any]:
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        async with self.http.stream("POST", self.url, content=content, headers=self.headers) as response:
            response.raise_for_status()
            done = False
            # Read to the end of the body even after [DONE], so the connection stays reusable.
            async for line in response.aiter_lines():
                if done or not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    done = True
                    continue
                for choice in json.loads(data)["choices"]:
                    delta = choice["delta"]
                    if delta.get("content"):
                        text.append(delta["content"])
                    for part in delta.get("tool_calls") or ():
                        call = calls.setdefault(
                            part["index"],
                            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                        )
                        call["id"] = part.get("id") or call["id"]
                        function = part.get("function") or {}
                        call["function"]["name"] += function.get("name") or ""
                        call["function"]["arguments"] += function.get("arguments") or ""
        message: dict[str, Any] = {"role": "assistant", "content": "".join(text) or None}
        if calls:
            message["tool_calls"] = [calls[i] for i in sorted(calls)]
        return message

    async def _call(self, index: int, call: dict[str, Any], slots: list[dict[str, Any]]) -> None:
        function = call["function"]
        result = await self.mcp.call_tool(function["name"], json.loads(function["arguments"] or "{}"))
        text = "".join(getattr(block, "text", "") for block in result.content)
        slots[index] = {"role": "tool", "tool_call_id": call["id"], "content": text}


async def _main(args: argparse.Namespace) -> None:
    async with Floor(args.base_url, shlex.split(args.server)) as floor:
        answer, turns, results = await floor.run(args.model, stream=args.stream)
    sys.stdout.write(json.dumps({"output": answer, "turns": turns, "tool_results": results}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="The hand-written floor agent loop: one run.")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--server", required=True, help="the stdio MCP server's command line")
    parser.add_argument("--stream", action="store_true")
    anyio.run(_main, parser.parse_args())


if __name__ == "__main__":
    main()
