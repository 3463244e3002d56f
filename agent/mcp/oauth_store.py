"""Where the OAuth tokens and client registration of each HTTP MCP server are kept.

One file per server URL, named by a hash of the URL: ``<user config dir>/oauth/<hash>.json``,
created with mode 0600 in a 0700 directory and replaced atomically on every change. It holds
the client registration (a dynamic one, or a client ID metadata document's URL), the tokens,
which client they were issued to, and when the access token expires. A pre-registered client
from the config is never written: it always comes from the config, and tokens issued to another
client are ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

if TYPE_CHECKING:
    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

__all__ = ["TokenFile", "token_file_path"]

_VERSION = 1


def token_file_path(store_dir: Path, server_url: str) -> Path:
    """The file holding the sign-in of the server at ``server_url`` (the URL itself is not in the name)."""
    digest = hashlib.sha256(server_url.encode("utf-8")).hexdigest()[:32]
    return store_dir / f"{digest}.json"


class TokenFile:
    """The SDK's ``TokenStorage`` for one server, kept in one private file.

    Args:
        path: the file (see :func:`token_file_path`); its directory is made on first write.
        server_url: the server's URL, recorded in the file so a person can tell files apart.
        preregistered: the client from the config, if any; it wins over a stored registration.
    """

    def __init__(
        self, path: Path, server_url: str, preregistered: OAuthClientInformationFull | None = None
    ) -> None:
        self.path = path
        self.server_url = server_url
        self.preregistered = preregistered
        self._data: dict[str, Any] | None = None

    async def get_tokens(self) -> OAuthToken | None:
        """The stored tokens, with ``expires_in`` counted from now; none if issued to another client."""
        from mcp.shared.auth import OAuthToken

        data = await self._load()
        tokens = data.get("tokens")
        client = await self.get_client_info()
        if not isinstance(tokens, dict) or client is None or data.get("token_client_id") != client.client_id:
            return None
        try:
            token = OAuthToken.model_validate(tokens)
        except ValueError:
            return None
        expires_at = data.get("expires_at")
        if isinstance(expires_at, int | float):
            token.expires_in = max(0, int(expires_at - time.time()))
        return token

    async def set_tokens(self, tokens: OAuthToken) -> None:
        """Store ``tokens`` (issued to the current client) and when the access token expires."""
        data = dict(await self._load())
        client = await self.get_client_info()
        data["tokens"] = tokens.model_dump(mode="json", exclude_none=True)
        data["token_client_id"] = client.client_id if client is not None else None
        data["expires_at"] = time.time() + tokens.expires_in if tokens.expires_in is not None else None
        await self._save(data)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        """The pre-registered client from the config, else the stored registration, if any."""
        from mcp.shared.auth import OAuthClientInformationFull

        if self.preregistered is not None:
            return self.preregistered
        client = (await self._load()).get("client")
        if not isinstance(client, dict):
            return None
        try:
            return OAuthClientInformationFull.model_validate(client)
        except ValueError:
            return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        """Store a registration the sign-in made (never the pre-registered client)."""
        if self.preregistered is not None and client_info.client_id == self.preregistered.client_id:
            return
        data = dict(await self._load())
        data["client"] = client_info.model_dump(mode="json", exclude_none=True)
        await self._save(data)

    async def forget(self) -> None:
        """Drop everything stored for this server."""
        self._data = {}
        await anyio.to_thread.run_sync(_remove, self.path)

    async def _load(self) -> dict[str, Any]:
        if self._data is None:
            self._data = await anyio.to_thread.run_sync(_read, self.path)
        return self._data

    async def _save(self, data: dict[str, Any]) -> None:
        data = {"version": _VERSION, "server_url": self.server_url, **data}
        await anyio.to_thread.run_sync(_write, self.path, data)
        self._data = data


def _read(path: Path) -> dict[str, Any]:
    """The file's content; empty when missing or unreadable (a broken file is replaced on write)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("version") == _VERSION else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    """Replace the file atomically; it is never readable by anyone but its owner, not even briefly."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
