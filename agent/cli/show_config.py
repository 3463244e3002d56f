"""``agent config``: which files are in force or ignored, and the effective values (keys masked)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from agent.cli.common import run_sync
from agent.cli.exit_codes import EXIT_OK, EXIT_USAGE
from agent.cli.tables import text_table
from agent.cli.terminal import json_safe
from agent.config.inventory import ConfigReport, inspect_config
from agent.config.servers import BUNDLED_SERVERS

__all__ = ["execute", "report_lines"]


def execute(*, provider: str | None, config: Path | None, mcp_config: Path | None, json_output: bool) -> int:
    """Show the configuration in force; exit 2 when a file in force is wrong (the rest is shown)."""

    def body() -> int:
        report = inspect_config(
            provider=provider, config=config, mcp_config=mcp_config, cwd=Path.cwd(), env=os.environ
        )
        if json_output:
            sys.stdout.write(json_safe(json.dumps(report.to_json(), ensure_ascii=False)) + "\n")
        else:
            sys.stdout.write("".join(line + "\n" for line in report_lines(report)))
        sys.stdout.flush()
        for problem in report.problems:
            sys.stderr.write(f"error: {problem}\n")
        return EXIT_USAGE if report.problems else EXIT_OK

    return run_sync(body)


def report_lines(report: ConfigReport) -> list[str]:
    """The human form of the report."""
    lines = ["Config directories (the first that has a file wins):"]
    lines += _indent(text_table(["", ""], [list(pair) for pair in report.directories])[1:])
    lines.append("Files:")
    rows = [
        [file.role, file.path, ("" if file.used else "ignored: ") + file.note if file.note else ""]
        for file in report.files
    ]
    lines += _indent(text_table(["", "", ""], rows)[1:]) if rows else ["  none"]
    if report.ignored:
        lines.append(f"  {report.ignored}")
    if report.provider is not None:
        lines.append(f"Provider {report.provider['name']}:")
        lines += _indent(text_table(["", ""], _provider_rows(report.provider))[1:])
    where = f" ({report.mcp_config})" if report.mcp_config else " (no MCP config file)"
    lines.append(f"Servers attached when no --server is given{where}:")
    server_rows = [_server_row(server) for server in report.servers]
    lines += _indent(text_table(["", "", ""], server_rows)[1:]) if server_rows else ["  none"]
    lines.append(f"  bundled, by name with --server: {', '.join(BUNDLED_SERVERS)}")
    return lines


def _indent(lines: list[str]) -> list[str]:
    return ["  " + line for line in lines]


def _provider_rows(values: dict[str, Any]) -> list[list[str]]:
    key = values["api_key"]
    if key["set"]:
        shown = f"{key['shown']} (from {key['from']})"
    else:
        shown = f"not set: {key['problem']}" if key["problem"] else "not set"
    endpoint = values["endpoint"]
    if values["endpoint_from"] != "the provider file":
        endpoint += f" (from {values['endpoint_from']})"
    window = values["context_window"]
    return [
        ["endpoint", endpoint],
        ["api key", shown],
        ["default model", values["default_model"]],
        ["timeout", f"{values['timeout_seconds']:g} s"],
        ["max retries", str(values["max_retries"])],
        [
            "context window",
            f"{window} tokens, {values['reserve_tokens']} kept free" if window else "from the catalog",
        ],
        ["fallback models", ", ".join(values["fallback_models"]) or "none"],
        ["provider routing", _compact(values["provider_routing"])],
        ["reasoning", _compact(values["reasoning"])],
        ["prompt cache", "on" if values["prompt_cache"] else "off"],
        ["auto fallback", "on" if values["auto_fallback"] else "off"],
        ["headers", ", ".join(values["headers"]) + " (values hidden)" if values["headers"] else "none"],
    ]


def _compact(value: Any) -> str:
    if not value:
        return "none"
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _server_row(server: dict[str, Any]) -> list[str]:
    what = server.get("command") or server.get("url") or ""
    secret_names = server.get("env") or server.get("headers") or []
    if secret_names:
        what += f"  ({'env' if 'env' in server else 'headers'}: {', '.join(secret_names)})"
    transport = "disabled" if server["disabled"] else server["transport"]
    return [server["name"], transport, what]
