"""The reports' part of the OpenAPI document (`report_routes.py`): breakdown, visits, goals,
funnel and realtime, merged into functions/gateway/openapi.py."""

from __future__ import annotations

from functions.core.goals import MAX_GOALS, MAX_STEPS, MAX_VALUE_LENGTH, MIN_STEPS
from functions.gateway.openapi_parts import (
    COUNT,
    FILTER,
    FROM,
    LIMIT,
    SITE,
    TIME,
    TO,
    Schema,
    get,
    param,
)
from functions.query.dimensions import DIMENSIONS, MAX_PROP_KEY_LENGTH, PROP_PREFIX

RATE = {"type": "number", "minimum": 0, "maximum": 1}
GOAL = "`event_type:<name>` or `page:<path>`"
# the names `query` knows, from its registry so that the two cannot drift, or a property's
DIMENSION = {
    "anyOf": [
        {"type": "string", "enum": list(DIMENSIONS)},
        {"type": "string", "pattern": f"^{PROP_PREFIX}[^:\\x00]{{1,{MAX_PROP_KEY_LENGTH}}}$"},
    ]
}
GOAL_TEXT = {"type": "string", "pattern": f"^(event_type|page):[^\\x00]{{1,{MAX_VALUE_LENGTH}}}$"}


def _goals(name: str, description: str, fewest: int, most: int) -> Schema:
    return {
        **param(
            name,
            description,
            {"type": "array", "items": GOAL_TEXT, "minItems": fewest, "maxItems": most},
        ),
        "required": True,
        "style": "form",
        "explode": True,
    }


def _object(properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


REPORT_PATHS: Schema = {
    "/api/v1/breakdown": get(
        "Events, visitors and visits per value of one dimension, most visitors first, then"
        " most events",
        [
            SITE,
            FROM,
            TO,
            LIMIT,
            FILTER,
            {
                **param(
                    "dimension",
                    "What to break down by: a dimension name (see `filter`), e.g. `page`,"
                    " `entry_page`, `country`, `prop:plan`",
                    DIMENSION,
                ),
                "required": True,
            },
        ],
        "Breakdown",
    ),
    "/api/v1/visits": get(
        "The visits that started in the range: visitors, bounce rate, duration, views per visit",
        [SITE, FROM, TO, FILTER],
        "Visits",
    ),
    "/api/v1/goals": get(
        "Visitors and events that reached each goal, and their share of all visitors",
        [SITE, FROM, TO, FILTER, _goals("goal", f"A goal: {GOAL}", 1, MAX_GOALS)],
        "Goals",
    ),
    "/api/v1/funnel": get(
        "Visitors reaching each step: steps 1..n in order within one visit",
        [SITE, FROM, TO, FILTER, _goals("step", f"A step, in order: {GOAL}", MIN_STEPS, MAX_STEPS)],
        "Funnel",
    ),
    "/api/v1/realtime": get(
        "Visitors, events and pages of the last 5 minutes", [SITE, LIMIT, FILTER], "Realtime"
    ),
}

REPORT_SCHEMAS: Schema = {
    "Breakdown": _object(
        {
            "from": TIME,
            "to": TIME,
            "dimension": {"type": "string"},
            "rows": {
                "type": "array",
                "items": _object(
                    {
                        "value": {"type": "string"},
                        "events": COUNT,
                        "visitors": COUNT,
                        "visits": COUNT,
                    }
                ),
            },
        }
    ),
    "Visits": _object(
        {
            "from": TIME,
            "to": TIME,
            "visits": COUNT,
            "visitors": COUNT,
            "bounce_rate": RATE,
            "mean_duration_s": {"type": "number", "minimum": 0},
            "views_per_visit": {"type": "number", "minimum": 0},
        }
    ),
    "Goals": _object(
        {
            "from": TIME,
            "to": TIME,
            "goals": {
                "type": "array",
                "items": _object(
                    {
                        "goal": {"type": "string"},
                        "visitors": COUNT,
                        "events": COUNT,
                        "conversion_rate": RATE,
                    }
                ),
            },
        }
    ),
    "Funnel": _object(
        {
            "from": TIME,
            "to": TIME,
            "steps": {
                "type": "array",
                "items": _object(
                    {
                        "goal": {"type": "string"},
                        "visitors": COUNT,
                        "conversion_rate": RATE,
                        "dropoff": COUNT,
                    }
                ),
            },
        }
    ),
    "Realtime": _object(
        {
            "visitors": COUNT,
            "events": COUNT,
            "pages": {
                "type": "array",
                "items": _object({"page_url": {"type": "string"}, "visitors": COUNT}),
            },
        }
    ),
}
