"""Report filters and goals parse into bound SQL conditions: values never enter the SQL."""

from __future__ import annotations

import pytest

from functions.core.errors import InvalidArgument
from functions.core.goals import goals
from functions.query.filters import parse_filter, parse_filters


@pytest.mark.parametrize(
    ("text", "dimension", "op", "value"),
    [
        ("page:is:/home", "page", "is", "/home"),
        # the value keeps its colons; a property key is part of the dimension
        ("page:contains:https://example.com:8443/a", "page", "contains", "https://example.com:8443/a"),
        ("prop:plan:is_not:pro:annual", "prop:plan", "is_not", "pro:annual"),
        ("entry_page:is:'; DROP TABLE visits; --", "entry_page", "is", "'; DROP TABLE visits; --"),
    ],
)  # fmt: skip
def test_a_filter_names_its_parts(text: str, dimension: str, op: str, value: str) -> None:
    parsed = parse_filter(text)
    assert (parsed.dimension.name, parsed.op, parsed.value, parsed.text) == (
        dimension,
        op,
        value,
        text,
    )


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("country:is:DE", ["DE"]),
        ("prop:plan:is:gold", ["plan", "gold"]),
        # LIKE's wildcards and escape character match themselves
        ("page:contains:50%_off\\", ["%50\\%\\_off\\\\%"]),
    ],
)
def test_values_are_bound_never_written_into_the_sql(text: str, params: list[object]) -> None:
    sql, bound = parse_filter(text).condition()
    assert bound == params
    assert sql.count("%s") == len(bound)
    assert all(str(value) not in sql for value in bound)


@pytest.mark.parametrize(
    "text",
    ["page", "page:is", "page:is:", "page:like:x", "nope:is:x", "prop::is:x", "prop:a\nb:is:x",
     "page:is:a\x00b"],
)  # fmt: skip
def test_a_bad_filter_names_filter(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    assert caught.value.field == "filter"


def test_at_most_twenty_filters() -> None:
    assert len(parse_filters(["page:is:/"] * 20)) == 20
    with pytest.raises(InvalidArgument, match="filter"):
        parse_filters(["page:is:/"] * 21)


def test_goals_name_the_field_they_came_in() -> None:
    [goal] = goals(["event_type:signup"], "goal", 1, 20)
    assert goal.condition() == ("e.event_type = %s", ["signup"])
    for texts in (["visit:/a"], ["page:"], []):
        with pytest.raises(InvalidArgument) as caught:
            goals(texts, "step", 2, 8)
        assert caught.value.field == "step"
