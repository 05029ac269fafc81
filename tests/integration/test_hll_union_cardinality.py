"""hll_union_cardinality (migration 0023) is built from two of the postgresql-hll extension's
SQL functions rather than one of its documented aggregates: it must estimate every union as
hll_cardinality(hll_union_agg(...)) does, over real PostgreSQL with the extension, so that an
upgrade of the extension that changes either function fails here."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.integration

# Sketches as the roll-ups keep them (report_rows.SKETCH) and as distinct users keep them
# (migration 0011), each in every representation the extension has: empty, a list of hashes
# (explicit), sparse registers, full registers; `set` names which ones a union takes.
_SKETCHES = """
WITH sizes(size) AS (VALUES (0), (1), (200), (256), (257), (1500), (40000), (200000)),
sketches AS (
    SELECT s.size, p.params, CASE p.params
        WHEN '14, 5, 256' THEN
            coalesce(hll_add_agg(hll_hash_integer(g), 14, 5, 256), hll_empty(14, 5, 256))
        ELSE coalesce(hll_add_agg(hll_hash_integer(g), 14, 5), hll_empty(14, 5))
    END AS sketch
    FROM sizes AS s
    CROSS JOIN (VALUES ('14, 5, 256'), ('14, 5, -1')) AS p(params)
    LEFT JOIN LATERAL generate_series(1, s.size) AS g ON true
    GROUP BY s.size, p.params
), sets AS (  -- each sketch alone, each pair of one parameter set (overlapping ranges), all
    SELECT params, format('%s', a.size) AS set, a.sketch FROM sketches AS a
    UNION ALL
    SELECT a.params, format('%s+%s', a.size, b.size), x.sketch
    FROM sketches AS a JOIN sketches AS b ON b.params = a.params AND b.size > a.size
    CROSS JOIN LATERAL (VALUES (a.sketch), (b.sketch)) AS x(sketch)
    UNION ALL
    SELECT params, 'all', sketch FROM sketches
    UNION ALL  -- nulls are skipped, as hll_union_agg skips them
    SELECT params, 'all', NULL FROM sketches GROUP BY params
)
"""


def _estimates(url: str, order: str) -> list[tuple[str, str, float | None, float | None]]:
    with psycopg.connect(url) as conn:
        conn.execute(f"SET enable_hashagg = {'on' if order == 'hashed' else 'off'}")
        cursor = conn.execute(
            _SKETCHES
            + """SELECT params, set, hll_union_cardinality(sketch),
                        hll_cardinality(hll_union_agg(sketch))
                 FROM sets GROUP BY params, set ORDER BY params, set"""
        )
        return cursor.fetchall()


@pytest.mark.parametrize("order", ["hashed", "sorted"])
def test_it_estimates_every_union_as_the_documented_aggregates_do(
    database_url: str, order: str
) -> None:
    rows = _estimates(database_url, order)
    assert len(rows) == 2 * (8 + 28 + 1)
    differing = [row for row in rows if row[2] != row[3]]
    assert differing == []
    # the unions were the sizes they name: explicit lists count exactly, full ones estimate
    by_set = {(params, each): estimate for params, each, estimate, _ in rows}
    assert by_set[("14, 5, 256", "200")] == 200
    assert by_set[("14, 5, 256", "200+1500")] == pytest.approx(1500, rel=0.05)
    assert by_set[("14, 5, -1", "40000+200000")] == pytest.approx(200_000, rel=0.05)
    assert by_set[("14, 5, -1", "0")] == 0


def test_no_sketch_at_all_estimates_nothing(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        cursor = conn.execute(
            "SELECT hll_union_cardinality(s), hll_cardinality(hll_union_agg(s))"
            " FROM (SELECT NULL::hll AS s WHERE false) AS none"
        )
        assert cursor.fetchone() == (None, None)
