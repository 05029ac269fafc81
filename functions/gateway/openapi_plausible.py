"""Plausible's Stats API routes (`plausible_routes.py`) in the OpenAPI document, merged into
functions/gateway/openapi.py. Their errors keep Plausible's shape, `{"error": message}`."""

from __future__ import annotations

from functions.core.events import SITE_PATTERN
from functions.gateway.openapi_parts import Schema, content, errors, param, ref
from functions.gateway.plausible_query import DIMENSIONS, METRICS, TIME_DIMENSIONS

SITE_ID = {
    **param("site_id", "The site read", {"type": "string", "pattern": SITE_PATTERN}),
    "required": True,
}
RANGES = ["day", "7d", "30d", "month", "6mo", "12mo", "year", "all"]
PERIOD = param(
    "period", f"{', '.join(RANGES)} (default 30d) or custom", {"enum": [*RANGES, "custom"]}
)
DAY = r"\d{4}-\d{2}-\d{2}"
DATE = param(
    "date",
    "The day of `period=day`; `from,to` days for `period=custom`",
    {"type": "string", "pattern": f"^{DAY}(,{DAY})?$"},
)
_NAMES = "|".join(m for m in METRICS if m != "percentage")
METRIC_LIST = param(
    "metrics",
    f"Comma-separated, of {', '.join(METRICS)} (default visitors)",
    {"type": "string", "pattern": f"^({_NAMES})(,({_NAMES}))*$"},
)
_PROPS = "event:props:[a-z_]{1,20}"
DIMENSION = {
    "anyOf": [
        {"enum": list(DIMENSIONS)},
        {"type": "string", "pattern": f"^{_PROPS}$"},
    ]
}
_KEYS = "|".join([*DIMENSIONS, _PROPS])
V1_FILTERS = param(
    "filters",
    "`<dimension>==<value>` (also `!=`, `~` contains, `!~`), `;`-separated and ANDed",
    {"type": "string", "pattern": f"^({_KEYS})(==|!=|~|!~)[a-zA-Z0-9/._-]{{1,40}}$"},
)
# what parses: one value a filter, no `or`, at most one dimension (docs/plausible.md)
FILTER = {
    "type": "array",
    "prefixItems": [
        {"enum": ["is", "is_not", "contains", "contains_not"]},
        DIMENSION,
        {
            "type": "array",
            "items": {"type": "string", "pattern": "^[a-zA-Z0-9/._-]{1,40}$"},
            "minItems": 1,
            "maxItems": 1,
        },
    ],
    "minItems": 3,
    "maxItems": 3,
}
VALUE = {"type": ["integer", "number"]}


def _refusals(*statuses: int) -> dict[str, Schema]:
    described = {
        400: "What is not supported or not valid, named in `error` (Plausible's shape)",
        401: "No valid token, or one that cannot read this site",
    }
    # a 401 without any valid token comes before the route, in the gateway's own shape
    shapes = {400: ref("PlausibleError"), 401: {"anyOf": [ref("PlausibleError"), ref("Error")]}}
    return {str(s): content(shapes[s], described[s]) for s in statuses}


def _v1(summary: str, parameters: list[Schema], answer: Schema) -> Schema:
    return {
        "get": {
            "summary": summary,
            "parameters": [SITE_ID, *parameters],
            "responses": {
                "200": content(answer, summary),
                **_refusals(400, 401),
                **errors(503),
            },
        }
    }


def _results(items: Schema) -> Schema:
    return {"type": "object", "required": ["results"], "properties": {"results": items}}


PLAUSIBLE_PATHS: Schema = {
    "/api/v2/query": {
        "post": {
            "summary": "Plausible's Stats API v2: metrics by at most one dimension, over a date"
            " range and filters (docs/plausible.md)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("PlausibleQuery")}},
            },
            "responses": {
                "200": content(ref("PlausibleAnswer"), "The results, `meta` and the query"),
                **_refusals(400, 401),
                **errors(503),
            },
        }
    },
    "/api/v1/stats/aggregate": _v1(
        "Plausible's Stats API v1 aggregate",
        [PERIOD, DATE, METRIC_LIST, V1_FILTERS],
        _results({"type": "object", "additionalProperties": {"type": "object"}}),
    ),
    "/api/v1/stats/timeseries": _v1(
        "Plausible's Stats API v1 time series",
        [
            PERIOD,
            DATE,
            METRIC_LIST,
            V1_FILTERS,
            param("interval", "`hour`, `date`, `week` or `month`", {"type": "string"}),
        ],
        _results({"type": "array", "items": {"type": "object"}}),
    ),
    "/api/v1/stats/breakdown": _v1(
        "Plausible's Stats API v1 breakdown",
        [
            PERIOD,
            DATE,
            METRIC_LIST,
            V1_FILTERS,
            {**param("property", "A Stats API dimension", DIMENSION), "required": True},
            param("limit", "Rows a page (default 100)", {"type": "integer", "minimum": 1}),
            param("page", "Page, from 1", {"type": "integer", "minimum": 1}),
        ],
        _results({"type": "array", "items": {"type": "object"}}),
    ),
    "/api/v1/stats/realtime/visitors": _v1(
        "Visitors in the last 5 minutes", [], {"type": "integer", "minimum": 0}
    ),
}
PLAUSIBLE_SCHEMAS: Schema = {
    "PlausibleError": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "PlausibleQuery": {
        "type": "object",
        "required": ["site_id", "metrics", "date_range"],
        "additionalProperties": False,
        "properties": {
            "site_id": {"type": "string", "pattern": SITE_PATTERN},
            "metrics": {
                "type": "array",
                "items": {"enum": [m for m in METRICS if m != "percentage"]},
                "minItems": 1,
                "description": f"of {', '.join(METRICS)} (`percentage` with a dimension)",
            },
            "date_range": {
                "description": "a range's name, or a pair of ISO 8601 dates or times",
                "oneOf": [
                    {"enum": ["realtime", "30m", "day", "7d", "30d", "month"]},
                    {
                        "type": "array",
                        "items": {"type": "string", "format": "date"},
                        "minItems": 2,
                        "maxItems": 2,
                    },
                ],
            },
            "dimensions": {
                "type": "array",
                "items": {"anyOf": [DIMENSION, {"enum": list(TIME_DIMENSIONS)}]},
                "maxItems": 1,
            },
            "filters": {
                "type": "array",
                "items": FILTER,
                "description": "also `and`, `not` and `event:goal` (docs/plausible.md)",
            },
            "order_by": {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"enum": ["asc", "desc"]}],
                    "minItems": 2,
                    "maxItems": 2,
                },
                "description": "[[a metric or dimension asked, asc or desc], ...]",
            },
            "pagination": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "limit": {"type": "integer", "minimum": 1},
                    "offset": {"type": "integer", "minimum": 0, "maximum": 999},
                },
            },
            "include": {
                "type": "object",
                "properties": {
                    name: {"type": "boolean"} for name in ("time_labels", "total_rows", "imports")
                },
            },
        },
    },
    "PlausibleAnswer": {
        "type": "object",
        "required": ["results", "meta", "query"],
        "properties": {
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["metrics", "dimensions"],
                    "properties": {
                        "metrics": {"type": "array", "items": VALUE},
                        "dimensions": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
            "meta": {"type": "object"},
            "query": {"type": "object"},
        },
    },
}
