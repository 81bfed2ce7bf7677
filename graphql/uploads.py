"""Request body limits, enforced while the body arrives (before it is parsed).

A multipart request (an upload) may carry up to the upload limit; any other request (plain
JSON) up to the much smaller query body limit, since nothing but a query and its variables
travels in it. A request that declares a larger body is refused at once; one that sends more
than it declared (or streams without a length) is cut off once it passes the limit. Either
way the client gets 413 with a JSON error (``TOO_LARGE`` for an upload, ``BODY_TOO_LARGE``
otherwise), and nothing is stored.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Room for the multipart envelope and the GraphQL operation around the file itself.
OVERHEAD = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class UploadLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, max_body: int) -> None:
        self.app = app
        self.upload_limit = max_bytes + OVERHEAD
        self.body_limit = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        is_upload = content_type == b"multipart/form-data"
        limit = self.upload_limit if is_upload else self.body_limit
        declared = headers.get(b"content-length")
        # Over 18 digits is too large anyway, and int() refuses thousands of digits.
        too_long = declared is not None and declared.isdigit() and len(declared) > 18
        if too_long or (declared is not None and declared.isdigit() and int(declared) > limit):
            await self._refuse(send, is_upload)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
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
                await self._refuse(send, is_upload)

    async def _refuse(self, send: Send, is_upload: bool) -> None:
        if is_upload:
            mib = (self.upload_limit - OVERHEAD) // (1024 * 1024)
            message, code = f"The upload is larger than the limit of {mib} MiB.", "TOO_LARGE"
        else:
            kib = self.body_limit // 1024
            message = f"The request body is larger than the limit of {kib} KiB."
            code = "BODY_TOO_LARGE"
        body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
        await send(
            {"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode())]}
        )  # fmt: skip
        await send({"type": "http.response.body", "body": body})
