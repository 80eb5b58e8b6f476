"""Logging for people (text) and for cluster log pipelines (one JSON object per line)."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_EXTRA_FIELDS = ("dataset", "phase", "run_id", "rows", "mb", "rows_per_s", "eta_s", "status")


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        dataset = getattr(record, "dataset", None)
        prefix = f"{stamp} {record.levelname:<7}"
        if dataset and not record.getMessage().startswith(dataset):
            prefix += f" {dataset:<16}"
        return f"{prefix} {record.getMessage()}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in _EXTRA_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                doc[key] = value
        if record.exc_info and record.levelno >= logging.ERROR:
            doc["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(doc, ensure_ascii=False)


def configure(log_format: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger("imdb_loader")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class DatasetLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Adds the dataset (and run id) to every record."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs
