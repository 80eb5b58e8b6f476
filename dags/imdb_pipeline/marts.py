"""The dbt project's marts, read from the project itself: the dbt task's outlet assets.

The names live once, in dbt/models/marts/_marts__models.yml (where each mart is documented and
tested). The Airflow image copies that file to the same place relative to the DAGs
(/opt/airflow/dbt/...), so the DAG finds it next to itself in the image and in a clone.
Reading a small YAML file is cheap enough for every parse loop, and touches no database.
"""

from __future__ import annotations

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MARTS_MODELS = Path("dbt") / "models" / "marts" / "_marts__models.yml"


class MartsFileError(RuntimeError):
    """The marts' model file is missing or says nothing usable; the message names it."""


def mart_names(root: Path = PROJECT_ROOT) -> tuple[str, ...]:
    """The marts' model names, in the file's order."""
    path = root / MARTS_MODELS
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MartsFileError(f"{path}: cannot read the dbt marts ({exc})") from None
    models = document.get("models") if isinstance(document, dict) else None
    names = tuple(m["name"] for m in models or () if isinstance(m, dict) and isinstance(m.get("name"), str))
    if not names:
        raise MartsFileError(f"{path}: no models listed under 'models:'")
    return names
