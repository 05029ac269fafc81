"""A no-op CloudEvent function: the transport ceiling for per-event delivery, and a bare
HTTP answer as the serving ceiling (same functions-framework + uvicorn set-up as ours)."""
