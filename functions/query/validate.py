"""Argument rules of the analytics API; a broken rule names its field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from clickstream.analytics.v1 import analytics_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from functions.core import replay
from functions.core.cache import CountKey
from functions.core.errors import InvalidArgument
from functions.core.events import site_argument
from functions.core.spans import Grain, ceil, floor

DEFAULT_RANGE = timedelta(hours=24)
MAX_RANGE = timedelta(days=366)
DEFAULT_LIMIT = 10
MAX_LIMIT = 1000
MAX_POINTS = 50_000
MAX_USER_ID_LENGTH = 256
MAX_PAGE_URL_LENGTH = 2048
# clicks live after the epoch; the far end leaves room for widening and default ranges
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)
GRAIN_OF_BUCKET: dict[int, Grain] = {
    pb.BUCKET_UNSPECIFIED: "minute",
    pb.BUCKET_MINUTE: "minute",
    pb.BUCKET_HOUR: "hour",
}


@dataclass(frozen=True, slots=True)
class Window:
    """What a range read reads: one site's half-open range [start, end), aligned to whole
    buckets of its grain."""

    site: str
    start: datetime
    end: datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start) / timedelta(minutes=1))


def text(field: str, value: str, max_length: int) -> str:
    if not value:
        raise InvalidArgument(field, "is required")
    if len(value) > max_length:
        raise InvalidArgument(field, f"must be at most {max_length} characters")
    if "\x00" in value:
        raise InvalidArgument(field, "must not contain NUL characters")
    return value


def count_key(key: pb.GetEventCountRequest, field: str = "") -> CountKey:
    """A (site, user, page) to count; `field` prefixes the names of its fields in errors."""
    return (
        site_argument(key.site, f"{field}site"),
        text(f"{field}user_id", key.user_id, MAX_USER_ID_LENGTH),
        text(f"{field}page_url", key.page_url, MAX_PAGE_URL_LENGTH),
    )


def count_keys(keys: Sequence[pb.GetEventCountRequest]) -> list[CountKey]:
    if not 1 <= len(keys) <= MAX_LIMIT:
        raise InvalidArgument("keys", f"must hold between 1 and {MAX_LIMIT} keys")
    return [count_key(key, f"keys[{i}].") for i, key in enumerate(keys)]


def _moment(field: str, value: Timestamp) -> datetime:
    try:
        moment = value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidArgument(field, "is not a valid timestamp") from None
    if not EARLIEST <= moment < LATEST:
        raise InvalidArgument(field, f"must be between {EARLIEST.year} and {LATEST.year}")
    return moment


def window(
    range_: pb.TimeRange, site_name: str, grain: Grain = "minute", now: datetime | None = None
) -> Window:
    """`range_` of `site_name` with its defaults (the last 24 h, the `default` site),
    widened to whole `grain` buckets."""
    checked_site = site_argument(site_name)
    has_from, has_to = range_.HasField("from"), range_.HasField("to")
    end = _moment("to", range_.to) if has_to else now or datetime.now(UTC)
    start = _moment("from", getattr(range_, "from")) if has_from else end - DEFAULT_RANGE
    if end <= start:
        raise InvalidArgument("to", "must be after from")
    if end - start > MAX_RANGE:
        raise InvalidArgument("from", f"range must span at most {MAX_RANGE.days} days")
    return Window(checked_site, floor(start, grain), ceil(end, grain))


def limit(value: int) -> int:
    """0 means the default; otherwise 1..1000."""
    if value == 0:
        return DEFAULT_LIMIT
    if not 1 <= value <= MAX_LIMIT:
        raise InvalidArgument("limit", f"must be between 1 and {MAX_LIMIT}")
    return value


def grain(bucket: int) -> Grain:
    try:
        return GRAIN_OF_BUCKET[bucket]
    except KeyError:
        raise InvalidArgument("bucket", "must be minute or hour") from None


def points(window: Window, grain: Grain) -> int:
    """How many buckets a series over `window` has, at most MAX_POINTS."""
    count = window.minutes // (60 if grain == "hour" else 1)
    if count > MAX_POINTS:
        raise InvalidArgument("bucket", f"{count} buckets exceed {MAX_POINTS}: use hour buckets")
    return count


def cursor(value: str) -> int | None:
    """A dead-letter page cursor: empty for the first page, else a previous `next_cursor`."""
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidArgument("cursor", "is not a cursor this API returned")
    return int(value)


def letters_site(request: pb.ListDeadLettersRequest | pb.ReplayDeadLettersRequest) -> str | None:
    """The site whose dead letters a call reads or replays; None (unset): every letter."""
    return site_argument(request.site) if request.HasField("site") else None


def replay_selection(request: pb.ReplayDeadLettersRequest) -> replay.Selection:
    """The letters a replay chose: `ids`, or the range `from_id..to_id` (both set), of one
    site when `site` is set."""
    return replay.selection(
        list(request.ids),
        request.from_id if request.HasField("from_id") else None,
        request.to_id if request.HasField("to_id") else None,
        request.only_unreplayed,
        letters_site(request),
    )
