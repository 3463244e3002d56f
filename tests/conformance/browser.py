"""A stand-in for the user's browser: opens an authorization URL and approves at once.

The authorization servers it is used with (the conformance suite's, the tests' own) approve
without a login page, so following their redirects lands on the runtime's loopback listener,
exactly where a real browser would.
"""

from __future__ import annotations

import httpx2

from agent.mcp.oauth import AuthorizationFailed, AuthorizationPrompt


async def approve_at_once(prompt: AuthorizationPrompt) -> None:
    """Follow ``prompt.url`` through the authorization server back to the loopback listener.

    Raises:
        AuthorizationFailed: the browser was not sent back (so no sign-in is coming).
    """
    async with httpx2.AsyncClient(follow_redirects=True, timeout=10) as browser:
        response = await browser.get(prompt.url)
    if not prompt.done:
        raise AuthorizationFailed(f"the browser was not sent back (it ended on HTTP {response.status_code})")


async def approve_and_paste(prompt: AuthorizationPrompt) -> None:
    """Approve, but hand the address the browser was sent back to over by hand (as if pasted)."""
    async with httpx2.AsyncClient(follow_redirects=False, timeout=10) as browser:
        response = await browser.get(prompt.url)
    prompt.submit(response.headers["location"])
