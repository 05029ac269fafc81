import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Bucket(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BUCKET_UNSPECIFIED: _ClassVar[Bucket]
    BUCKET_MINUTE: _ClassVar[Bucket]
    BUCKET_HOUR: _ClassVar[Bucket]
BUCKET_UNSPECIFIED: Bucket
BUCKET_MINUTE: Bucket
BUCKET_HOUR: Bucket

class TimeRange(_message.Message):
    __slots__ = ("to",)
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class GetEventCountRequest(_message.Message):
    __slots__ = ("user_id", "page_url", "site")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_url: str
    site: str
    def __init__(self, user_id: _Optional[str] = ..., page_url: _Optional[str] = ..., site: _Optional[str] = ...) -> None: ...

class GetEventCountResponse(_message.Message):
    __slots__ = ("user_id", "page_url", "count")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    page_url: str
    count: int
    def __init__(self, user_id: _Optional[str] = ..., page_url: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetEventCountsRequest(_message.Message):
    __slots__ = ("keys",)
    KEYS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedCompositeFieldContainer[GetEventCountRequest]
    def __init__(self, keys: _Optional[_Iterable[_Union[GetEventCountRequest, _Mapping]]] = ...) -> None: ...

class GetEventCountsResponse(_message.Message):
    __slots__ = ("counts",)
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    counts: _containers.RepeatedCompositeFieldContainer[GetEventCountResponse]
    def __init__(self, counts: _Optional[_Iterable[_Union[GetEventCountResponse, _Mapping]]] = ...) -> None: ...

class GetOverviewRequest(_message.Message):
    __slots__ = ("range", "site", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    site: str
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., site: _Optional[str] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class PageCount(_message.Message):
    __slots__ = ("page_url", "count")
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    page_url: str
    count: int
    def __init__(self, page_url: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetOverviewResponse(_message.Message):
    __slots__ = ("to", "total_events", "distinct_users", "events_per_minute", "top_page")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EVENTS_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_USERS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TOP_PAGE_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    total_events: int
    distinct_users: int
    events_per_minute: float
    top_page: PageCount
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total_events: _Optional[int] = ..., distinct_users: _Optional[int] = ..., events_per_minute: _Optional[float] = ..., top_page: _Optional[_Union[PageCount, _Mapping]] = ..., **kwargs) -> None: ...

class GetTopPagesRequest(_message.Message):
    __slots__ = ("range", "limit", "site", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    limit: int
    site: str
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., limit: _Optional[int] = ..., site: _Optional[str] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class GetEventTypesRequest(_message.Message):
    __slots__ = ("range", "limit", "site")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    limit: int
    site: str
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., limit: _Optional[int] = ..., site: _Optional[str] = ...) -> None: ...

class EventTypeCount(_message.Message):
    __slots__ = ("event_type", "count")
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    event_type: str
    count: int
    def __init__(self, event_type: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class GetEventTypesResponse(_message.Message):
    __slots__ = ("to", "types")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    types: _containers.RepeatedCompositeFieldContainer[EventTypeCount]
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., types: _Optional[_Iterable[_Union[EventTypeCount, _Mapping]]] = ..., **kwargs) -> None: ...

class GetTopPagesResponse(_message.Message):
    __slots__ = ("to", "pages")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    pages: _containers.RepeatedCompositeFieldContainer[PageCount]
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., pages: _Optional[_Iterable[_Union[PageCount, _Mapping]]] = ..., **kwargs) -> None: ...

class GetTimeSeriesRequest(_message.Message):
    __slots__ = ("range", "bucket", "page_url", "site", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    bucket: Bucket
    page_url: str
    site: str
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., bucket: _Optional[_Union[Bucket, str]] = ..., page_url: _Optional[str] = ..., site: _Optional[str] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class TimeSeriesPoint(_message.Message):
    __slots__ = ("t", "count")
    T_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    t: _timestamp_pb2.Timestamp
    count: int
    def __init__(self, t: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class GetTimeSeriesResponse(_message.Message):
    __slots__ = ("to", "bucket", "points")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    bucket: Bucket
    points: _containers.RepeatedCompositeFieldContainer[TimeSeriesPoint]
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., bucket: _Optional[_Union[Bucket, str]] = ..., points: _Optional[_Iterable[_Union[TimeSeriesPoint, _Mapping]]] = ..., **kwargs) -> None: ...

class GetUserActivityRequest(_message.Message):
    __slots__ = ("user_id", "range", "limit", "site")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    range: TimeRange
    limit: int
    site: str
    def __init__(self, user_id: _Optional[str] = ..., range: _Optional[_Union[TimeRange, _Mapping]] = ..., limit: _Optional[int] = ..., site: _Optional[str] = ...) -> None: ...

class GetUserActivityResponse(_message.Message):
    __slots__ = ("user_id", "total", "pages", "to")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    total: int
    pages: _containers.RepeatedCompositeFieldContainer[PageCount]
    to: _timestamp_pb2.Timestamp
    def __init__(self, user_id: _Optional[str] = ..., total: _Optional[int] = ..., pages: _Optional[_Iterable[_Union[PageCount, _Mapping]]] = ..., to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., **kwargs) -> None: ...

class ListDeadLettersRequest(_message.Message):
    __slots__ = ("limit", "cursor", "site")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    site: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ..., site: _Optional[str] = ...) -> None: ...

class DeadLetter(_message.Message):
    __slots__ = ("id", "event_id", "event_json", "knativeerrordest", "knativeerrorcode", "knativeerrordata", "received_at", "replayed_at", "replay_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_JSON_FIELD_NUMBER: _ClassVar[int]
    KNATIVEERRORDEST_FIELD_NUMBER: _ClassVar[int]
    KNATIVEERRORCODE_FIELD_NUMBER: _ClassVar[int]
    KNATIVEERRORDATA_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_AT_FIELD_NUMBER: _ClassVar[int]
    REPLAY_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: int
    event_id: str
    event_json: str
    knativeerrordest: str
    knativeerrorcode: str
    knativeerrordata: str
    received_at: _timestamp_pb2.Timestamp
    replayed_at: _timestamp_pb2.Timestamp
    replay_count: int
    def __init__(self, id: _Optional[int] = ..., event_id: _Optional[str] = ..., event_json: _Optional[str] = ..., knativeerrordest: _Optional[str] = ..., knativeerrorcode: _Optional[str] = ..., knativeerrordata: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replayed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., replay_count: _Optional[int] = ...) -> None: ...

class ListDeadLettersResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[DeadLetter]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[DeadLetter, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class ReplayDeadLettersRequest(_message.Message):
    __slots__ = ("ids", "from_id", "to_id", "only_unreplayed", "site")
    IDS_FIELD_NUMBER: _ClassVar[int]
    FROM_ID_FIELD_NUMBER: _ClassVar[int]
    TO_ID_FIELD_NUMBER: _ClassVar[int]
    ONLY_UNREPLAYED_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[int]
    from_id: int
    to_id: int
    only_unreplayed: bool
    site: str
    def __init__(self, ids: _Optional[_Iterable[int]] = ..., from_id: _Optional[int] = ..., to_id: _Optional[int] = ..., only_unreplayed: _Optional[bool] = ..., site: _Optional[str] = ...) -> None: ...

class ReplayDeadLettersResponse(_message.Message):
    __slots__ = ("replayed",)
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    replayed: int
    def __init__(self, replayed: _Optional[int] = ...) -> None: ...

class ListSitesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Site(_message.Message):
    __slots__ = ("name", "created")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    name: str
    created: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListSitesResponse(_message.Message):
    __slots__ = ("sites",)
    SITES_FIELD_NUMBER: _ClassVar[int]
    sites: _containers.RepeatedCompositeFieldContainer[Site]
    def __init__(self, sites: _Optional[_Iterable[_Union[Site, _Mapping]]] = ...) -> None: ...

class GetBreakdownRequest(_message.Message):
    __slots__ = ("range", "site", "dimension", "limit", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    site: str
    dimension: str
    limit: int
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., site: _Optional[str] = ..., dimension: _Optional[str] = ..., limit: _Optional[int] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class BreakdownRow(_message.Message):
    __slots__ = ("value", "events", "visitors", "visits")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    VISITORS_FIELD_NUMBER: _ClassVar[int]
    VISITS_FIELD_NUMBER: _ClassVar[int]
    value: str
    events: int
    visitors: int
    visits: int
    def __init__(self, value: _Optional[str] = ..., events: _Optional[int] = ..., visitors: _Optional[int] = ..., visits: _Optional[int] = ...) -> None: ...

class GetBreakdownResponse(_message.Message):
    __slots__ = ("to", "dimension", "rows")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    dimension: str
    rows: _containers.RepeatedCompositeFieldContainer[BreakdownRow]
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., dimension: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[BreakdownRow, _Mapping]]] = ..., **kwargs) -> None: ...

class GetVisitsRequest(_message.Message):
    __slots__ = ("range", "site", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    site: str
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., site: _Optional[str] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class GetVisitsResponse(_message.Message):
    __slots__ = ("to", "visits", "visitors", "bounce_rate", "mean_duration_s", "views_per_visit")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    VISITS_FIELD_NUMBER: _ClassVar[int]
    VISITORS_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_FIELD_NUMBER: _ClassVar[int]
    MEAN_DURATION_S_FIELD_NUMBER: _ClassVar[int]
    VIEWS_PER_VISIT_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    visits: int
    visitors: int
    bounce_rate: float
    mean_duration_s: float
    views_per_visit: float
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., visits: _Optional[int] = ..., visitors: _Optional[int] = ..., bounce_rate: _Optional[float] = ..., mean_duration_s: _Optional[float] = ..., views_per_visit: _Optional[float] = ..., **kwargs) -> None: ...

class GetGoalsRequest(_message.Message):
    __slots__ = ("range", "site", "goals", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    GOALS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    site: str
    goals: _containers.RepeatedScalarFieldContainer[str]
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., site: _Optional[str] = ..., goals: _Optional[_Iterable[str]] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class GoalResult(_message.Message):
    __slots__ = ("goal", "visitors", "events", "conversion_rate")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    VISITORS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    goal: str
    visitors: int
    events: int
    conversion_rate: float
    def __init__(self, goal: _Optional[str] = ..., visitors: _Optional[int] = ..., events: _Optional[int] = ..., conversion_rate: _Optional[float] = ...) -> None: ...

class GetGoalsResponse(_message.Message):
    __slots__ = ("to", "goals")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    GOALS_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    goals: _containers.RepeatedCompositeFieldContainer[GoalResult]
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., goals: _Optional[_Iterable[_Union[GoalResult, _Mapping]]] = ..., **kwargs) -> None: ...

class GetFunnelRequest(_message.Message):
    __slots__ = ("range", "site", "steps", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    site: str
    steps: _containers.RepeatedScalarFieldContainer[str]
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., site: _Optional[str] = ..., steps: _Optional[_Iterable[str]] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class FunnelStep(_message.Message):
    __slots__ = ("goal", "visitors", "conversion_rate", "dropoff")
    GOAL_FIELD_NUMBER: _ClassVar[int]
    VISITORS_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    DROPOFF_FIELD_NUMBER: _ClassVar[int]
    goal: str
    visitors: int
    conversion_rate: float
    dropoff: int
    def __init__(self, goal: _Optional[str] = ..., visitors: _Optional[int] = ..., conversion_rate: _Optional[float] = ..., dropoff: _Optional[int] = ...) -> None: ...

class GetFunnelResponse(_message.Message):
    __slots__ = ("to", "steps")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    to: _timestamp_pb2.Timestamp
    steps: _containers.RepeatedCompositeFieldContainer[FunnelStep]
    def __init__(self, to: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[FunnelStep, _Mapping]]] = ..., **kwargs) -> None: ...

class GetRealtimeRequest(_message.Message):
    __slots__ = ("site", "limit", "filters")
    SITE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    site: str
    limit: int
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, site: _Optional[str] = ..., limit: _Optional[int] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class PageVisitors(_message.Message):
    __slots__ = ("page_url", "visitors")
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    VISITORS_FIELD_NUMBER: _ClassVar[int]
    page_url: str
    visitors: int
    def __init__(self, page_url: _Optional[str] = ..., visitors: _Optional[int] = ...) -> None: ...

class GetRealtimeResponse(_message.Message):
    __slots__ = ("visitors", "events", "pages")
    VISITORS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    visitors: int
    events: int
    pages: _containers.RepeatedCompositeFieldContainer[PageVisitors]
    def __init__(self, visitors: _Optional[int] = ..., events: _Optional[int] = ..., pages: _Optional[_Iterable[_Union[PageVisitors, _Mapping]]] = ...) -> None: ...

class EraseUserRequest(_message.Message):
    __slots__ = ("site", "user_id", "actor")
    SITE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    site: str
    user_id: str
    actor: str
    def __init__(self, site: _Optional[str] = ..., user_id: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class EraseUserResponse(_message.Message):
    __slots__ = ("erasure_id", "erased_at", "rows")
    class RowsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ERASURE_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_AT_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    erasure_id: int
    erased_at: _timestamp_pb2.Timestamp
    rows: _containers.ScalarMap[str, int]
    def __init__(self, erasure_id: _Optional[int] = ..., erased_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rows: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ExportEventsRequest(_message.Message):
    __slots__ = ("range", "site", "filters")
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SITE_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    range: TimeRange
    site: str
    filters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, range: _Optional[_Union[TimeRange, _Mapping]] = ..., site: _Optional[str] = ..., filters: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportedEvent(_message.Message):
    __slots__ = ("event_id", "user_id", "event_type", "page_url", "time_stamp", "referrer", "session_id", "properties_json", "browser", "os", "device", "country", "referrer_host", "utm_source", "utm_medium", "utm_campaign")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_URL_FIELD_NUMBER: _ClassVar[int]
    TIME_STAMP_FIELD_NUMBER: _ClassVar[int]
    REFERRER_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_JSON_FIELD_NUMBER: _ClassVar[int]
    BROWSER_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    REFERRER_HOST_FIELD_NUMBER: _ClassVar[int]
    UTM_SOURCE_FIELD_NUMBER: _ClassVar[int]
    UTM_MEDIUM_FIELD_NUMBER: _ClassVar[int]
    UTM_CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    user_id: str
    event_type: str
    page_url: str
    time_stamp: _timestamp_pb2.Timestamp
    referrer: str
    session_id: str
    properties_json: str
    browser: str
    os: str
    device: str
    country: str
    referrer_host: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    def __init__(self, event_id: _Optional[str] = ..., user_id: _Optional[str] = ..., event_type: _Optional[str] = ..., page_url: _Optional[str] = ..., time_stamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., referrer: _Optional[str] = ..., session_id: _Optional[str] = ..., properties_json: _Optional[str] = ..., browser: _Optional[str] = ..., os: _Optional[str] = ..., device: _Optional[str] = ..., country: _Optional[str] = ..., referrer_host: _Optional[str] = ..., utm_source: _Optional[str] = ..., utm_medium: _Optional[str] = ..., utm_campaign: _Optional[str] = ...) -> None: ...

class ExportEventsBatch(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ExportedEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[ExportedEvent, _Mapping]]] = ...) -> None: ...
