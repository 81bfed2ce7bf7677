"""The upload size limit, enforced while the request body arrives (before it is parsed).

A request that declares a larger body is refused at once; one that sends more than it
declared (or streams without a length) is cut off once it passes the limit. Either way the
client gets 413 with a JSON error, and nothing is stored.
"""

from __future__ import annotations

import json

from ariadne.asgi.handlers import GraphQLHTTPHandler
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for the multipart envelope and the GraphQL operation around the file itself.
OVERHEAD = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class UploadLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.limit = max_bytes + OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        mib = (self.limit - OVERHEAD) // (1024 * 1024)
        body = json.dumps(
            {"errors": [{"message": f"The upload is larger than the limit of {mib} MiB.",
                         "extensions": {"code": "TOO_LARGE"}}]}
        ).encode()  # fmt: skip
        await send(
            {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
        )  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class ClosingHTTPHandler(GraphQLHTTPHandler):
    """Ariadne's HTTP handler, closing uploaded files after every request.

    A resolver closes the files it reads; this covers the requests where none runs (refused
    before execution: no token, a validation error), which would leave temporary files open.
    """

    async def handle_request(self, request: Request) -> Response:
        try:
            return await super().handle_request(request)
        finally:
            await request.close()
