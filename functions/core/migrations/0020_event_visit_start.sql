-- Each raw event names its visit: the visit's key is the event's own (its session, else its
-- user), and `visit_started_at` is the visit's start, kept by the statement that stores the
-- events (functions/process/visits.py), which also moves it on the stored events of a visit
-- whose start a late event moved or merged. A report then knows an event's visit without
-- looking it up: the lookup (an index probe of `visits` per event) was most of the cost of
-- reading raw events.
ALTER TABLE click_events ADD COLUMN visit_started_at timestamptz;
-- the events stored before: their visit, as the readers looked it up until now (a key's
-- visits never overlap, so it is the last one starting by the event's time, if it lasts
-- until it). Events stored before visits were kept (migration 0012) have none, and stay NULL:
-- they count as events, in no visit, as before.
UPDATE click_events AS e SET visit_started_at = (
    SELECT last.started_at FROM (
        SELECT v.started_at, v.ended_at FROM visits AS v
        WHERE v.site = e.site AND v.visit_key = coalesce('s:' || e.session_id, 'u:' || e.user_id)
          AND v.started_at <= e.time_stamp
        ORDER BY v.started_at DESC LIMIT 1
    ) AS last
    WHERE e.time_stamp <= last.ended_at
);
