"""Task-log lines at the level their program gave them, for both runners.

The loader runs with ``--log-format json`` (one object per line: ``level``, ``msg``, ``dataset``,
...) and dbt with ``--log-format json`` (``{"info": {"level": ..., "msg": ...}, "data": ...}``).
Copying those lines into the task log at INFO, as a plain subprocess pipe or the pod log
follower does, hides a loader warning ("121 rows rejected") or a dbt error from the UI's level
filter. ``parse_line`` turns one line into ``(level, text)``; anything that is not one of those
two JSON shapes (a traceback, a shell message) keeps INFO and its text, unchanged.

This module imports nothing from Airflow.
"""

from __future__ import annotations

import json
import logging
from typing import Any

# Level names of the loader (Python's, lower case) and of dbt ("warn").
LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def parse_line(line: str) -> tuple[int, str]:
    """``(logging level, text for the task log)`` of one output line of the loader or dbt."""
    text = line.rstrip("\r\n")
    if not text.startswith("{"):
        return logging.INFO, text
    try:
        doc = json.loads(text)
    except ValueError:
        return logging.INFO, text
    if not isinstance(doc, dict):
        return logging.INFO, text
    info = doc.get("info")
    if isinstance(info, dict) and "msg" in info:
        return _level(info.get("level")), str(info["msg"])
    if "msg" in doc and "level" in doc:
        return _level(doc["level"]), _loader_text(doc)
    return logging.INFO, text


def _level(name: Any) -> int:
    return LEVELS.get(str(name).lower(), logging.INFO)


def _loader_text(doc: dict[str, Any]) -> str:
    # The loader's text format puts the dataset in front unless the message starts with it;
    # the same here, so a task log reads like a terminal run.
    msg = str(doc["msg"])
    dataset = doc.get("dataset")
    if isinstance(dataset, str) and dataset and not msg.startswith(dataset):
        return f"{dataset}: {msg}"
    return msg
