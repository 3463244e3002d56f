"""``agent sessions list|show|export|rm``: the runs kept in the session store."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Literal

from agent.cli.common import run_sync
from agent.cli.exit_codes import EXIT_OK
from agent.cli.tables import format_cost, text_table
from agent.cli.terminal import json_safe
from agent.errors import ConfigError
from agent.sessions.store import SessionStore
from agent.text import one_line

__all__ = ["export", "list_sessions", "remove", "show"]


def _store() -> SessionStore:
    from agent.config.paths import user_data_dir

    return SessionStore(user_data_dir(os.environ))


def list_sessions(*, here: bool, limit: int, json_output: bool) -> int:
    """Sessions, newest first: id, when, model, runs, tokens, cost, status, title."""

    def body() -> int:
        store = _store()
        try:
            found = store.sessions(cwd=str(Path.cwd()) if here else None, limit=limit)
        finally:
            store.close()
        if json_output:
            sys.stdout.write(json_safe(json.dumps([s.as_json() for s in found], ensure_ascii=False)) + "\n")
            return EXIT_OK
        rows = [
            [
                s.id[:8],
                s.updated[:19].replace("T", " "),
                one_line(s.model, 40),
                str(s.runs),
                str(s.usage.get("total_tokens", 0)),
                format_cost(s.usage.get("cost")),
                s.status,
                one_line(s.title, 50),
            ]
            for s in found
        ]
        if rows:
            headers = ["ID", "UPDATED (UTC)", "MODEL", "RUNS", "TOKENS", "COST", "LAST", "FIRST PROMPT"]
            sys.stdout.write("\n".join(text_table(headers, rows, right={3, 4, 5})) + "\n")
        sys.stderr.write(f"info: {len(rows)} session{'' if len(rows) == 1 else 's'}\n")
        return EXIT_OK

    return run_sync(body)


def show(ref: str) -> int:
    """The session as a readable transcript (Markdown)."""
    return export(ref, fmt="md", output=None)


def export(ref: str, *, fmt: Literal["jsonl", "md"] | str, output: Path | None) -> int:
    """The session as JSON lines (the transcript's records) or Markdown, on stdout or to ``output``."""
    from agent.sessions.export import jsonl_records, markdown

    def body() -> int:
        if fmt not in ("jsonl", "md"):
            raise ConfigError(f"expected jsonl or md, got {fmt!r}", source="--format")
        store = _store()
        try:
            info = store.find(ref)
            if fmt == "md":
                text = markdown(store, info)
            else:
                lines = (
                    json.dumps(r, ensure_ascii=False, separators=(",", ":"))
                    for r in jsonl_records(store, info)
                )
                text = "".join(line + "\n" for line in lines)
        finally:
            store.close()
        if output is None:
            sys.stdout.write(json_safe(text) if fmt == "jsonl" else text)
        else:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot write {output}: {exc.strerror or exc}", source="--output") from exc
            sys.stderr.write(f"info: wrote session {info.id} to {output}\n")
        return EXIT_OK

    return run_sync(body)


def remove(refs: list[str]) -> int:
    """Delete sessions (each named by its id or the start of it)."""

    def body() -> int:
        store = _store()
        try:
            infos = [store.find(ref) for ref in refs]
            for info in infos:
                store.delete(info.id)
        finally:
            store.close()
        for info in infos:
            sys.stderr.write(f"info: removed session {info.id}\n")
        return EXIT_OK

    return run_sync(body)
