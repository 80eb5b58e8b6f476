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
        ('{"alice": "dag_a"}', "user alice: must be a list of DAG ids, not a string"),
        ('{"alice": [3]}', "user alice: DAG id must be a non-empty string, got 3"),
        ('{"version": 3, "users": {}}', 'unsupported "version": 3; supported: 1, 2'),
        ('{"version": 2, "userz": {}}', "unknown key(s) in the top level: userz"),
        ('{"version": 2, "users": {"a": {"dags": {"d": ["run"]}}}}', "user a: DAG d: unknown action(s) run; allowed:"),
        ('{"version": 2, "users": {"a": {"dag": []}}}', "unknown key(s) in user a: dag"),
        ('{"version": 2, "users": {"a": 1}}', "user a: must be a list of DAG ids or an object, not a number"),
        ('{"version": 2, "unlisted": "nobody", "users": {}}', '"unlisted": "nobody" is not one of: no_dags, untouched'),
        ('{"version": 1, "unlisted": "no_dags", "users": {}}', '"unlisted" needs "version": 2'),
    ],
)
def test_invalid_structure_is_one_line_naming_file_user_and_problem(document, message):
    with pytest.raises(DagPermissionsError) as err:
        parse(document, source="perm.json")
    assert str(err.value).startswith("perm.json: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "document",
    [
        '{"users": {"alice": {"dags": {"dag_a": ["trigger"]}}}}',
        '{"alice": {"dags": ["dag_a"]}}',
    ],
)
def test_object_form_without_version_hints_at_the_version_key(document):
    with pytest.raises(DagPermissionsError) as err:
        parse(document, source="perm.json")
    assert 'needs "version": 2 at the top level' in str(err.value)


def test_unlisted_defaults_to_no_dags_in_version_2_and_untouched_in_version_1():
    from imdb_security.permissions_file import Unlisted

    assert parse('{"version": 2, "users": {}}').unlisted is Unlisted.NO_DAGS
    assert parse('{"version": 2, "unlisted": "untouched", "users": {}}').unlisted is Unlisted.UNTOUCHED
    assert parse('{"version": 2, "unlisted": "no_dags", "users": {}}').unlisted is Unlisted.NO_DAGS
    assert parse('{"alice": []}').unlisted is Unlisted.UNTOUCHED
    assert parse("{}").unlisted is Unlisted.UNTOUCHED
    assert parse('{"version": 1, "users": {}}').unlisted is Unlisted.UNTOUCHED


def test_retry_is_an_action():
    conf = parse('{"version": 2, "users": {"a": {"dags": {"d": ["retry"]}}}}')
    assert conf.dags_for("a") == {"d": {"read", "retry"}}


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DagPermissionsError, match="cannot read the DAG permissions file"):
        load(tmp_path / "absent.json")


def test_example_file_in_the_repo_is_valid():
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "airflow" / "dag_permissions.json"
    conf = load(example)
    assert conf.version == 2
    assert conf.dag_ids == {"imdb_download_and_load_dag"}
