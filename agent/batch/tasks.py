"""The tasks file of ``agent batch run``: one task per line, read as untrusted input.

A line is a JSON object ``{"id", "prompt", "model"?, "servers"?, "metadata"?}`` or a bare JSON
string (the prompt; its id is then the line number). Blank lines are skipped. Whatever is wrong
with a line is one :class:`~agent.errors.ConfigError` naming ``FILE:LINE`` (exit 2), before
anything runs: a batch never starts on a file it would fail half-way through.

A task runs on each model of its unit list (:func:`units`): its own ``model``, else each of
``--models``, else the batch's model (``-m``, or the provider's default, named ``""`` here).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import safe_json
from agent.errors import ConfigError

__all__ = ["MAX_FILE_BYTES", "MAX_LINE_BYTES", "Task", "Unit", "read_tasks", "units"]

MAX_LINE_BYTES = 1_000_000
"""The longest line taken (a prompt of a million characters is a mistake, not a task)."""
MAX_FILE_BYTES = 1_000_000_000
MAX_ID_CHARS = 200
_FIELDS = ("id", "prompt", "model", "servers", "metadata")


@dataclass(frozen=True, slots=True)
class Task:
    """One line of the tasks file."""

    id: str
    prompt: str
    line: int
    model: str | None = None
    servers: tuple[str, ...] | None = None
    metadata: Any = None


@dataclass(frozen=True, slots=True)
class Unit:
    """One task on one model: what one durable workflow runs (``model`` ``""``: the default model)."""

    task: Task
    model: str

    @property
    def key(self) -> str:
        """A short stable name of (task id, model), safe in a workflow id whatever the id holds."""
        digest = hashlib.sha256(f"{self.task.id}\0{self.model}".encode()).hexdigest()
        return digest[:20]


def read_tasks(path: Path) -> list[Task]:
    """Every task of ``path``, in file order.

    Raises:
        ConfigError: the file cannot be read, has no task, or a line is not a task (``FILE:LINE``).
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"larger than {MAX_FILE_BYTES:,} bytes", source=str(path))
        handle = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read the tasks file: {exc.strerror or exc}", source=str(path)) from None
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            if len(raw) > MAX_LINE_BYTES:
                raise ConfigError(f"the line is longer than {MAX_LINE_BYTES:,} bytes", source=where)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ConfigError("the line is not UTF-8 text", source=where) from None
            if not text.strip():
                continue
            task = parse_line(text, number, where)
            if task.id in seen:
                raise ConfigError(f"task id {task.id!r} is also the id of line {seen[task.id]}", source=where)
            seen[task.id] = number
            tasks.append(task)
    if not tasks:
        raise ConfigError("the tasks file has no task", source=str(path))
    return tasks


def parse_line(text: str, number: int, where: str) -> Task:
    """One line as a task (``where`` names it in errors)."""
    try:
        value = safe_json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"not JSON: {exc}", source=where) from None
    if isinstance(value, str):
        return Task(id=str(number), prompt=_prompt(value, where), line=number)
    if not isinstance(value, dict):
        raise ConfigError(
            f"expected a JSON object with a prompt, or a JSON string, got {type(value).__name__}",
            source=where,
        )
    unknown = [key for key in value if key not in _FIELDS]
    if unknown:
        raise ConfigError(f"unknown field {unknown[0]!r}; a task has {', '.join(_FIELDS)}", source=where)
    if "prompt" not in value:
        raise ConfigError("the task has no prompt", source=where)
    return Task(
        id=_task_id(value.get("id", number), where),
        prompt=_prompt(value["prompt"], where),
        line=number,
        model=_model(value.get("model"), where),
        servers=_servers(value.get("servers"), where),
        metadata=value.get("metadata"),
    )


def units(tasks: Sequence[Task], models: Sequence[str]) -> list[Unit]:
    """Every (task, model) to run: a task's own model, else each of ``models`` (``[""]``: the default)."""
    chosen = list(models) or [""]
    return [Unit(task, model) for task in tasks for model in ([task.model] if task.model else chosen)]


def _task_id(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ConfigError(f"id: expected a string or an integer, got {type(value).__name__}", source=where)
    text = str(value)
    if not text or len(text) > MAX_ID_CHARS or not text.isprintable():
        raise ConfigError(
            f"id: expected 1 to {MAX_ID_CHARS} printable characters, got {text[:40]!r}", source=where
        )
    return text


def _prompt(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"prompt: expected a string, got {type(value).__name__}", source=where)
    if not value.strip():
        raise ConfigError("prompt: the prompt is empty", source=where)
    return value


def _model(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or not value.isprintable() or " " in value:
        raise ConfigError(f"model: expected a model id, got {str(value)[:60]!r}", source=where)
    return value.strip()


def _servers(value: Any, where: str) -> tuple[str, ...] | None:
    """A task's servers: names of configured servers or bundled ones, never a command line or URL.

    A tasks file is data; starting a process or reaching an address is for the command line.
    """
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError("servers: expected a list of server names", source=where)
    for spec in value:
        if not spec.strip() or any(char.isspace() for char in spec) or "://" in spec:
            raise ConfigError(
                f"servers: {spec[:60]!r} is not a server name; a task may name configured or bundled "
                "servers only (give command lines and URLs with -s)",
                source=where,
            )
    return tuple(value)
