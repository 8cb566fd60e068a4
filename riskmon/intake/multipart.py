"""The files of a ``multipart/form-data`` body, for ``POST /v1/intake``.

Pure code over bytes already read (the web page reads the body with its size
limit first), using the standard library's MIME parser: no HTTP framework
needed to test it. Every part that carries a file name is a document; other
parts are ignored.
"""

from __future__ import annotations

import email.parser
import email.policy

__all__ = ["MultipartError", "documents"]

MAX_FILES = 10


class MultipartError(ValueError):
    """The body is not a multipart form with between 1 and :data:`MAX_FILES` files."""


def documents(content_type: str, body: bytes) -> list[tuple[str, bytes]]:
    """``(file name, bytes)`` of each file part of ``body``.

    >>> body = (b'--b\\r\\nContent-Disposition: form-data; name="file"; filename="a.png"\\r\\n'
    ...         b'Content-Type: image/png\\r\\n\\r\\nPNG!\\r\\n--b--\\r\\n')
    >>> documents("multipart/form-data; boundary=b", body)
    [('a.png', b'PNG!')]
    """
    if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
        raise MultipartError("the body must be multipart/form-data with a boundary, one part per file")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise MultipartError("the body is not a multipart form")
    files: list[tuple[str, bytes]] = []
    for part in message.iter_parts():
        name = part.get_filename()
        if name is None:
            continue
        payload = part.get_payload(decode=True)
        files.append((name, payload if isinstance(payload, bytes) else b""))
    if not files:
        raise MultipartError("no file part (send each document as a form field with a filename)")
    if len(files) > MAX_FILES:
        raise MultipartError(f"at most {MAX_FILES} files per request")
    return files
