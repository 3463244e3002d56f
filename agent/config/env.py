"""``${VAR}`` expansion in config values, and the environment it expands from (``.env`` + os).

Expansion is strict: ``${VAR}`` with ``VAR`` unset is a :class:`~agent.errors.ConfigError` naming
the file and field, so a typo never becomes an empty API key or URL. Supported forms:

- ``${VAR}``: the value of ``VAR`` (set but empty gives the empty string);
- ``${VAR:-default}``: ``default`` when ``VAR`` is unset or empty (``default`` may itself
  contain ``${...}``, expanded only when used);
- ``$$``: a literal ``$``. Any other ``$`` is kept as it is.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.errors import ConfigError

__all__ = ["PYTHON_VARIABLE", "SECRETS_FILE", "environment", "expand", "expand_tree", "load_dotenv"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}
_SYNTAX = "expected ${NAME} or ${NAME:-default}"
_MAX_NESTING = 16  # ${A:-${B:-...}} levels; deeper is a mistake (or an attack on the parser)


def expand(value: str, env: Mapping[str, str], *, source: str | None = None, field: str | None = None) -> str:
    """Expand ``${VAR}``, ``${VAR:-default}`` and ``$$`` in ``value`` from ``env``.

    Raises:
        ConfigError: a variable without default is unset, or a reference is malformed.
    """
    if "$" not in value:
        return value
    return _Expander(value, env, source, field).run()


class _Expander:
    """A one-pass scanner over one string; ``evaluate=False`` only checks a skipped default's syntax."""

    def __init__(self, text: str, env: Mapping[str, str], source: str | None, field: str | None) -> None:
        self.text = text
        self.env = env
        self.source = source
        self.field = field
        self.depth = 0

    def fail(self, message: str) -> ConfigError:
        return ConfigError(message, source=self.source, field=self.field)

    def run(self) -> str:
        result, _ = self.scan(0, evaluate=True, closing=False)
        return result

    def scan(self, pos: int, *, evaluate: bool, closing: bool) -> tuple[str, int]:
        """Expand from ``pos`` to the end, or (``closing``) to the unmatched ``}``; return text and end."""
        text, i = self.text, pos
        out: list[str] = []
        while i < len(text):
            char = text[i]
            if closing and char == "}":
                return "".join(out), i
            if char == "$" and text.startswith("$", i + 1):
                out.append("$")
                i += 2
            elif char == "$" and text.startswith("{", i + 1):
                piece, i = self.reference(i, evaluate=evaluate)
                out.append(piece)
            else:
                out.append(char)
                i += 1
        return "".join(out), i

    def reference(self, start: int, *, evaluate: bool) -> tuple[str, int]:
        """Expand the ``${...}`` starting at ``start``; return its value and the index after it."""
        text = self.text
        match = _NAME.match(text, start + 2)
        i = match.end() if match else start + 2
        if match and text.startswith("}", i):
            if not evaluate:
                return "", i + 1
            if match.group() not in self.env:
                raise self.fail(f"environment variable {match.group()} is not set")
            return self.env[match.group()], i + 1
        if match and text.startswith(":-", i):
            name = match.group()
            use_default = evaluate and not self.env.get(name)
            self.depth += 1
            if self.depth > _MAX_NESTING:
                raise self.fail(f"defaults nested deeper than {_MAX_NESTING} levels; {_SYNTAX}")
            default, end = self.scan(i + 2, evaluate=use_default, closing=True)
            self.depth -= 1
            if end >= len(text):
                raise self.fail(f"unclosed variable reference {_shorten(text[start:])}; {_SYNTAX}")
            if not evaluate:
                return "", end + 1
            return (default if use_default else self.env[name]), end + 1
        close = text.find("}", start)
        if close < 0:
            raise self.fail(f"unclosed variable reference {_shorten(text[start:])}; {_SYNTAX}")
        raise self.fail(f"bad variable reference {_shorten(text[start : close + 1])}; {_SYNTAX}")


def _shorten(text: str, limit: int = 40) -> str:
    """``repr`` of ``text``, cut to ``limit`` characters (config values may be long)."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def expand_tree(obj: Any, env: Mapping[str, str], source: str | None, field_prefix: str = "") -> Any:
    """Return ``obj`` with :func:`expand` applied to every string inside dicts and lists.

    Keys are kept as they are; numbers, booleans and ``None`` pass through untouched.
    """
    if isinstance(obj, str):
        return expand(obj, env, source=source, field=field_prefix or None)
    if isinstance(obj, dict):
        return {
            key: expand_tree(value, env, source, f"{field_prefix}.{key}" if field_prefix else str(key))
            for key, value in obj.items()
        }
    if isinstance(obj, list):
        return [expand_tree(item, env, source, f"{field_prefix}[{index}]") for index, item in enumerate(obj)]
    return obj


def load_dotenv(path: Path) -> dict[str, str]:
    r"""Parse a ``.env`` file: ``KEY=VALUE`` lines, ``export`` prefix, quotes and ``#`` comments.

    Single quotes keep the text literally; double quotes understand ``\n \t \" \\ \$``.
    Unquoted values end at `` #``. Values are not expanded. Line contents never appear in
    errors (they may be secrets).

    Raises:
        ConfigError: the file cannot be read, or a line is not ``KEY=VALUE``.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read file: {type(exc).__name__}", source=str(path)) from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("export ", "export\t")):
            line = line[len("export") :].lstrip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        where = f"line {number}"
        if not sep or not _DOTENV_KEY.fullmatch(key):
            raise ConfigError("expected KEY=VALUE (KEY: letters, digits, _)", source=str(path), field=where)
        values[key] = _dotenv_value(rest.strip(), str(path), where)
    return values


def _dotenv_value(rest: str, source: str, where: str) -> str:
    """The value part of one ``.env`` line, unquoted."""
    if not rest or rest[0] not in "'\"":
        comment = re.search(r"\s#", rest)
        return (rest[: comment.start()] if comment else rest).strip()
    quote = rest[0]
    out: list[str] = []
    i = 1
    while i < len(rest):
        char = rest[i]
        if char == quote:
            tail = rest[i + 1 :].strip()
            if tail and not tail.startswith("#"):
                raise ConfigError(f"unexpected text after the closing {quote}", source=source, field=where)
            return "".join(out)
        if quote == '"' and char == "\\" and i + 1 < len(rest):
            following = rest[i + 1]
            out.append(_ESCAPES.get(following, "\\" + following))
            i += 2
            continue
        out.append(char)
        i += 1
    raise ConfigError(f"unclosed {quote} quote", source=source, field=where)


PYTHON_VARIABLE = "AGENT_PYTHON"
"""``${AGENT_PYTHON}``: the interpreter running agent (for entries that run a bundled server)."""

_LOCATION_VARIABLES = frozenset(
    {"HOME", "AGENT_CONFIG_DIR", "AGENT_CACHE_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"}
)
"""Variables a ``.env`` may not set: they decide where trusted configuration lives."""


SECRETS_FILE = "secrets.env"
"""The user's own ``.env`` in the user config directory (``agent init`` stores a key there, 0600)."""


def environment(cwd: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables config files expand from: the real environment over ``cwd/.env`` over ``secrets.env``.

    The real environment (``base``, default ``os.environ``) wins, so an exported variable is
    never overridden; a trusted ``cwd/.env`` wins over the user's :data:`SECRETS_FILE` in the
    user config directory. ``.env`` is read only when the user trusts ``cwd`` (see
    :mod:`agent.config.trust`); neither file moves the user config or cache directory.
    """
    from agent.config.paths import user_config_dir
    from agent.config.trust import check_project

    real = os.environ if base is None else base
    merged: dict[str, str] = {}
    secrets = user_config_dir(real, cwd) / SECRETS_FILE
    if secrets.is_file():
        merged.update((k, v) for k, v in load_dotenv(secrets).items() if k not in _LOCATION_VARIABLES)
    dotenv = cwd / ".env"
    if dotenv.is_file() and check_project(cwd, real).trusted:
        merged.update((k, v) for k, v in load_dotenv(dotenv).items() if k not in _LOCATION_VARIABLES)
    merged.update(real)
    merged.setdefault(PYTHON_VARIABLE, sys.executable)
    return merged
