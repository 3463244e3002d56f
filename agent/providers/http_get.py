"""One GET of a JSON document from the provider (the model catalog, the key information).

Every failure is a :class:`~agent.errors.ProviderError` naming what was fetched and from where:
a connection failure, an error status (the provider's own error class, so a refused key still
exits 4, reworded to say what was being fetched; a 404 becomes ``not_found``), a body over the
size limit, or one that is not JSON.
"""

from __future__ import annotations

from typing import Any

import httpx

from agent import safe_json
from agent.errors import BadRequestError, BadResponseError, ModelNotFoundError, ProviderError
from agent.providers.http_body import read_body
from agent.providers.http_errors import connection_error, error_from_response

__all__ = ["get_json"]


async def get_json(
    client: httpx.AsyncClient, url: str, *, api_key: str | None, what: str, limit: int, not_found: str
) -> Any:
    """``GET url`` and its JSON body.

    Args:
        client: the agent's pooled client.
        url: the document's address.
        api_key: sent as a bearer token when given; never shown in an error.
        what: the document, in an error (``the model catalog``).
        limit: the most bytes read.
        not_found: the whole message of a 404 (the endpoint has no such document).

    Raises:
        agent.errors.ProviderError: the request failed, or the body is too large or not JSON.
    """
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    try:
        async with client.stream("GET", url, headers=headers) as response:
            content, whole = await read_body(response, limit)
    except httpx.HTTPError as exc:
        raise connection_error(exc, url=url, model=None, secret=api_key) from exc
    if response.status_code >= 400:
        error = error_from_response(
            response.status_code, response.headers, content, model=None, secret=api_key
        )
        raise _reworded(error, f"{what} at {url} could not be fetched", not_found)
    if not whole:
        raise BadResponseError(f"{what} at {url} is larger than {limit >> 20} MiB")
    try:
        return safe_json.loads(content)
    except ValueError:
        raise BadResponseError(f"{what} at {url} is not JSON") from None


def _reworded(error: ProviderError, head: str, not_found: str) -> ProviderError:
    """The provider's own error for the status, saying what was being fetched.

    A 404 means the endpoint has no such document, not that a model is unknown.
    """
    if isinstance(error, ModelNotFoundError):
        return BadRequestError(not_found, status=404)
    return error.reworded(f"{head}: {error}")
