"""``POST /v1/intake``: scanned application forms over HTTP (multipart), read by OCR.

Each file part (PNG, JPEG or PDF) is read with the standard form template
(:mod:`riskmon.intake`) off the event loop, one document at a time per worker
so OCR never starves the stream processing. Its application is produced to
``credit.applications`` keyed by ``application_id``, or its dead letter
(reason and content hash, never the image) to ``risk.deadletter``, exactly as
``riskmon intake`` does. The answer (202) lists one result per file: the
document's hash, the application id, the fields read and the uncertain ones
with their confidence; never a value read. The decision follows on
``credit.decisions`` (``GET /v1/decisions/<application_id>``).

Who may: ``applications.submit`` (the ``submitter`` role), as for
``POST /v1/applications``; the same rate limit. The body may be at most
:data:`~riskmon.intake.pages.MAX_DOCUMENT_BYTES` (413 beyond); a body that is
not a multipart form with 1 to 10 files is 400; no Tesseract on the worker is
503.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from riskmon.runtime.web.errors import error_body
from riskmon.runtime.web.guard import Guard, Refused

__all__ = ["register_intake_api"]


def register_intake_api(app: Any, *, applications_topic: Any, deadletter_topic: Any, guard: Guard) -> None:
    """Add ``POST /v1/intake`` to a Faust app."""
    from faust import web

    from riskmon.intake import OcrUnavailable, read_document, standard_template
    from riskmon.intake.multipart import MultipartError, documents
    from riskmon.intake.pages import MAX_DOCUMENT_BYTES
    from riskmon.schemas import dumps

    template = standard_template()
    one_at_a_time = asyncio.Semaphore(1)

    @app.page("/v1/intake")
    class Intake(web.View):
        async def post(self, request: web.Request) -> web.Response:
            try:
                _caller, body = await guard.admit(request, "applications.submit", MAX_DOCUMENT_BYTES)
            except Refused as refused:
                return refused.response
            try:
                files = documents(request.headers.get("Content-Type", ""), body)
            except MultipartError as exc:
                return self.json(error_body("invalid_multipart", str(exc)), status=400)
            loop = asyncio.get_running_loop()
            results = []
            for _name, data in files:
                try:
                    async with one_at_a_time:
                        result = await loop.run_in_executor(None, read_document, data, template)
                except OcrUnavailable as exc:
                    return self.json(error_body("unavailable", str(exc)), status=503)
                summary = result.summary()
                if result.application is not None:
                    key = str(result.application_id).encode()
                    await (await applications_topic.send(key=key, value=dumps(result.application)))
                    summary["topic"] = applications_topic.get_topic_name()
                else:
                    letter = result.dead_letter(datetime.now(UTC))
                    await (await deadletter_topic.send(key=letter.key, value=dumps(letter.to_dict())))
                    summary["topic"] = deadletter_topic.get_topic_name()
                results.append(summary)
            return self.json({"results": results}, status=202)
