"""The KafkaSource data plane's `max.poll.records`, which bounds the records in flight.

It lives in a properties file inside the ConfigMap `config-kafka-source-data-plane` that
the Kafka source release installs; `nox -s deploy` sets the value pinned in
`kind/versions.toml` there (the local dispatcher reads the same pin), and restarts the
dispatcher StatefulSet only when the value changed, as the data plane reads it at start.
"""

from __future__ import annotations

import json
import re

CONFIG_MAP = "config-kafka-source-data-plane"
CONSUMER_PROPERTIES = "config-kafka-source-consumer.properties"
DISPATCHER = "statefulset/kafka-source-dispatcher"
# kubectl's JSONPath needs the dots of the key escaped
PROPERTIES_PATH = "jsonpath={.data." + CONSUMER_PROPERTIES.replace(".", "\\.") + "}"
_LINE = re.compile(r"^max\.poll\.records=.*$", re.MULTILINE)


def with_max_poll_records(properties: str, records: int) -> str:
    """`properties` with `max.poll.records` set to `records` (replaced, or appended)."""
    line = f"max.poll.records={records}"
    if _LINE.search(properties):
        return _LINE.sub(line, properties, count=1)
    return properties + ("" if properties.endswith("\n") or not properties else "\n") + line + "\n"


def patch(properties: str) -> str:
    """A merge patch of the ConfigMap setting the consumer properties to `properties`."""
    return json.dumps({"data": {CONSUMER_PROPERTIES: properties}})
