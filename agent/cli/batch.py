"""``agent batch run|resume|status|list|cancel|retry|worker``: durable batches of tasks.

The commands parse, call :mod:`agent.batch.batch`, and render: a live progress line on stderr at
a terminal, a summary at the end (``--json``: one object on stdout). Exit codes: 0 every task
completed; 1 some failed (or were cancelled); 2 bad input (a tasks line, a flag, the database);
3 the budget (``--max-cost``) stopped tasks; 130 interrupted (carry on with ``agent batch resume``).
The command group imports nothing heavy until a command runs.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from agent.cli.options import RUN_OPTIONS, command
from agent.cli.options import examples as _examples
from agent.cli.options import own as _own
from agent.options import AgentOptions, option_default

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from agent.batch.batch import BatchStatus, WorkerProgress
    from agent.batch.follow import Progress, ProgressSink

__all__ = ["BATCH_OPTIONS", "batch_app"]


batch_app = typer.Typer(
    help="Durable batches: run a file of tasks (each on one or more models), carry a batch on after "
    "a crash, and run its tasks on several machines (see docs/scale.md)."
    + _examples(
        "agent batch run tasks.jsonl -o results.jsonl -s fs:./docs --concurrency 20",
        "agent batch resume b3f2",
        "agent batch worker --database-url postgresql://agent@db/agent",
    ),
    no_args_is_help=True,
)

_NOT_FOR_BATCH = (
    "max_cost",  # the batch's own --max-cost (the whole batch's budget)
    "no_session",  # batch tasks are not kept as sessions
    "continue_session",
    "resume",
    "transcript",
    "record",
    "replay",
    "replay_tools",
)
BATCH_OPTIONS = tuple(name for name in RUN_OPTIONS if name not in _NOT_FOR_BATCH)
"""``agent batch run`` takes every ``agent run`` option but those about one run's session and files."""


_WORKERS_HELP = (
    "Processes that run the tasks on this machine: this one and N - 1 local workers "
    "(each takes its share of --concurrency; one per core uses them all)."
)
_WORKERS = Annotated[int, typer.Option("--workers", min=1, metavar="N", help=_WORKERS_HELP)]
_DATABASE_URL = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        metavar="URL",
        help="The batch database: sqlite:///PATH or postgresql://USER@HOST/DB (default: "
        "$AGENT_DATABASE_URL, else an SQLite file in the user data directory).",
    ),
]
_DATABASE = _own("database_url", _DATABASE_URL, None)


def _run(values: dict[str, Any]) -> int:
    from agent.cli.common import run_command
    from agent.cli.exit_codes import EXIT_INTERRUPTED

    view = _View(json_output=bool(values.get("json_output")))
    code = run_command(lambda: _run_main(values, view), verbose=bool(values.get("verbose")))
    if code == EXIT_INTERRUPTED and view.batch_id:
        sys.stderr.write(f"carry it on with: agent batch resume {view.batch_id}\n")
    return code


async def _run_main(values: dict[str, Any], view: _View) -> int:
    from agent.batch.batch import BatchSpec, run_batch
    from agent.batch.plain import run_plain
    from agent.cli.options import split_values
    from agent.cli.trust import settle_project_trust
    from agent.errors import ConfigError

    agent_values, output_values, own = split_values(values)
    settle_project_trust(interactive=False)
    cwd = Path.cwd()
    options = _given_options(agent_values, cwd)
    models = [m.strip() for item in own.get("models") or [] for m in str(item).split(",") if m.strip()]
    if models and options.get("model"):
        raise ConfigError("give -m/--model or --models, not both", source="--models")
    spec = BatchSpec(
        tasks=str((cwd / own["tasks"]).resolve()),
        results=str((cwd / own["output"]).resolve()),
        models=models,
        options=options,
        concurrency=int(own["concurrency"]),
        rpm=own.get("rpm"),
        max_cost=own.get("batch_max_cost"),
    )
    workers = int(own.get("workers") or 1)
    if not own.get("durable", True):
        if workers > 1:
            raise ConfigError("local workers run durable batches only: drop --no-durable", source="--workers")
        progress = await run_plain(spec, env=os.environ, cwd=cwd, on_progress=view.progress)
    else:
        progress = await run_batch(
            spec,
            database=own.get("database_url"),
            env=os.environ,
            cwd=cwd,
            on_progress=view.progress,
            on_start=view.started,
            verbose=bool(output_values.get("verbose")),
            workers=workers,
        )
    return view.summary(progress)


def _given_options(values: dict[str, Any], cwd: Path) -> dict[str, Any]:
    """The agent options given (defaults left out), checked, paths made absolute, as JSON values."""
    from agent.options import parse_options

    given = {k: v for k, v in values.items() if v != option_default(AgentOptions, k)}
    parse_options(given, as_flags=True)  # a wrong flag fails here, once, not in every task
    given["no_session"] = True
    for name in ("config", "mcp_config"):
        if given.get(name) is not None:
            given[name] = str((cwd / Path(given[name])).resolve())
    checked: dict[str, Any] = json.loads(json.dumps(given, default=str))
    return checked


class _View:
    """Renders a batch: a live line at a terminal (stderr), the summary at the end."""

    def __init__(self, *, json_output: bool) -> None:
        self.json_output = json_output
        self.live = sys.stderr.isatty()
        self.batch_id = ""
        self.last = 0.0
        self.raw = getattr(sys.stderr, "raw", sys.stderr)

    def started(self, batch_id: str, created: bool) -> None:
        self.batch_id = batch_id
        word = "batch" if created else "carrying on batch"
        sys.stderr.write(f"{word} {batch_id} (resume with: agent batch resume {batch_id})\n")
        sys.stderr.flush()

    def progress(self, progress: Progress) -> None:
        if not self.live:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and progress.finished < progress.total:
            return
        self.last = now
        self.raw.write("\r\x1b[2K" + progress_line(progress))
        self.raw.flush()

    def summary(self, progress: Progress) -> int:
        if self.live:
            self.raw.write("\r\x1b[2K")
            self.raw.flush()
        code = progress.exit_code()
        if self.json_output:
            sys.stdout.write(json.dumps(progress.as_json()) + "\n")
        else:
            sys.stdout.write(summary_line(progress) + "\n")
        sys.stdout.flush()
        return code


def progress_line(progress: Progress) -> str:
    """``b1f…: 120/1000 done · 3 failed · 50 running · $0.1234 · 9.8/s · ETA 1m30s``."""
    from agent.cli.tables import format_cost

    parts = [f"{progress.batch_id}: {progress.finished}/{progress.total} done"]
    if progress.failed:
        parts.append(f"{progress.failed} failed")
    parts.append(f"{progress.running} running")
    parts.append(format_cost(progress.cost))
    parts.append(f"{progress.rate():.1f}/s")
    eta = progress.eta()
    parts.append(f"ETA {_duration(eta)}" if eta is not None else "ETA -")
    return " · ".join(parts)


def summary_line(progress: Progress) -> str:
    """The human summary of a finished (or stopped) batch."""
    from agent.cli.tables import format_cost

    parts = [f"batch {progress.batch_id}: {progress.completed} of {progress.total} completed"]
    for count, word in (
        (progress.failed, "failed"),
        (progress.skipped, "not started (budget spent)"),
        (progress.cancelled, "cancelled"),
    ):
        if count:
            parts.append(f"{count} {word}")
    parts.append(format_cost(progress.cost))
    elapsed = time.monotonic() - progress.started
    parts.append(_duration(elapsed))
    parts.append(f"results: {progress.results}")
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


command(
    batch_app,
    "run",
    _run,
    help="Run every task of TASKS (JSON lines) durably, writing one result line per task to -o RESULTS.\n\n"
    'A line is {"id", "prompt", "model"?, "servers"?, "metadata"?} or a JSON string (the prompt). '
    "The agent options are every task's defaults. Running the same command again carries the "
    "batch on: finished tasks are not run again. Exit 0 every task completed, 1 some failed, "
    "2 bad input, 3 the budget stopped it."
    + _examples(
        "agent batch run tasks.jsonl -o results.jsonl -s fs:./docs -m openai/gpt-4o-mini",
        "agent batch run tasks.jsonl -o out.jsonl --models a/one,b/two --rpm 120 --max-cost 5",
    ),
    agent_options=BATCH_OPTIONS,
    output_options=("json_output", "verbose"),
    own=[
        _own("tasks", Annotated[Path, typer.Argument(metavar="TASKS", help="The tasks file (JSON lines).")]),
        _own(
            "output",
            Annotated[
                Path, typer.Option("-o", "--output", metavar="RESULTS", help="The results file (JSON lines).")
            ],
        ),
        _own(
            "concurrency",
            Annotated[
                int, typer.Option("--concurrency", min=1, help="Tasks run at once (across every worker).")
            ],
            8,
        ),
        _own(
            "rpm",
            Annotated[
                int | None,
                typer.Option(
                    "--rpm", min=1, metavar="N", help="Start at most N tasks a minute on each model."
                ),
            ],
            None,
        ),
        _own(
            "batch_max_cost",
            Annotated[
                float | None,
                typer.Option(
                    "--max-cost",
                    metavar="USD",
                    min=0.000001,
                    help="The whole batch's budget: no task starts once spent + reserved would cross it.",
                ),
            ],
            None,
        ),
        _own(
            "models",
            Annotated[
                list[str] | None,
                typer.Option("--models", metavar="A,B,C", help="Run every task on each of these models."),
            ],
            None,
        ),
        _DATABASE,
        _own("workers", _WORKERS, 1),
        _own(
            "durable",
            Annotated[
                bool,
                typer.Option(
                    "--durable/--no-durable",
                    help="Checkpoint every model request and tool call (default), or run in a plain "
                    "in-process pool that keeps nothing but the results file.",
                ),
            ],
            True,
        ),
    ],
    defaults={"stream": False},
)


_ID = Annotated[str, typer.Argument(metavar="ID", help="A batch id, or the start of one.")]
_OUTPUT = Annotated[
    Path | None,
    typer.Option("-o", "--output", metavar="RESULTS", help="Write results here instead of the batch's file."),
]
_JSON_FLAG = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
_VERBOSE_FLAG = Annotated[bool, typer.Option("-v", "--verbose", help="Show details (and DBOS's warnings).")]


@batch_app.command(
    "resume",
    help="Carry a batch on after a crash, kill or cancel: finished tasks are not run again."
    + _examples("agent batch resume b3f2a9c1e0d4", "agent batch resume b3f2 -o elsewhere.jsonl"),
)
def resume(
    batch: _ID,
    output: _OUTPUT = None,
    database_url: _DATABASE_URL = None,
    workers: _WORKERS = 1,
    json_output: _JSON_FLAG = False,
    verbose: _VERBOSE_FLAG = False,
) -> None:
    """Carry a batch on after a crash, kill or cancel."""

    async def carry_on(on_progress: ProgressSink) -> Progress:
        from agent.batch.batch import resume_batch

        return await resume_batch(
            batch,
            database=database_url,
            env=os.environ,
            cwd=Path.cwd(),
            results=output,
            on_progress=on_progress,
            verbose=verbose,
            workers=workers,
        )

    _follow(batch, carry_on, json_output=json_output, verbose=verbose)


def _follow(
    batch: str,
    carry_on: Callable[[ProgressSink], Awaitable[Progress]],
    *,
    json_output: bool,
    verbose: bool,
) -> None:
    """Run a command that carries a stored batch on: its live progress, then its summary and exit code."""
    from agent.cli.common import run_command

    async def main() -> int:
        view = _View(json_output=json_output)
        view.batch_id = batch
        return view.summary(await carry_on(view.progress))

    raise typer.Exit(run_command(main, verbose=verbose))


@batch_app.command(
    "retry",
    help="Run the failed tasks of a batch again (each as a new attempt, with a line of its own)."
    + _examples("agent batch retry b3f2 --failed", "agent batch retry b3f2 --failed --max-cost 10"),
)
def retry(
    batch: _ID,
    failed: Annotated[
        bool,
        typer.Option("--failed", help="Run again the tasks that failed or that the budget did not start."),
    ] = False,
    max_cost: Annotated[
        float | None,
        typer.Option("--max-cost", metavar="USD", min=0.000001, help="A new budget for the whole batch."),
    ] = None,
    output: _OUTPUT = None,
    database_url: _DATABASE_URL = None,
    workers: _WORKERS = 1,
    json_output: _JSON_FLAG = False,
    verbose: _VERBOSE_FLAG = False,
) -> None:
    """Run the failed tasks of a batch again."""
    if not failed:
        sys.stderr.write("error: agent batch retry: say what to retry: --failed\n")
        raise typer.Exit(2)

    async def carry_on(on_progress: ProgressSink) -> Progress:
        from agent.batch.batch import retry_batch

        return await retry_batch(
            batch,
            database=database_url,
            env=os.environ,
            cwd=Path.cwd(),
            results=output,
            max_cost=max_cost,
            on_progress=on_progress,
            verbose=verbose,
            workers=workers,
        )

    _follow(batch, carry_on, json_output=json_output, verbose=verbose)


@batch_app.command(
    "status",
    help="Where a batch stands: tasks queued, running, completed, failed; its cost."
    + _examples("agent batch status b3f2", "agent batch status b3f2 --json"),
)
def status(batch: _ID, database_url: _DATABASE_URL = None, json_output: _JSON_FLAG = False) -> None:
    """Where a batch stands."""
    from agent.cli.common import run_command

    async def main() -> int:
        from agent.batch.batch import status_of

        found = await status_of(batch, database=database_url, env=os.environ, cwd=Path.cwd())
        if json_output:
            sys.stdout.write(json.dumps(found.as_json()) + "\n")
        else:
            sys.stdout.write("\n".join(_status_lines(found)) + "\n")
        return 0

    raise typer.Exit(run_command(main))


@batch_app.command(
    "list",
    help="The batches of the database, newest first."
    + _examples("agent batch list", "agent batch list --json --database-url postgresql://agent@db/agent"),
)
def list_(
    database_url: _DATABASE_URL = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Show at most N batches.")] = 20,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON list on stdout.")] = False,
) -> None:
    """The batches of the database, newest first."""
    from agent.cli.common import run_command

    async def main() -> int:
        from agent.batch.batch import list_batches
        from agent.cli.tables import format_cost, text_table

        found = await list_batches(database=database_url, env=os.environ, cwd=Path.cwd(), limit=limit)
        if json_output:
            sys.stdout.write(json.dumps([b.as_json() for b in found]) + "\n")
            return 0
        rows = [
            [
                b.id,
                b.as_json()["created_at"].replace("T", " "),
                b.state,
                str(b.total),
                str(b.completed),
                str(b.failed),
                str(b.running + b.queued),
                format_cost(b.cost),
                Path(str(b.spec.get("tasks", ""))).name,
            ]
            for b in found
        ]
        if rows:
            headers = ["ID", "CREATED", "STATE", "TASKS", "DONE", "FAILED", "LEFT", "COST", "FILE"]
            sys.stdout.write("\n".join(text_table(headers, rows, right={3, 4, 5, 6, 7})) + "\n")
        sys.stderr.write(f"info: {len(rows)} batch{'' if len(rows) == 1 else 'es'}\n")
        return 0

    raise typer.Exit(run_command(main))


@batch_app.command(
    "cancel",
    help="Cancel the tasks of a batch not finished yet (resume carries them on from their last step)."
    + _examples("agent batch cancel b3f2"),
)
def cancel(batch: _ID, database_url: _DATABASE_URL = None) -> None:
    """Cancel the tasks of a batch not finished yet."""
    from agent.cli.common import run_command

    async def main() -> int:
        from agent.batch.batch import cancel_batch

        batch_id, count = await cancel_batch(batch, database=database_url, env=os.environ, cwd=Path.cwd())
        sys.stderr.write(f"batch {batch_id}: {count} task{'' if count == 1 else 's'} cancelled\n")
        return 0

    raise typer.Exit(run_command(main))


@batch_app.command(
    "worker",
    help="Take tasks of every batch of the database until stopped (Ctrl-C, SIGTERM); run one on each "
    "machine.\n\nThe worker needs the same servers and config as the batches (their tasks carry their "
    "options, never a key: the worker's own environment and config supply it). See docs/scale.md."
    + _examples(
        "agent batch worker --database-url postgresql://agent@db.internal/agent",
        "AGENT_DATABASE_URL=postgresql://agent@db.internal/agent agent batch worker",
        "agent batch worker --batch b3f2 --database-url postgresql://agent@db.internal/agent",
    ),
)
def worker(
    database_url: _DATABASE_URL = None,
    batch: Annotated[
        str | None,
        typer.Option(
            "--batch",
            metavar="ID",
            help="Take tasks of this batch only, and stop once it is no longer running.",
        ),
    ] = None,
    parent: Annotated[int | None, typer.Option("--parent", hidden=True)] = None,
    verbose: _VERBOSE_FLAG = False,
) -> None:
    """Take tasks of every batch of the database until stopped."""
    from agent.cli.common import run_command

    live = sys.stderr.isatty()
    raw = getattr(sys.stderr, "raw", sys.stderr)
    announced: list[str] = []

    def show(progress: WorkerProgress) -> None:
        if not announced:
            announced.append(progress.executor_id)
            sys.stderr.write(f"worker {progress.executor_id}: taking tasks (Ctrl-C stops)\n")
            sys.stderr.flush()
        if live:
            raw.write(
                f"\r\x1b[2Kworker: {progress.completed} completed · {progress.failed} failed · "
                f"{progress.running} running"
            )
            raw.flush()

    def stop(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt  # as Ctrl-C: the tasks running here go back to the queue

    signal.signal(signal.SIGTERM, stop)

    async def main() -> int:
        from agent.batch.batch import run_worker

        await run_worker(
            database=database_url,
            env=os.environ,
            cwd=Path.cwd(),
            on_progress=show,
            verbose=verbose,
            batch=batch,
            parent=parent,
        )
        return 0

    raise typer.Exit(run_command(main, verbose=verbose))


def _status_lines(found: BatchStatus) -> list[str]:
    from agent.cli.tables import format_cost

    spec = found.spec
    return [
        f"batch {found.id}: {found.state}",
        f"  tasks:     {spec.get('tasks')}",
        f"  results:   {spec.get('results')}",
        f"  models:    {', '.join(spec.get('models') or []) or '(the default model)'}",
        f"  total {found.total} · completed {found.completed} · failed {found.failed} · "
        f"running {found.running} · queued {found.queued} · not started {found.skipped} · "
        f"cancelled {found.cancelled}",
        f"  cost:      {format_cost(found.cost)}",
        *(
            [f"  ran on:    {', '.join(f'{name} ({count})' for name, count in found.executors.items())}"]
            if found.executors
            else []
        ),
    ]
