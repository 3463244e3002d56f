"""One pooled connection serves every request of a run, streamed or not."""

from __future__ import annotations

import pytest

from agent.messages import RequestSettings, UserMessage
from agent.providers import OpenAICompatibleModel, create_http_client
from tests.loopback import ScriptedOpenRouter, reply

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("stream", [True, False])
async def test_consecutive_requests_reuse_one_kept_alive_connection(stream: bool) -> None:
    with ScriptedOpenRouter(*(reply(f"answer {n}") for n in range(3))) as server:
        async with create_http_client(30) as http:
            model = OpenAICompatibleModel(http, model="m/x", base_url=server.base_url, api_key="k")
            for n in range(3):
                response = await model.complete(
                    [UserMessage(content="hi")], [], RequestSettings(stream=stream)
                )
                assert response.message.content == f"answer {n}"
    ports = {request.client_port for request in server.requests}
    assert len(ports) == 1
