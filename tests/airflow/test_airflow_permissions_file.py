"""dag_permissions.json parsing: both versions, clear errors with file and position."""

from __future__ import annotations

import json

import pytest
from imdb_security.permissions_file import DagPermissionsError, load, parse


def test_version_1_seed_form_is_read_only():
    conf = parse(json.dumps({"alice": ["dag_a", "dag_b"], "bob": []}))
    assert conf.version == 1
    assert conf.users == {"alice": {"dag_a": {"read"}, "dag_b": {"read"}}, "bob": {}}


def test_a_user_called_version_in_the_seed_form_is_still_a_user():
    conf = parse(json.dumps({"version": ["dag_a"]}))
    assert conf.version == 1
    assert conf.dags_for("version") == {"dag_a": {"read"}}


def test_version_2_actions_and_shorthands():
    conf = parse(
        json.dumps(
            {
                "version": 2,
                "users": {
                    "alice": {"dags": {"dag_a": ["edit", "trigger"], "dag_b": []}},
                    "bob": ["dag_a"],
                    "carol": {"dags": ["dag_c"]},
                },
            }
        )
    )
    assert conf.version == 2
    assert conf.dags_for("alice") == {"dag_a": {"read", "edit", "trigger"}, "dag_b": {"read"}}
    assert conf.dags_for("bob") == {"dag_a": {"read"}}
    assert conf.dags_for("carol") == {"dag_c": {"read"}}
    assert conf.dag_ids == {"dag_a", "dag_b", "dag_c"}


def test_explicit_version_1_wrapper():
    conf = parse(json.dumps({"version": 1, "users": {"alice": ["dag_a"]}}))
    assert conf.version == 1 and conf.dags_for("alice") == {"dag_a": {"read"}}


def test_malformed_json_names_file_line_and_column(tmp_path):
    path = tmp_path / "dag_permissions.json"
    path.write_text('{\n  "alice": ["dag_a"]\n  "bob": []\n}\n')
    with pytest.raises(DagPermissionsError) as err:
        load(path)
    assert str(err.value) == f"{path}: line 3, column 3: invalid JSON: Expecting ',' delimiter"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[]", "the top level must be a JSON object, not a list"),
        ('{"alice": "dag_a"}', "alice must be a list of DAG ids, not a string"),
        ('{"alice": [3]}', "DAG id in alice must be a non-empty string, got 3"),
        ('{"version": 3, "users": {}}', 'unsupported "version": 3; supported: 1, 2'),
        ('{"version": 2, "userz": {}}', "unknown key(s) in the top level: userz"),
        ('{"version": 2, "users": {"a": {"dags": {"d": ["run"]}}}}', "users.a.dags.d: unknown action(s) run"),
        ('{"version": 2, "users": {"a": {"dag": []}}}', "unknown key(s) in users.a: dag"),
        ('{"version": 2, "users": {"a": 1}}', "users.a must be a list of DAG ids or an object, not a number"),
    ],
)
def test_invalid_structure_is_an_error_naming_the_place(document, message):
    with pytest.raises(DagPermissionsError) as err:
        parse(document, source="perm.json")
    assert str(err.value).startswith("perm.json: ")
    assert message in str(err.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DagPermissionsError, match="cannot read the DAG permissions file"):
        load(tmp_path / "absent.json")


def test_example_file_in_the_repo_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "airflow" / "dag_permissions.json"
    conf = load(example)
    assert conf.version == 2
    assert conf.dag_ids == {"imdb_download_and_load_dag"}
