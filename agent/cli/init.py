"""``agent init``: set up the provider, the API key, a default model and MCP servers.

At a terminal it asks, one question at a time (on stderr; Enter takes the value in brackets);
flags answer their questions beforehand. Without a terminal (or with ``--yes``) the flags are
the answers, and a missing one is one error line naming it (exit 2). Files are written only at
the end, after the summary (see :mod:`agent.config.setup`); Ctrl-C or Ctrl-D before then leaves
everything as it was (exit 130). The key is stored only when the person asks, and is shown
masked everywhere. What was written, and what to do next, goes to stdout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

import anyio
from pydantic import SecretStr

from agent.cli.common import run_sync, warn
from agent.cli.exit_codes import EXIT_INTERRUPTED, EXIT_OK
from agent.cli.key import key_rows
from agent.cli.models import per_million
from agent.cli.tables import text_table
from agent.config.env import SECRETS_FILE, environment
from agent.config.paths import user_cache_dir, user_config_dir
from agent.config.providers import DEFAULT_PROVIDER, KEYS_URL
from agent.config.server_templates import SERVER_TEMPLATES, ServerTemplate, server_entry
from agent.config.setup import (
    PlannedFile,
    ProviderChoice,
    SetupPlan,
    check_key,
    check_variable,
    find_provider,
    load_models,
    mask_key,
    mcp_file,
    new_provider,
    plan_files,
    server_conflicts,
    suggested_models,
    verify_key,
    write_files,
)
from agent.errors import AuthenticationError, ConfigError, ProviderError
from agent.text import one_line

if TYPE_CHECKING:
    from agent.models.catalog import Catalog, CatalogEntry
    from agent.providers.key_info import KeyInfo

__all__ = ["InitArgs", "execute"]

_T = TypeVar("_T")
_TRIES = 3
_LISTED = 10
_HTTP_TIMEOUT = 30.0
_OPENROUTER = "https://openrouter.ai/api/v1"


@dataclass
class InitArgs:
    """What ``agent init`` was given on the command line."""

    provider: str | None = None
    endpoint: str | None = None
    model: str | None = None
    key_env: str | None = None
    key_stdin: bool = False
    servers: list[str] = field(default_factory=list)
    yes: bool = False
    no_verify: bool = False


@dataclass(frozen=True)
class _KeyAnswer:
    """How the provider gets its key: the variable, the key itself (to check it), what to do with it."""

    variable: str | None
    key: str | None = field(default=None, repr=False)
    store: bool = False
    pasted: bool = False

    def export_line(self, env: dict[str, str]) -> str | None:
        """The ``export`` line to show when the key is neither stored nor in the environment."""
        if self.variable is None or self.store:
            return None
        if self.pasted and self.key is not None:
            masked = mask_key(self.key)
            return (
                f"export {self.variable}={masked}   # your key (shown masked): put it in your shell profile"
            )
        if not env.get(self.variable):
            return f"export {self.variable}=...   # your key: put it in your shell profile"
        return None


class _Aborted(Exception):
    """The person ended the input (Ctrl-D), or answered no at the last question."""


class _Person:
    """The person at the terminal: questions on ``out``, answers line by line from ``stdin``."""

    def __init__(self, stdin: TextIO, out: TextIO) -> None:
        self.stdin = stdin
        self.out = out

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def ask(self, question: str, default: str = "") -> str:
        self.out.write(f"{question} [{default}]: " if default else f"{question}: ")
        self.out.flush()
        line = self.stdin.readline()
        if not line:
            self.out.write("\n")
            raise _Aborted
        return line.strip() or default

    def ask_hidden(self, question: str) -> str:
        """A line typed without echo (a pasted key never shows on the screen)."""
        try:
            import termios
        except ImportError:  # not a POSIX terminal
            import getpass

            return getpass.getpass(f"{question}: ", stream=self.out).strip()

        fd = self.stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        try:
            self.out.write(f"{question}: ")
            self.out.flush()
            line = self.stdin.readline()
        finally:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
            self.out.write("\n")
            self.out.flush()
        if not line:
            raise _Aborted
        return line.strip()

    def confirm(self, question: str, default: bool) -> bool:
        for _ in range(_TRIES):
            answer = self.ask(f"{question} [{'Y/n' if default else 'y/N'}]").lower()
            if not answer:
                return default
            if answer in ("y", "yes", "n", "no"):
                return answer.startswith("y")
            self.say("  answer y or n")
        return default

    def until_valid(self, ask: Callable[[], _T]) -> _T:
        """``ask()`` again while it raises a ``ValueError`` or ``ConfigError`` (a few times)."""
        for attempt in range(_TRIES):
            try:
                return ask()
            except (ValueError, ConfigError) as exc:
                self.say(f"  {exc}")
                if attempt == _TRIES - 1:
                    raise _Aborted from None
        raise _Aborted


def execute(args: InitArgs) -> int:
    """Set up as asked and return the exit code; never raises for the person's mistakes."""

    def body() -> int:
        try:
            return _Init(args).run()
        except _Aborted:
            sys.stderr.write("aborted: nothing was written\n")
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:
            sys.stderr.write("\ninterrupted: nothing was written\n")
            return EXIT_INTERRUPTED

    return run_sync(body)


class _Init:
    """One ``agent init``: the questions in order, then the files."""

    def __init__(self, args: InitArgs) -> None:
        self.args = args
        self.cwd = Path.cwd()
        self.env = environment(self.cwd, os.environ)
        """The real environment over a trusted ./.env over the user's secrets.env (as in a run)."""
        self.config_dir = user_config_dir(self.env, self.cwd)
        at_terminal = sys.stdin.isatty() and sys.stderr.isatty()
        self.person = (
            _Person(sys.stdin, sys.stderr) if at_terminal and not (args.yes or args.key_stdin) else None
        )

    def run(self) -> int:
        if self.person is None:
            self._check_flags()
        else:
            self.person.say(
                f"Setting up agent (files go to {self.config_dir}; Ctrl-C stops, nothing is written)."
            )
        choice = self._provider()
        answer = self._key(choice)
        model = self._model(choice, answer.key)
        servers, replace = self._servers()
        plan = SetupPlan(
            choice,
            model,
            answer.variable,
            key=SecretStr(answer.key) if answer.store and answer.key else None,
            servers=servers,
            replace=frozenset(replace),
        )
        files = plan_files(plan, self.config_dir)
        if not self._confirm(files):
            raise _Aborted
        write_files(files)
        self._report(files, choice, answer.export_line(self.env))
        return EXIT_OK

    # -- without a terminal ------------------------------------------------------------------

    def _check_flags(self) -> None:
        """Without a person to ask, the flags must answer every question (``--yes``: the defaults)."""
        args = self.args
        where = "agent init: not at a terminal" if not args.yes else "agent init"
        if not (args.key_env or args.key_stdin or args.yes):
            raise ConfigError(
                f"{where}; give --key-env VAR or --key-stdin for the API key (or --yes for the defaults)"
            )
        if not (args.model or args.yes):
            raise ConfigError(
                f"{where}; give --model MODEL for the default model (or --yes for the provider's)"
            )

    # -- the provider --------------------------------------------------------------------------

    def _provider(self) -> ProviderChoice:
        args = self.args
        if args.endpoint:
            return new_provider(args.endpoint, args.provider)
        if args.provider and args.provider.startswith(("http://", "https://")):
            return new_provider(args.provider)
        answered = args.model or args.key_env or args.servers  # flags given: OpenRouter unless -p says
        if args.provider or answered or self.person is None:
            name = args.provider or DEFAULT_PROVIDER
            found = find_provider(name, self.config_dir)
            if found is None:
                raise ConfigError(
                    f"unknown provider {name!r}; give --endpoint URL to set up an OpenAI-compatible endpoint",
                    source="--provider",
                )
            return found
        person = self.person
        openrouter = find_provider(DEFAULT_PROVIDER, self.config_dir) or new_provider(
            _OPENROUTER, DEFAULT_PROVIDER
        )
        person.say()
        person.say("Provider:")
        person.say(f"  1  OpenRouter ({openrouter.endpoint})")
        person.say("  2  another OpenAI-compatible endpoint (a URL)")

        def ask() -> ProviderChoice:
            answer = person.ask("Choose 1 or 2, or type the endpoint's URL", "1")
            if answer == "1":
                return openrouter
            if answer == "2":
                answer = person.ask("Endpoint URL (e.g. http://localhost:11434/v1)")
            if answer.startswith(("http://", "https://")):
                endpoint = new_provider(answer)
                name = person.ask("Name for it (use it with -p NAME)", endpoint.name)
                return new_provider(answer, name)
            raise ValueError("expected 1, 2 or an http(s):// URL")

        return person.until_valid(ask)

    # -- the key -----------------------------------------------------------------------------

    def _key(self, choice: ProviderChoice) -> _KeyAnswer:
        """The key's variable, the key (to check it; ``None``: unknown) and whether to store it."""
        args = self.args
        default_variable = choice.key_variable or "OPENROUTER_API_KEY"
        variable = check_variable(args.key_env) if args.key_env else default_variable
        if self.person is None or args.key_env:
            if args.key_stdin:
                pasted = _checked(check_key, sys.stdin.read(), "--key-stdin")
                self._verify(choice, pasted)
                return _KeyAnswer(variable, pasted, store=True, pasted=True)
            exported = self.env.get(variable) or None
            if exported is None and not args.no_verify:
                warn(f"{variable} is not set here; the key was not checked")
            self._verify(choice, exported)
            return _KeyAnswer(variable, exported)
        return self._ask_key(choice, variable)

    def _ask_key(self, choice: ProviderChoice, variable: str) -> _KeyAnswer:
        person = self.person
        assert person is not None
        person.say()
        if choice.is_openrouter:
            person.say(f"API key (OpenRouter keys are created at {KEYS_URL}):")
        else:
            person.say("API key (local servers often need none):")
        present = self.env.get(variable)
        person.say("  1  paste it now (hidden; stored only if you say so)")
        person.say(f"  2  use an environment variable ({variable}{' is set' if present else ''})")
        if not choice.is_openrouter:
            person.say("  3  none: the endpoint needs no key")
        while True:
            how = person.until_valid(lambda: _one_of(person.ask("Choose", "2" if present else "1"), choice))
            if how == "3":
                return _KeyAnswer(None)
            if how == "2":
                named = person.until_valid(lambda: check_variable(person.ask("Variable", variable)))
                key = self.env.get(named) or None
                if key is None:
                    person.say(f"  {named} is not set here: export it before running agent (not checked now)")
                    return _KeyAnswer(named)
                if self._verify(choice, key, asking=True):
                    return _KeyAnswer(named, key)
                continue
            key = person.until_valid(lambda: check_key(person.ask_hidden("Paste the key (hidden)")))
            person.say(f"  got {mask_key(key)}")
            if not self._verify(choice, key, asking=True):
                continue
            where = self.config_dir / SECRETS_FILE
            store = person.confirm(f"Store it in {where} (readable only by you)?", default=False)
            return _KeyAnswer(variable, key, store=store, pasted=True)

    def _verify(self, choice: ProviderChoice, key: str | None, *, asking: bool = False) -> bool:
        """Check ``key`` with ``GET /key`` and show its credits; whether to go on with it.

        A refused key is an error (exit 4) without a person, else a line and another try.
        An endpoint without ``/key`` or a failed check is a note: the files are right anyway.
        """
        if key is None or self.args.no_verify:
            return True
        out = self.person.out if self.person is not None else sys.stderr
        endpoint = choice.reached_at(self.env)
        out.write(f"Checking the key with {endpoint}/key ...\n")
        out.flush()
        try:
            info = anyio.run(_fetch_key_info, endpoint, key)
        except AuthenticationError as exc:
            refused = f"{exc} Check the key (keys are created at {KEYS_URL})"
            if not asking:
                raise exc.reworded(refused) from None
            out.write(f"error: {one_line(refused, 600)}\n")
            return False
        except ProviderError as exc:
            if exc.status == 404:
                out.write(f"  not checked: {endpoint} has no /key (OpenRouter has it)\n")
            else:
                out.write(f"warning: the key could not be checked: {one_line(str(exc), 600)}\n")
            return True
        rows = key_rows(info)
        width = max(len(name) for name, _ in rows)
        out.write(
            "  the key works:\n" + "".join(f"    {name.ljust(width)}  {value}\n" for name, value in rows)
        )
        out.flush()
        return True

    # -- the model -------------------------------------------------------------------------------

    def _model(self, choice: ProviderChoice, key: str | None) -> str:
        args = self.args
        if args.model or self.person is None:
            check = bool(args.model) and not args.no_verify
            catalog = self._catalog(choice, key) if check else None
            model = (args.model or choice.default_model).strip()
            if not model:
                raise ConfigError(
                    f"{choice.endpoint} has no default model; give --model MODEL", source="agent init"
                )
            if catalog is not None and catalog.lookup(model) is None and model != choice.default_model:
                close = catalog.suggest(model)
                hint = f"; did you mean {', '.join(close)}?" if close else " ('agent models' lists them)"
                raise ConfigError(f"unknown model {model!r}{hint}", source="--model")
            return model
        person = self.person
        catalog = self._catalog(choice, key)
        if catalog is None:
            return person.until_valid(
                lambda: _nonempty(person.ask("Default model (its id)", choice.default_model))
            )
        return self._pick_model(person, catalog, choice.default_model)

    def _catalog(self, choice: ProviderChoice, key: str | None) -> Catalog | None:
        cache = user_cache_dir(self.env, self.cwd)
        try:
            catalog = anyio.run(_fetch_models, choice.reached_at(self.env), key, cache)
        except ProviderError as exc:
            warn(f"the model list could not be fetched: {one_line(str(exc), 600)}")
            return None
        return catalog if catalog.entries else None

    def _pick_model(self, person: _Person, catalog: Catalog, default: str) -> str:
        query = ""
        while True:
            listed, total = suggested_models(catalog, default, query, _LISTED)
            person.say()
            person.say("Default model (tools: takes tool schemas; prices in USD per million tokens in/out):")
            for line in _model_lines(listed, default):
                person.say("  " + line)
            if total > len(listed):
                person.say(f"  ({len(listed)} of {total} shown; type words to narrow the list)")
            answer = person.ask("A number, a model id, or words to filter (e.g. free, gpt)", default or "1")
            if answer.isdigit() and 1 <= int(answer) <= len(listed):
                return listed[int(answer) - 1][0]
            if answer == default or catalog.lookup(answer) is not None:
                return answer
            found, _ = suggested_models(catalog, default, answer, _LISTED)
            if found:
                query = answer
                continue
            if "/" in answer or answer.startswith(("~", "@")):
                person.say(f"  {answer} is not in the model list; using it as typed")
                return answer
            person.say(f"  no model matches {answer!r}")

    # -- the servers -------------------------------------------------------------------------

    def _servers(self) -> tuple[dict[str, dict[str, object]], set[str]]:
        chosen: dict[str, dict[str, object]] = {}
        for spec in self.args.servers:
            name, entry = server_entry(spec, self.cwd)
            chosen[name] = entry
        if self.person is not None and not self.args.servers:
            chosen = self._ask_servers(self.person)
        replace: set[str] = set()
        target = mcp_file(self.config_dir)
        for name in server_conflicts(self.config_dir, chosen):
            if self.args.yes:
                replace.add(name)
            elif self.person is None:
                raise ConfigError(
                    f"{target} already has a server {name!r}; give --yes to replace it, "
                    f"or NAME=SPEC to add this one under another name",
                    source="--server",
                )
            elif self.person.confirm(f"{target} already has a server {name!r}. Replace it?", default=False):
                replace.add(name)
        return chosen, replace

    def _ask_servers(self, person: _Person) -> dict[str, dict[str, object]]:
        person.say()
        person.say("MCP servers to attach to every run (agent run, chat, query):")
        rows = [[str(n), t.key, t.description] for n, t in enumerate(SERVER_TEMPLATES, 1)]
        for line in text_table(["", "NAME", "WHAT"], rows, right={0})[1:]:
            person.say("  " + line)
        chosen: dict[str, dict[str, object]] = {}

        def pick() -> list[str]:
            answer = person.ask("Numbers (e.g. 1 2), a command line or a URL; Enter: none", "")
            tokens = answer.replace(",", " ").split()
            if tokens and all(t.isdigit() for t in tokens):
                if any(not 1 <= int(t) <= len(SERVER_TEMPLATES) for t in tokens):
                    raise ValueError(f"expected numbers from 1 to {len(SERVER_TEMPLATES)}")
                return [SERVER_TEMPLATES[int(t) - 1].key for t in tokens]
            if answer:
                name, entry = server_entry(answer, self.cwd)
                chosen[name] = entry
            return []

        for key in person.until_valid(pick):
            template = next(t for t in SERVER_TEMPLATES if t.key == key)
            if template.argument is None:
                chosen[key] = template.entry(None, self.cwd)
                continue
            chosen[key] = person.until_valid(partial(self._ask_argument, person, template))
        while True:
            answer = person.ask("Another server (a command line or URL; Enter: done)", "")
            if not answer:
                return chosen
            try:
                name, entry = server_entry(answer, self.cwd)
            except ConfigError as exc:
                person.say(f"  {exc}")
                continue
            chosen[name] = entry

    def _ask_argument(self, person: _Person, template: ServerTemplate) -> dict[str, object]:
        """The entry of a server that takes an argument (a directory, a database file), asked for."""
        what = (template.argument or "argument").capitalize()
        return template.entry(person.ask(f"  {what} for {template.key}", template.default or ""), self.cwd)

    # -- the files -------------------------------------------------------------------------------

    def _confirm(self, files: list[PlannedFile]) -> bool:
        if self.person is None:
            return True
        person = self.person
        if not files:
            return True
        person.say()
        person.say(f"To write in {self.config_dir}:")
        for line in _file_lines(files, self.config_dir):
            person.say("  " + line)
        return person.confirm("Write these files?", default=True)

    def _report(self, files: list[PlannedFile], choice: ProviderChoice, export: str | None) -> None:
        out = sys.stdout
        if files:
            out.write("Wrote:\n")
            out.write("".join(f"  {line}\n" for line in _file_lines(files, None)))
        else:
            out.write(f"Nothing to write in {self.config_dir}: it already says all this.\n")
        provider = "" if choice.name == DEFAULT_PROVIDER else f" -p {choice.name}"
        steps = [
            [f"agent chat{provider}", "# talk to the model, with the servers' tools"],
            [f'agent run{provider} "a task"', "# one task, then exit"],
            [f"agent config{provider}", "# what is in force, and from which file"],
        ]
        out.write("Next:\n")
        if export is not None:
            out.write(f"  {export}\n")
        out.write("".join(f"  {line}\n" for line in text_table(["", ""], steps)[1:]))
        out.flush()


def _file_lines(files: list[PlannedFile], base: Path | None) -> list[str]:
    rows = []
    for planned in files:
        name = str(planned.path.relative_to(base)) if base is not None else str(planned.path)
        notes = ["new" if not planned.existed else "updated"]
        if planned.secret:
            notes.append("mode 0600")
        rows.append([name, f"({', '.join(notes)})", planned.summary])
    return text_table(["", "", ""], rows)[1:]


def _model_lines(listed: list[tuple[str, CatalogEntry | None]], default: str) -> list[str]:
    rows = []
    for number, (model_id, entry) in enumerate(listed, 1):
        rows.append(
            [
                str(number),
                one_line(model_id, 80),
                *_model_facts(entry),
                "default" if model_id == default else "",
            ]
        )
    return text_table(["", "", "", "", ""], rows, right={0})[1:]


def _model_facts(entry: CatalogEntry | None) -> list[str]:
    if entry is None:
        return ["", ""]
    tools = "?" if entry.supported_parameters is None else "tools" if entry.supports_tools else "no tools"
    if entry.is_free:
        return [tools, "free"]
    pricing = entry.pricing
    prompt = per_million(pricing.prompt if pricing else None)
    completion = per_million(pricing.completion if pricing else None)
    if prompt is None or completion is None:
        return [tools, ""]
    return [tools, f"${_usd(prompt)}/${_usd(completion)}"]


def _usd(value: Decimal) -> str:
    return f"{value:.2f}" if value == 0 or value >= Decimal("0.1") else f"{value:.2g}"


def _one_of(answer: str, choice: ProviderChoice) -> str:
    allowed = ("1", "2") if choice.is_openrouter else ("1", "2", "3")
    if answer not in allowed:
        raise ValueError(f"expected {' or '.join(allowed)}")
    return answer


def _nonempty(text: str) -> str:
    if not text.strip():
        raise ValueError("a model id is needed")
    return text.strip()


def _checked(check: Callable[[str], str], text: str, source: str) -> str:
    try:
        return check(text)
    except ValueError as exc:
        raise ConfigError(str(exc), source=source) from None


async def _fetch_key_info(endpoint: str, key: str) -> KeyInfo:
    from agent.providers.openai_compat import create_http_client

    async with create_http_client(_HTTP_TIMEOUT) as http:
        return await verify_key(http, endpoint, key)


async def _fetch_models(endpoint: str, key: str | None, cache: Path) -> Catalog:
    from agent.providers.openai_compat import create_http_client

    async with create_http_client(_HTTP_TIMEOUT) as http:
        return await load_models(http, endpoint, key, cache)
