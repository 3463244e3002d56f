from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import TextContent

from agent.config.server_spec import resolve_server
from agent.config.servers import HttpServerConfig, ServerConfig, StdioServerConfig
from agent.errors import ConfigError

CONFIGURED: dict[str, ServerConfig] = {
    "fs": StdioServerConfig(command="my-fs"),
    "notes": HttpServerConfig(url="http://127.0.0.1:9000/mcp"),
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "app.db").write_bytes(b"")
    return tmp_path


def bundled(name: str, *args: str) -> StdioServerConfig:
    return StdioServerConfig(command=sys.executable, args=["-P", "-m", f"servers.{name}", *args])


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("notes", ("notes", CONFIGURED["notes"])),
        ("fs", ("fs", CONFIGURED["fs"])),
        (" notes ", ("notes", CONFIGURED["notes"])),
    ],
)
def test_a_configured_name_resolves_to_its_entry_even_over_a_bundled_one(
    cwd: Path, spec: str, expected: tuple[str, ServerConfig]
) -> None:
    assert resolve_server(spec, CONFIGURED, cwd=cwd) == expected


@pytest.mark.parametrize(
    ("spec", "name", "args"),
    [
        ("fs", "fs", ["{cwd}"]),
        ("fs:data", "fs", ["{cwd}/data"]),
        ("fs:data, {cwd}/other", "fs", ["{cwd}/data", "{cwd}/other"]),
        ("fs:./data/../other,", "fs", ["{cwd}/other"]),
        ("sqlite:app.db", "sqlite", ["{cwd}/app.db"]),
        ("sqlite:{cwd}/app.db", "sqlite", ["{cwd}/app.db"]),
        ("calc", "calc", []),
        ("calc:", "calc", []),
    ],
)
def test_bundled_servers_run_with_this_interpreter_and_absolute_paths(
    cwd: Path, spec: str, name: str, args: list[str]
) -> None:
    resolved = resolve_server(spec.format(cwd=cwd), {}, cwd=cwd)
    assert resolved == (name, bundled(name, *[arg.format(cwd=cwd.resolve()) for arg in args]))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "npx -y @modelcontextprotocol/server-filesystem /tmp",
            (
                "npx",
                StdioServerConfig(
                    command="npx", args=["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
                ),
            ),
        ),
        (
            "'/opt/my tools/run-server' --flag 'a b'",
            ("run-server", StdioServerConfig(command="/opt/my tools/run-server", args=["--flag", "a b"])),
        ),
        (
            "http://127.0.0.1:8000/mcp",
            ("127.0.0.1", HttpServerConfig(url="http://127.0.0.1:8000/mcp", type="streamable-http")),
        ),
        (
            "https://mcp.example.com/sse/",
            ("mcp.example.com", HttpServerConfig(url="https://mcp.example.com/sse/", type="sse")),
        ),
    ],
)
def test_command_lines_and_urls_become_stdio_and_http_servers(
    cwd: Path, spec: str, expected: tuple[str, ServerConfig]
) -> None:
    assert resolve_server(spec, CONFIGURED, cwd=cwd) == expected


@pytest.mark.parametrize(
    ("spec", "configured", "message"),
    [
        (
            "nope",
            CONFIGURED,
            "unknown server 'nope'; expected a configured server (fs, notes), a bundled server "
            "(calc, fs, sqlite), a command line or an http(s) URL",
        ),
        (
            "nope",
            {},
            "unknown server 'nope'; expected a configured server (none), a bundled server "
            "(calc, fs, sqlite), a command line or an http(s) URL",
        ),
        ("", {}, "expected a server name, bundled server, command line or URL"),
        ("sqlite", {}, "sqlite needs a database path, e.g. sqlite:data/app.db"),
        ("sqlite:missing.db", {}, "sqlite: database file not found: {cwd}/missing.db"),
        ("fs:data,absent", {}, "fs: directory not found: {cwd}/absent"),
        ("calc:1+1", {}, "calc takes no arguments, got '1+1'"),
        ("npx 'unclosed", {}, "cannot parse the command line: No closing quotation"),
        ("http://", {}, "expected an http:// or https:// URL, got 'http://'"),
    ],
)
def test_unusable_server_specs_are_one_line_config_errors(
    cwd: Path, spec: str, configured: dict[str, ServerConfig], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_server(spec, configured, cwd=cwd)
    assert str(caught.value) == "--server: " + message.format(cwd=cwd.resolve())
    assert caught.value.exit_code == 2


@pytest.mark.anyio
async def test_resolved_bundled_server_starts_even_beside_a_shadowing_servers_directory(
    tmp_path: Path,
) -> None:
    decoy = tmp_path / "servers"
    decoy.mkdir()
    (decoy / "__init__.py").write_text("")
    (decoy / "calc.py").write_text("raise SystemExit('the decoy servers package was imported')\n")
    name, config = resolve_server("calc", {}, cwd=tmp_path)
    assert isinstance(config, StdioServerConfig)
    params = StdioServerParameters(command=config.command, args=config.args, env=config.env, cwd=tmp_path)
    with anyio.fail_after(30):
        async with Client(params, mode=config.mode or "auto") as client:
            tools = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("evaluate", {"expression": "6 * 7"})
    texts = [block.text for block in result.content if isinstance(block, TextContent)]
    assert (name, tools, result.is_error, texts) == ("calc", ["evaluate"], False, ["42"])
