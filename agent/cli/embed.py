"""``agent embed``: texts from arguments, files or stdin to vectors, through :meth:`Agent.embed`.

Inputs, in order: each TEXT argument, then each ``-f FILE`` (``-`` is stdin); with neither,
stdin when it is not a terminal. A file is one text, or one text per non-blank line with
``--lines``. Output: a one-line summary by default (count, dimensions, model, tokens, cost);
``--json`` one object with every vector; ``--jsonl`` one ``{"index", "embedding"}`` line per
input, with the summary on stderr.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.common import run_command
from agent.cli.exit_codes import EXIT_OK
from agent.cli.options import split_values
from agent.cli.terminal import clean, json_safe
from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.providers.embeddings import Embeddings

__all__ = ["EmbedArgs", "embeddings_json", "execute", "gather_texts", "summary"]


@dataclass
class EmbedArgs:
    """Everything ``agent embed`` was asked to do."""

    model: str
    texts: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    lines: bool = False
    dimensions: int | None = None
    batch_size: int = 64
    concurrency: int = 4
    jsonl: bool = False
    provider: str | None = None
    config: Path | None = None
    json_output: bool = False
    verbose: bool = False


def gather_texts(args: EmbedArgs, stdin: Any) -> list[str]:
    """The texts to embed, in order: arguments, then files (stdin for ``-``, or when nothing is given).

    Raises:
        ConfigError: nothing to embed, an empty text or file, or a file that cannot be read.
    """
    texts: list[str] = []
    for number, text in enumerate(args.texts, 1):
        if not text.strip():
            raise ConfigError(f"TEXT #{number} is empty")
        texts.append(text)
    sources = list(args.files)
    implicit = not texts and not sources
    if implicit:
        if stdin.isatty():
            raise ConfigError("nothing to embed: give TEXT, -f FILE, or pipe text on stdin")
        sources = ["-"]
    if sources.count("-") > 1:
        raise ConfigError("stdin ('-') can be read once", source="--file")
    for source in sources:
        content = _read(source, stdin)
        name = "stdin" if source == "-" else source
        if args.lines:
            texts.extend(line for line in content.splitlines() if line.strip())
        elif content.strip():
            texts.append(content)
        else:
            raise ConfigError(f"{name} is empty", source=None if implicit else "--file")
    if not texts:
        raise ConfigError("nothing to embed: every line read is blank", source="--lines")
    return texts


def _read(source: str, stdin: Any) -> str:
    if source == "-":
        return str(stdin.read())
    try:
        return Path(source).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{source} is not UTF-8 text", source="--file") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {source}: {exc.strerror or exc}", source="--file") from None


def embeddings_json(result: Embeddings) -> dict[str, Any]:
    """The ``--json`` object: model, dimensions, ``data`` (index and embedding), usage with cost."""
    return {
        "model": result.model,
        "dimensions": result.dimensions,
        "data": [{"index": i, "embedding": vector} for i, vector in enumerate(result.vectors)],
        "usage": {
            "prompt_tokens": result.usage.prompt_tokens,
            "total_tokens": result.usage.total_tokens,
            "cost": result.usage.cost,
        },
    }


def summary(result: Embeddings) -> str:
    """One line: how many vectors, their length, the model, tokens, cost and requests."""
    count = len(result.vectors)
    requests = f"{result.requests} request{'s' if result.requests != 1 else ''}"
    return (
        f"{count} embedding{'s' if count != 1 else ''} of {result.dimensions} dimensions "
        f"from {clean(result.model)}: {result.usage.prompt_tokens:,} tokens, "
        f"cost {_usd(result.usage.cost)}, {requests}"
    )


def _usd(cost: float | None) -> str:
    """``$0.00000008``: embeddings cost fractions of a cent, so no rounding to cents."""
    if cost is None:
        return "unknown"
    return "$" + (f"{cost:.10f}".rstrip("0").rstrip(".") or "0")


def execute(values: dict[str, Any]) -> int:
    """Embed the inputs as the CLI does and return the exit code."""
    agent_values, output, own = split_values(values)
    own["texts"], own["files"] = own.get("texts") or [], own.get("files") or []
    args = EmbedArgs(**agent_values, **output, **own)
    return run_command(lambda: _main(args), verbose=args.verbose)


async def _main(args: EmbedArgs) -> int:
    from agent.cli.trust import settle_project_trust
    from agent.core.agent import Agent

    if args.json_output and args.jsonl:
        raise ConfigError("give one of --json and --jsonl", source="--jsonl")
    texts = gather_texts(args, sys.stdin)
    settle_project_trust(interactive=not (args.json_output or args.jsonl))
    agent = Agent(provider=args.provider, config=args.config)
    result = await agent.embed(
        texts,
        model=args.model,
        dimensions=args.dimensions,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
    )
    if args.json_output:
        sys.stdout.write(json_safe(json.dumps(embeddings_json(result), ensure_ascii=False)) + "\n")
    elif args.jsonl:
        sys.stdout.writelines(
            json.dumps({"index": i, "embedding": vector}) + "\n" for i, vector in enumerate(result.vectors)
        )
        sys.stderr.write(summary(result) + "\n")
    else:
        sys.stdout.write(summary(result) + "\n")
    sys.stdout.flush()
    return EXIT_OK
