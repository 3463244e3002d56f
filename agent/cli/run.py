"""``agent run`` / ``agent query``: settings from flags and files, one run, output, exit code."""

from __future__ import annotations

import dataclasses
import gc
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import anyio

from agent.cli.common import (
    check_choice,
    first_agent_error,
    internal_error,
    read_prompt,
    remember_no_native_tools,
    resolve_servers,
)
from agent.cli.exit_codes import EXIT_INTERRUPTED, exit_code_for
from agent.cli.render import HumanRenderer, describe_error
from agent.cli.terminal import json_safe
from agent.errors import AgentError, ConfigError
from agent.events import Event, Notice, ProtocolSwitched, RunFinished
from agent.result import ErrorInfo, RunResult

if TYPE_CHECKING:
    from agent.loop import RunOptions
    from agent.models.resolution import ResolvedModel

__all__ = ["RunArgs", "execute"]

_TOOL_CHOICES = ("auto", "required", "none")
_PROTOCOLS = ("auto", "native", "text")


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
    protocol: str = "auto"


class _Runner:
    """One CLI run: owns the output streams and the renderer."""

    def __init__(self, args: RunArgs) -> None:
        self.args = args
        answer_stream = sys.stderr if args.json_output else sys.stdout
        self.renderer = HumanRenderer(answer_stream, sys.stderr, verbose=args.verbose)
        self.result = RunResult()
        self.probe_endpoint: tuple[dict[str, str], str] | None = None

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.result = event.result
        elif isinstance(event, ProtocolSwitched) and self.probe_endpoint is not None:
            self.remember_no_native_tools(event.model)
        self.renderer(event)

    def remember_no_native_tools(self, model: str) -> None:
        """Record that ``model`` has no tool endpoints, so later runs start on the text protocol."""
        assert self.probe_endpoint is not None
        env, base_url = self.probe_endpoint
        remember_no_native_tools(env, base_url, model)

    async def main(self) -> RunResult:
        from agent.cli.trust import settle_project_trust
        from agent.config.env import environment
        from agent.config.providers import load_provider
        from agent.loop import RunOptions, run_agent
        from agent.mcp.manager import McpManager

        args = self.args
        cwd = Path.cwd()
        check_choice(args.tool_choice, _TOOL_CHOICES, "--tool-choice")
        check_choice(args.protocol, _PROTOCOLS, "--protocol")
        prompt = read_prompt(args.prompt)
        settle_project_trust(interactive=not args.json_output and args.prompt != "-")
        env = environment(cwd)
        provider = load_provider(args.provider, explicit=args.config, cwd=cwd, env=env)
        model_name = args.model or provider.config.default_model
        self.result = RunResult(model=model_name, models_tried=[model_name])
        api_key = provider.require_api_key()
        servers = resolve_servers(args.servers, args.mcp_config, cwd, env)
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
        config_dir = args.config if args.config is not None and args.config.is_dir() else None
        base_url = provider.config.api_endpoint
        # Server processes first: their start-up overlaps the imports and the catalog look-up.
        async with McpManager(servers, on_event=self.on_event, wait=False) as manager:
            from agent.models.resolution import resolve_model
            from agent.providers.factory import build_chat_model
            from agent.providers.openai_compat import create_http_client

            async with create_http_client(provider.config.timeout_seconds) as http:
                model = build_chat_model(
                    client=http,
                    provider_name=provider.provider_name,
                    base_url=base_url,
                    api_key=api_key,
                    model=model_name,
                    fallbacks=[*args.fallbacks, *provider.config.fallback_models],
                    max_retries=provider.config.max_retries if args.retries is None else args.retries,
                    extra_headers=provider.config.headers,
                )
                async with anyio.create_task_group() as tg:
                    tg.start_soon(manager.wait_started)
                    resolved = await resolve_model(
                        http,
                        base_url=base_url,
                        api_key=api_key,
                        model=model_name,
                        env=env,
                        cwd=cwd,
                        config_dir=config_dir,
                    )
                if args.strict_servers and manager.failed:
                    raise manager.failed[0].error or ConfigError("a server failed to start")
                options = self.adapt(options, resolved, provider.config.context_window)
                # Start-up is over: keep the collector from rescanning every imported object
                # (full collections over them cost 30-50 ms in long runs).
                gc.freeze()
                self.probe_endpoint = (env, base_url)
                self.result = await run_agent(model, manager, prompt, options, on_event=self.on_event)
        return self.result

    def adapt(
        self, options: RunOptions, resolved: ResolvedModel, configured_window: int | None
    ) -> RunOptions:
        """Apply what is known about the model: tool protocol, context window, tool_choice support."""
        caps = resolved.capabilities
        if resolved.warning:
            self.on_event(Notice(message=resolved.warning))
        if resolved.info:
            self.on_event(Notice(level="info", message=resolved.info))
        protocol = caps.tool_protocol if self.args.protocol == "auto" else self.args.protocol
        tool_choice = options.tool_choice
        if tool_choice is not None and protocol == "native" and not caps.allows_tool_choice(tool_choice):
            self.on_event(
                Notice(message=f"{caps.model} does not take tool_choice={tool_choice}; not sending it")
            )
            tool_choice = None
        return dataclasses.replace(
            options,
            protocol=cast(Literal["native", "text"], protocol),
            tool_choice=tool_choice,
            context_window=resolved.context_window(configured_window),
        )

    def finish(self, result: RunResult, code: int) -> int:
        if result.exception is not None:
            for line in describe_error(result.exception, verbose=self.args.verbose):
                sys.stderr.write(line + "\n")
        if self.args.json_output:
            sys.stdout.write(json_safe(result.model_dump_json()) + "\n")
        elif result.output and not self.renderer.streamed_text:
            sys.stdout.write(result.output.rstrip("\n") + "\n")
        sys.stdout.flush()
        return code


def execute(args: RunArgs) -> int:
    """Run the agent as the CLI does and return the exit code; never raises for user mistakes."""
    runner = _Runner(args)
    try:
        try:
            result = anyio.run(runner.main)
        except BaseExceptionGroup as group:
            raise first_agent_error(group) from group
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
    except Exception as exc:  # a bug of ours: one line (the traceback with --verbose), the JSON still written
        result = runner.result
        result.fail(internal_error(exc, verbose=args.verbose))
    return runner.finish(result, exit_code_for(result))
