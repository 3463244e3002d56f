"""ScriptedOpenRouter: the script, the records and the lifecycle of the loopback server.

Every request is recorded; history violations and unexpected requests are recorded too, so a
test can assert that the runtime sent exactly what a strict provider accepts and consumed the
whole script. The HTTP side lives in :mod:`tests.loopback.handler`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

from tests.loopback import routing
from tests.loopback.embeddings import EmbeddingsService
from tests.loopback.generation import Generations
from tests.loopback.handler import API_PREFIX, HttpServer
from tests.loopback.history import check_request, continues
from tests.loopback.key import key_info
from tests.loopback.records import RecordedRequest, Route, Violation
from tests.loopback.request_schema import check_shape, rejection_message
from tests.loopback.steps import ErrorReply, Reply, Step, StreamFault

__all__ = ["ScriptedOpenRouter"]


class ScriptedOpenRouter:
    """An OpenRouter-shaped chat server on 127.0.0.1 that answers from a script of steps.

    ``steps`` serve any model; ``models`` gives some model ids their own queue (a model with its
    own queue never takes default steps). One step is consumed per ``POST /chat/completions``
    that passes the history checks. ``api_key``, when set, is required as the bearer token.

    ``behaviours`` gives model ids (or ``None``: any model) a step function that is never
    consumed: it answers whenever that model's queue is empty, for any number of requests (see
    :mod:`tests.loopback.simulated`). A model with a queue or a behaviour never takes the defaults.

    ``key`` is what ``GET /key`` answers about the calling key (the ``data`` object, see
    :func:`tests.loopback.key.key_info`; default: a key without a credit limit), or an error
    step to answer it with.

    ``GET /generation?id=`` answers for every reply the server sent (:attr:`generations`);
    ``generations_unknown_for`` makes each id answer 404 that many times first, as a fresh
    generation does on OpenRouter.

    A request with OpenRouter's ``models`` routing array (at most 3, else a 400 as OpenRouter
    answers) tries ``model`` and then each listed model in order, one step from each model's
    queue: an error step (an HTTP error before the first token) moves on to the next model,
    the last model's error is returned, and the model that answers is named in the response's
    ``model``. :attr:`routes` records what each such request tried.

    Every chat body is first checked as OpenRouter checks it (``strict_shapes``, see
    :mod:`tests.loopback.request_schema`): a body that fails is answered 400 and recorded as a
    violation. Model ids resolve as OpenRouter answers them (:mod:`tests.loopback.routing`):
    routing variants name the base model, ``@preset/NAME`` and ``MODEL@preset/NAME`` use
    ``presets`` (unknown: 404), ``~vendor/family-latest`` uses ``aliases`` or the newest catalog
    model of the family, ``openrouter/auto`` answers with ``auto_model`` (default: the first
    catalog model with tools). Only the response's ``model`` changes: steps still come from the
    queue of the id as requested. A catalog entry with ``endpoints`` is served only when the
    request's ``provider`` preferences leave one of them (else OpenRouter's 404 availability error).
    """

    def __init__(
        self,
        *steps: Step,
        models: Mapping[str, Sequence[Step]] | None = None,
        behaviours: Mapping[str | None, Callable[[dict[str, Any]], Step]] | None = None,
        catalog: Sequence[Mapping[str, Any]] = (),
        key: Mapping[str, Any] | ErrorReply | None = None,
        generations_unknown_for: int = 0,
        api_key: str | None = None,
        strict_history: bool = True,
        strict_shapes: bool = True,
        presets: Mapping[str, Mapping[str, Any]] | None = None,
        aliases: Mapping[str, str] | None = None,
        auto_model: str | None = None,
    ) -> None:
        self.catalog: list[Mapping[str, Any]] = list(catalog)
        self.presets: dict[str, Mapping[str, Any]] = dict(presets or {})
        self.aliases: dict[str, str] = dict(aliases or {})
        self.auto_model = auto_model
        self.strict_shapes = strict_shapes
        self.key: Mapping[str, Any] | ErrorReply = key if key is not None else key_info()
        self.generations = Generations(generations_unknown_for)
        """Answers ``GET /generation`` (see :mod:`tests.loopback.generation`)."""
        self.embeddings = EmbeddingsService()
        """Answers ``POST /embeddings`` (see :mod:`tests.loopback.embeddings`)."""
        self._behaviours: dict[str | None, Callable[[dict[str, Any]], Step]] = dict(behaviours or {})
        self.strict_history = strict_history
        self._api_key = api_key
        self._queues: dict[str | None, deque[Step]] = {None: deque(steps)}
        for model, model_steps in (models or {}).items():
            self._queues[model] = deque(model_steps)
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._violations: list[Violation] = []
        self._routes: list[Route] = []
        self._unrequired: list[int] = []
        self._failures: list[str] = []
        # accepted chat requests: (request number, messages, whether it sent tools)
        self._turns: list[tuple[int, list[Any], bool]] = []
        self._call_numbers = itertools.count(1)
        self._gen_numbers = itertools.count(1)
        self._closing = threading.Event()
        self._httpd: HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ScriptedOpenRouter:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve in a daemon thread."""
        self._httpd = HttpServer(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # how quickly close() is noticed
            name="loopback-openrouter",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving, wake delayed answers, cut open connections and wait for handler threads."""
        if self._httpd is None:
            return
        self._closing.set()
        self._httpd.shutdown()
        self._httpd.cut_connections()
        port = self._httpd.server_address[1]
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # Handler threads are daemons (server_close does not join them): wait for them here.
        deadline = time.monotonic() + 5
        for thread in threading.enumerate():
            if thread.name == f"loopback-openrouter:{port}":
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._httpd = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/v1``, the value for ``OPENROUTER_BASE_URL``."""
        if self._httpd is None:
            raise RuntimeError("the loopback server is not running; use it as a context manager")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{API_PREFIX}"

    # -- script ------------------------------------------------------------------------------

    def add(self, *steps: Step, model: str | None = None) -> None:
        """Append steps to ``model``'s queue (``None``: the default queue for any model)."""
        with self._lock:
            self._queues.setdefault(model, deque()).extend(steps)

    def remaining(self) -> dict[str | None, int]:
        """Unconsumed steps per queue, for queues that still have any."""
        with self._lock:
            return {model: len(queue) for model, queue in self._queues.items() if queue}

    # -- what happened -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_bodies(self) -> list[Any]:
        """The JSON bodies of every ``POST /chat/completions``, in order."""
        return [
            r.body for r in self.requests if r.method == "POST" and r.path == f"{API_PREFIX}/chat/completions"
        ]

    @property
    def routes(self) -> list[Route]:
        """How each request that sent a ``models`` array was routed, in order."""
        with self._lock:
            return list(self._routes)

    @property
    def provider_prefs(self) -> list[Any]:
        """The ``provider`` object of every chat body as sent (None when it had none), in order."""
        return [b.get("provider") if isinstance(b, dict) else None for b in self.chat_bodies]

    @property
    def unrequired(self) -> list[int]:
        """Requests that sent ``tools`` or ``response_format`` without ``provider.require_parameters``.

        OpenRouter accepts them (and may route to an endpoint that ignores those parameters), so
        they are not violations; a test asserts this is empty when the runtime should require them.
        """
        with self._lock:
            return list(self._unrequired)

    @property
    def violations(self) -> list[Violation]:
        """Requests rejected by the history checks."""
        with self._lock:
            return list(self._violations)

    @property
    def failures(self) -> list[str]:
        """Unexpected requests: script exhausted, unknown path, bad JSON, handler errors."""
        with self._lock:
            return list(self._failures)

    def assert_clean(self) -> None:
        """Fail unless every step was consumed and nothing unexpected or invalid was received."""
        problems = [f"unexpected: {f}" for f in self.failures]
        problems += [f"request #{v.request_index}: {v.message}" for v in self.violations]
        problems += [f"unconsumed: {n} step(s) for {m or 'any model'}" for m, n in self.remaining().items()]
        if problems:
            raise AssertionError("loopback OpenRouter:\n  " + "\n  ".join(problems))

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> None:
        """Block until ``count`` requests arrived (use from a thread); AssertionError on timeout."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(
                    f"expected {count} request(s) within {timeout}s, got {len(self._requests)}"
                )

    # -- used by the handler -----------------------------------------------------------------

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()
            return len(self._requests) - 1

    def _fail(self, message: str) -> None:
        with self._lock:
            self._failures.append(message)

    def _authorised(self, headers: Mapping[str, str]) -> str | None:
        """None when the key is fine; else OpenRouter's 401 message for a missing or wrong key."""
        if self._api_key is None:
            return None
        auth = headers.get("authorization", "")
        if not auth.strip().removeprefix("Bearer").strip():
            return "No cookie auth credentials found"
        return None if auth == f"Bearer {self._api_key}" else "User not found."

    def _admit(self, number: int, body: Any) -> ErrorReply | None:
        """Check the body as OpenRouter would, then the history as a strict provider would.

        Returns the 400 to answer (and records the violation), or None and remembers the turn.
        """
        if self.strict_shapes and (shape := check_shape(body)):
            with self._lock:
                self._violations.append(Violation(number, "; ".join(shape)))
            return ErrorReply(400, rejection_message(shape))
        violation = self._check_history(number, body)
        if violation is None:
            return None
        return ErrorReply(
            400, "Provider returned error", metadata={"raw": violation, "provider_name": "Loopback"}
        )

    def _check_history(self, number: int, body: Any) -> str | None:
        if not self.strict_history:
            return None
        problems = check_request(body)
        with self._lock:
            if not problems:
                messages, has_tools = body["messages"], bool(body.get("tools"))
                earlier = [t for t in self._turns if continues(t[1], messages)]
                if earlier and earlier[-1][2] and not has_tools:
                    problems.append(
                        f"tools: request #{earlier[-1][0]} of this conversation sent 'tools' but this "
                        "one does not; send them on every turn"
                    )
                else:
                    self._turns.append((number, messages, has_tools))
            if problems:
                self._violations.append(Violation(number, "; ".join(problems)))
                return "; ".join(problems)
        return None

    def _next_step(self, number: int, model: object) -> Step | None:
        with self._lock:
            own = isinstance(model, str) and (model in self._queues or model in self._behaviours)
            key = model if own and isinstance(model, str) else None
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
            if key in self._behaviours:
                return self._behaviours[key]
            self._failures.append(f"request #{number}: script exhausted: no step left for model {model!r}")
            return None

    def _effective(self, number: int, body: dict[str, Any]) -> dict[str, Any] | ErrorReply:
        """The request with its preset applied; notes one that does not require its parameters."""
        effective = routing.with_preset(body, self.presets)
        if not isinstance(effective, ErrorReply) and routing.needs_required_parameters(effective):
            with self._lock:
                self._unrequired.append(number)
        return effective

    def _answering(self, requested: object) -> str:
        """The model id the response names for a request of ``requested``."""
        if not isinstance(requested, str) or not requested:
            return "openrouter/auto"  # no model: the account's default (kept as before)
        return routing.answering_model(
            requested,
            presets=self.presets,
            aliases=self.aliases,
            catalog=self.catalog,
            auto_model=self.auto_model,
        )

    def _route(self, route: Route) -> None:
        with self._lock:
            self._routes.append(route)

    def _call_ids(self, step: Reply | StreamFault) -> list[str | None]:
        reply = step if isinstance(step, Reply) else step.partial
        with self._lock:
            return [
                None if c.omit_id else c.id if c.id is not None else f"call_{next(self._call_numbers)}"
                for c in reply.tool_calls
            ]

    def _gen_id(self) -> str:
        with self._lock:
            return f"gen-loopback-{next(self._gen_numbers)}"
