"""values.yaml is fully documented (`# --` on every leaf) and values.schema.json closes every
object (`additionalProperties: false`, or a typed map)."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from tests.k8s.helpers import CHART_DIR, EXAMPLES_DIR, load_yaml

KEY = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z][\w.-]*):(?P<rest>.*)$")


def undocumented_leaves(text: str) -> list[str]:
    """Leaf keys (a value on the same line) with no `# --` in the comment block above them or
    above an enclosing key."""
    lines = text.splitlines()
    missing: list[str] = []
    documented_parents: list[tuple[int, bool]] = []  # (indent, documented)
    for number, line in enumerate(lines):
        match = KEY.match(line)
        if not match or line.lstrip().startswith("-"):
            continue
        indent = len(match.group("indent"))
        documented_parents = [(i, d) for i, d in documented_parents if i < indent]
        comments = []
        above = number - 1
        while above >= 0 and lines[above].strip().startswith("#"):
            comments.append(lines[above].strip())
            above -= 1
        documented = any(c.startswith("# --") for c in comments)
        is_leaf = match.group("rest").strip() != ""
        if is_leaf and not documented and not any(d for _, d in documented_parents):
            missing.append(f"line {number + 1}: {match.group('key')}")
        documented_parents.append((indent, documented))
    return missing


def open_objects(schema: Any, path: str = "$") -> list[str]:
    found: list[str] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "additionalProperties" not in schema and path != "$.properties.global":
            found.append(path)
        if schema.get("additionalProperties") is True:
            found.append(path)
        for key, value in schema.items():
            found += open_objects(value, f"{path}.{key}")
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found += open_objects(item, f"{path}[{index}]")
    return found


def test_every_value_is_documented() -> None:
    assert undocumented_leaves((CHART_DIR / "values.yaml").read_text(encoding="utf-8")) == []


def test_documentation_check_can_fail() -> None:
    assert undocumented_leaves("a:\n  # plain comment\n  b: 1\n") == ["line 3: b"]
    assert undocumented_leaves("# -- the a block\na:\n  b: 1\n") == []


def test_schema_closes_every_object() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    assert schema["additionalProperties"] is False
    assert open_objects(schema) == []


def test_defaults_and_examples_satisfy_the_schema() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    assert [e.message for e in validator.iter_errors(load_yaml(CHART_DIR / "values.yaml"))] == []
    for example in sorted(EXAMPLES_DIR.glob("*.yaml")):
        # Examples are partial: check their keys and types, not the required lists.
        partial = {k: v for k, v in schema.items() if k != "required"}
        errors = [e.message for e in jsonschema.Draft7Validator(partial).iter_errors(load_yaml(example))]
        assert not [e for e in errors if "is a required property" not in e], (example.name, errors)


def test_schema_knows_every_default_key() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))

    def walk(values: Any, node: dict[str, Any], path: str) -> list[str]:
        if not isinstance(values, dict) or "properties" not in node:
            return []
        unknown = [f"{path}.{k}" for k in values if k not in node["properties"]]
        return unknown + [
            x
            for k, v in values.items()
            if k in node["properties"]
            for x in walk(v, node["properties"][k], f"{path}.{k}")
        ]

    assert walk(load_yaml(CHART_DIR / "values.yaml"), schema, "") == []
