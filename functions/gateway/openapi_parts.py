"""Building blocks of the OpenAPI document (functions/gateway/openapi.py,
functions/gateway/openapi_reports.py): common parameters, schemas and answers."""

from __future__ import annotations

from typing import Any

from functions.core.events import SITE_PATTERN
from functions.gateway.routes import MAX_LIMIT

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def param(name: str, description: str, schema: Schema) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


FROM = param(
    "from",
    "Range start, RFC 3339 (default: `to` minus 24 h)",
    {"type": "string", "format": "date-time"},
)
TO = param(
    "to", "Range end, exclusive, RFC 3339 (default: now)", {"type": "string", "format": "date-time"}
)
LIMIT = param(
    "limit",
    "How many to list (default 10)",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
)
SITE = param(
    "site",
    "The site read (default `default`)",
    {"type": "string", "pattern": SITE_PATTERN, "maxLength": 253},
)
TIME = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}
PAGE_COUNT = {
    "type": "object",
    "required": ["page_url", "count"],
    "properties": {"page_url": {"type": "string"}, "count": COUNT},
}


def content(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Schema]:
    text = {
        400: "A bad argument, named in `error.field`",
        401: "Tokens are configured and none this route takes was given"
        " (`Authorization: Bearer ...`)",
        403: "The token cannot read this site, or the route needs an admin token (of the"
        " site it names, or of every site); `error.field` is `site` when the site is refused",
        503: "`query` or PostgreSQL cannot answer now",
    }
    return {str(s): content(ref("Error"), text[s]) for s in statuses}


def get(summary: str, parameters: list[Schema], answer: str) -> Schema:
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {"200": content(ref(answer), summary), **errors(400, 401, 403, 503)},
        }
    }


FILTER = {
    "name": "filter",
    "in": "query",
    "required": False,
    "description": "`<dimension>:<op>:<value>`, repeated and ANDed: op `is`, `is_not`,"
    " `contains` or `contains_not`; dimension `page`, `entry_page`, `exit_page`,"
    " `event_type`, `referrer`,"
    " `utm_source`, `utm_medium`, `utm_campaign`, `browser`, `os`, `device`, `country` or"
    " `prop:<key>`. With a filter, the report reads the raw events",
    "schema": {"type": "array", "items": {"type": "string"}, "maxItems": 20},
    "style": "form",
    "explode": True,
}
