from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.models.capabilities import (
    ALL_TOOL_CHOICES,
    CapabilityFacts,
    CapabilityLayer,
    ModelCapabilities,
    resolve,
)
from agent.models.probe_store import NO_TOOL_ENDPOINTS_NOTE, PROBES_FILE_NAME, ProbeRecord, ProbeStore

OPENROUTER = "https://openrouter.ai/api/v1"
LOCAL = "http://127.0.0.1:8080/v1"
T0 = datetime(2026, 4, 5, 6, 7, 8, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_a_recorded_no_tools_fact_makes_later_runs_use_the_text_protocol(tmp_path: Path) -> None:
    ProbeStore(tmp_path / PROBES_FILE_NAME, clock=Clock()).record_no_native_tools(OPENROUTER, "acme/m:free")
    probe = ProbeStore(tmp_path / PROBES_FILE_NAME).get(OPENROUTER, "acme/m:free")
    assert probe == ProbeRecord(
        facts=CapabilityFacts(native_tools=False), probed_at=T0, note=NO_TOOL_ENDPOINTS_NOTE
    )
    assert resolve("acme/m:free", above=[probe.layer()]) == ModelCapabilities(
        model="acme/m:free",
        native_tools=False,
        tool_choice=ALL_TOOL_CHOICES,
        parallel_tool_calls=True,
        tool_schema_profile="full",
        free=True,
        sources={
            "native_tools": "probe 2026-04-05: no endpoint supports tool use (404)",
            "tool_choice": "defaults",
            "parallel_tool_calls": "defaults",
            "tool_schema_profile": "defaults",
            "free": "model id",
        },
    )
    assert resolve("acme/m:free", above=[probe.layer()]).tool_protocol == "text"


def test_records_are_kept_per_endpoint_and_model(tmp_path: Path) -> None:
    probes = ProbeStore(tmp_path / PROBES_FILE_NAME, clock=Clock())
    probes.record_no_native_tools(OPENROUTER, "acme/m")
    assert probes.get(LOCAL, "acme/m") is None
    assert probes.get(OPENROUTER, "acme/other") is None
    assert probes.get(OPENROUTER + "/", "acme/m") is not None


def test_a_new_record_adds_its_facts_over_the_old_ones(tmp_path: Path) -> None:
    clock = Clock()
    probes = ProbeStore(tmp_path / PROBES_FILE_NAME, clock=clock)
    probes.record(
        OPENROUTER, "acme/m", CapabilityFacts(native_tools=True, parallel_tool_calls=True), note="probe run"
    )
    clock.now = T0 + timedelta(days=1)
    record = probes.record(
        OPENROUTER, "acme/m", CapabilityFacts(parallel_tool_calls=False, prompt_price=Decimal("0.000001"))
    )
    expected = ProbeRecord(
        facts=CapabilityFacts(native_tools=True, parallel_tool_calls=False, prompt_price=Decimal("0.000001")),
        probed_at=T0 + timedelta(days=1),
        note="probe run",
    )
    assert record == expected
    assert probes.get(OPENROUTER, "acme/m") == expected
    assert expected.layer() == CapabilityLayer("probe 2026-04-06: probe run", expected.facts)


def test_forget_drops_one_record(tmp_path: Path) -> None:
    probes = ProbeStore(tmp_path / PROBES_FILE_NAME, clock=Clock())
    probes.record_no_native_tools(OPENROUTER, "acme/a")
    probes.record_no_native_tools(OPENROUTER, "acme/b")
    assert probes.forget(OPENROUTER, "acme/a") is True
    assert probes.forget(OPENROUTER, "acme/a") is False
    assert probes.forget(LOCAL, "acme/b") is False
    assert (probes.get(OPENROUTER, "acme/a"), probes.get(OPENROUTER, "acme/b") is not None) == (None, True)


def test_the_store_file_holds_hashed_endpoints_and_json_facts(tmp_path: Path) -> None:
    path = tmp_path / "nested" / PROBES_FILE_NAME
    ProbeStore(path, clock=Clock()).record(
        "https://user:secret@proxy.test/v1", "acme/m", CapabilityFacts(prompt_price=Decimal("0.0000005"))
    )
    document = json.loads(path.read_text())
    (key,) = document["endpoints"]
    assert "secret" not in path.read_text()
    assert document == {
        "format": 2,
        "endpoints": {
            key: {"acme/m": {"facts": {"prompt_price": "5E-7"}, "probed_at": "2026-04-05T06:07:08Z"}}
        },
    }


@pytest.mark.parametrize(
    "content",
    [
        "{broken",
        "[]",
        '{"format": 3, "endpoints": {}}',
        '{"format": 1, "endpoints": []}',
    ],
    ids=["broken json", "wrong shape", "unknown format", "endpoints not a mapping"],
)
def test_an_unreadable_store_is_empty_and_the_next_write_replaces_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / PROBES_FILE_NAME
    path.write_text(content)
    probes = ProbeStore(path, clock=Clock())
    assert probes.get(OPENROUTER, "acme/m") is None
    probes.record_no_native_tools(OPENROUTER, "acme/m")
    assert probes.get(OPENROUTER, "acme/m") is not None


def test_an_unreadable_record_is_skipped_and_others_are_kept(tmp_path: Path) -> None:
    path = tmp_path / PROBES_FILE_NAME
    probes = ProbeStore(path, clock=Clock())
    probes.record_no_native_tools(OPENROUTER, "acme/good")
    document = json.loads(path.read_text())
    (models,) = document["endpoints"].values()
    models["acme/bad"] = {"facts": {"native_tools": "perhaps"}, "probed_at": "x"}
    path.write_text(json.dumps(document))
    assert probes.get(OPENROUTER, "acme/bad") is None
    assert probes.get(OPENROUTER, "acme/good") is not None


def test_a_store_that_cannot_be_written_is_a_one_line_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory should be")
    probes = ProbeStore.in_cache_dir(blocker)
    with pytest.raises(ConfigError) as caught:
        probes.record_no_native_tools(OPENROUTER, "acme/m")
    reason = "cannot write probe results: a file is in the way of its directory"
    assert str(caught.value) == f"{blocker / PROBES_FILE_NAME}: {reason}"
