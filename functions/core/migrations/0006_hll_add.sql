-- Distinct users: a group's (register, rank) pairs added to a stored register set, visiting
-- only those pairs. `process` used to build the group's own 4,096-byte set (hll_sketch) and
-- max-merge it in with hll_merge, whose scan for non-empty registers copies the rest of the
-- set at each one: ~120 us per group of 23 events and grain, where this takes ~20-40.
CREATE OR REPLACE FUNCTION hll_add(sketch bytea, registers smallint[], ranks smallint[])
RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    i int;
BEGIN
    FOR i IN 1 .. coalesce(array_length(registers, 1), 0) LOOP
        IF ranks[i] > get_byte(sketch, registers[i]) THEN
            sketch := set_byte(sketch, registers[i], ranks[i]);
        END IF;
    END LOOP;
    RETURN sketch;
END $$;
