"""Security headers on every HTTP response: no framing, no sniffing, no referrer.

- ``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``: no other site can frame
  GraphiQL (or anything else) and trick a signed-in person into clicking in it.
- ``X-Content-Type-Options: nosniff``: a file is only ever what its type says.
- ``Referrer-Policy: no-referrer``: signed file URLs carry their signature in the query
  string; they must not leak to another site through the Referer header.
- ``Content-Security-Policy``: the GraphiQL page may run only its own scripts (see
  :func:`archivist.graphql.explorer.page_policy`), the progress page under ``/ui/`` only
  its own files (:data:`archivist.graphql.progress_page.PAGE_POLICY`); any other response
  may load nothing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archivist.graphql.explorer import page_policy
from archivist.graphql.progress_page import PAGE_POLICY, is_ui_path

OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.page_policy = page_policy().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in _SET
                ]
                content_type = dict(headers).get(b"content-type", b"")
                if not content_type.startswith(b"text/html"):
                    policy = _OTHER
                elif is_ui_path(scope["path"]):
                    policy = _UI
                else:
                    policy = self.page_policy
                headers += [
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-security-policy", policy),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


_OTHER = OTHER_POLICY.encode()
_UI = PAGE_POLICY.encode()
_SET = {
    b"x-frame-options",
    b"x-content-type-options",
    b"referrer-policy",
    b"content-security-policy",
}
