"""``agent run`` / ``agent query``: settings from flags and files, one run, output, exit code."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import anyio

from agent.cli.exit_codes import EXIT_INTERRUPTED, exit_code_for
from agent.cli.render import HumanRenderer, describe_error
from agent.errors import AgentError, ConfigError
from agent.events import Event, RunFinished
from agent.result import ErrorInfo, RunResult

if TYPE_CHECKING:
    from agent.config.servers import ServerConfig

__all__ = ["RunArgs", "execute"]

_TOOL_CHOICES = ("auto", "required", "none")


@dataclass
class RunArgs:
    """Everything ``agent run`` was asked to do."""

    prompt: str
    model: str | None = None
    provider: str | None = None
    servers: list[str] = field(default_factory=list)
    config: Path | None = None
    mcp_config: Path | None = None
    max_turns: int = 20
    timeout: float | None = None
    tool_timeout: float = 60.0
    stream: bool = True
    json_output: bool = False
    system: str | None = None
    tool_choice: str | None = None
    verbose: bool = False
    strict_servers: bool = False
    max_tool_output: int | None = None
    fallbacks: list[str] = field(default_factory=list)
    retries: int | None = None


def _read_prompt(prompt: str) -> str:
    if prompt != "-":
        return prompt
    text = sys.stdin.read()
    if not text.strip():
        raise ConfigError("the prompt read from stdin is empty", source="PROMPT '-'")
    return text


def _resolve_servers(args: RunArgs, cwd: Path, env: dict[str, str]) -> dict[str, ServerConfig]:
    from agent.config.server_spec import resolve_server
    from agent.config.servers import find_mcp_config, load_mcp_config

    path = find_mcp_config(args.mcp_config, cwd, env)
    configured = load_mcp_config(path, env=env) if path is not None else {}
    resolved: dict[str, ServerConfig] = {}
    for spec in args.servers:
        name, server = resolve_server(spec, configured, cwd=cwd)
        unique, n = name, 1
        while unique in resolved:
            n += 1
            unique = f"{name}-{n}"
        resolved[unique] = server
    return resolved


class _Runner:
    """One CLI run: owns the output streams and the renderer."""

    def __init__(self, args: RunArgs) -> None:
        self.args = args
        answer_stream = sys.stderr if args.json_output else sys.stdout
        self.renderer = HumanRenderer(answer_stream, sys.stderr, verbose=args.verbose)
        self.result = RunResult()

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.result = event.result
        self.renderer(event)

    async def main(self) -> RunResult:
        from agent.config.env import environment
        from agent.config.providers import load_provider
        from agent.loop import RunOptions, run_agent
        from agent.mcp.manager import McpManager
        from agent.providers.factory import build_chat_model
        from agent.providers.openai_compat import create_http_client

        args = self.args
        cwd = Path.cwd()
        if args.tool_choice is not None and args.tool_choice not in _TOOL_CHOICES:
            raise ConfigError(
                f"expected one of {', '.join(_TOOL_CHOICES)}, got {args.tool_choice!r}",
                source="--tool-choice",
            )
        prompt = _read_prompt(args.prompt)
        env = environment(cwd)
        provider = load_provider(args.provider, explicit=args.config, cwd=cwd, env=env)
        model_name = args.model or provider.config.default_model
        self.result = RunResult(model=model_name, models_tried=[model_name])
        api_key = provider.require_api_key()
        servers = _resolve_servers(args, cwd, env)
        options = RunOptions(
            max_turns=args.max_turns,
            timeout=args.timeout,
            tool_timeout=args.tool_timeout,
            stream=args.stream,
            tool_choice=cast(Literal["auto", "required", "none"] | None, args.tool_choice),
            system=args.system,
            context_window=provider.config.context_window,
            reserve_tokens=provider.config.reserve_tokens,
        )
        if args.max_tool_output is not None:
            options = dataclasses.replace(options, max_tool_output_chars=args.max_tool_output)
        async with create_http_client(provider.config.timeout_seconds) as http:
            model = build_chat_model(
                client=http,
                provider_name=provider.provider_name,
                base_url=provider.config.api_endpoint,
                api_key=api_key,
                model=model_name,
                fallbacks=[*args.fallbacks, *provider.config.fallback_models],
                max_retries=provider.config.max_retries if args.retries is None else args.retries,
                extra_headers=provider.config.headers,
                on_event=self.on_event,
            )
            async with McpManager(servers, on_event=self.on_event) as manager:
                if args.strict_servers and manager.failed:
                    raise manager.failed[0].error or ConfigError("a server failed to start")
                self.result = await run_agent(model, manager, prompt, options, on_event=self.on_event)
        return self.result

    def finish(self, result: RunResult, code: int) -> int:
        if result.exception is not None:
            for line in describe_error(result.exception, verbose=self.args.verbose):
                sys.stderr.write(line + "\n")
        if self.args.json_output:
            sys.stdout.write(result.model_dump_json() + "\n")
        elif result.output and not self.renderer.streamed_text:
            sys.stdout.write(result.output.rstrip("\n") + "\n")
        sys.stdout.flush()
        return code


def execute(args: RunArgs) -> int:
    """Run the agent as the CLI does and return the exit code; never raises for user mistakes."""
    runner = _Runner(args)
    try:
        result = anyio.run(runner.main)
    except AgentError as exc:
        result = runner.result
        result.fail(exc)
    except KeyboardInterrupt:
        result = runner.result
        result.stop_reason = "error"
        result.error = ErrorInfo(type="Interrupted", message="interrupted by the user")
        runner.renderer.close_line()
        sys.stderr.write("interrupted\n")
        runner.finish(result, EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    return runner.finish(result, exit_code_for(result))
