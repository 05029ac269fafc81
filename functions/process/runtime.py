"""The running process service: set by the app's lifespan, read by the function.

functions-framework hands a CloudEvent function only the event, so the function finds its
service here rather than on the request.
"""

from __future__ import annotations

from functions.process.service import ProcessService

_service: ProcessService | None = None


def install(service: ProcessService | None) -> None:
    global _service
    _service = service


def current() -> ProcessService:
    if _service is None:
        raise RuntimeError("process service is not running (lifespan not started)")
    return _service
