"""The JSON Schema of the event stream (``agent run --events``, ``Agent.events``).

``python -m agent.events_schema`` prints it; ``docs/events.schema.json`` is that output, and a
test keeps the two equal.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

__all__ = ["event_schema"]

SCHEMA_ID = "https://github.com/agent-runtime/agent/docs/events.schema.json"


def event_schema() -> dict[str, Any]:
    """The schema every event line validates against: one of the event objects, by ``type``."""
    from pydantic import Field, TypeAdapter

    from agent.events import SCHEMA_VERSION, Event

    schema = TypeAdapter(Annotated[Event, Field(discriminator="type")]).json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": f"agent event (schema_version {SCHEMA_VERSION})",
        "description": "One line of `agent run --events`: an object whose `type` says which event it is.",
        **schema,
    }


def main() -> None:
    print(json.dumps(event_schema(), indent=2, ensure_ascii=False, sort_keys=False))


if __name__ == "__main__":
    main()
