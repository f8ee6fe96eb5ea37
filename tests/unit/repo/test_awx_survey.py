"""AWX survey specs generated from the roles' argument specs."""
import importlib.util
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
spec = importlib.util.spec_from_file_location("awx_survey", os.path.join(ROOT, "scripts", "awx_survey.py"))
awx_survey = importlib.util.module_from_spec(spec)
spec.loader.exec_module(awx_survey)

VALID_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect"}


def test_every_role_entry_point_gets_a_valid_survey(tmp_path):
    assert awx_survey.main(["--out", str(tmp_path)]) == 0
    files = sorted(os.listdir(tmp_path))
    roles = sorted(r for r in os.listdir(os.path.join(ROOT, "roles"))
                   if os.path.exists(os.path.join(ROOT, "roles", r, "meta", "argument_specs.yml")))
    assert {f.split(".")[0] for f in files} == set(roles)
    for name in files:
        survey = json.loads((tmp_path / name).read_text())
        assert survey["spec"], name
        for q in survey["spec"]:
            assert q["type"] in VALID_TYPES, (name, q)
            assert q["variable"].startswith("kaapana_"), (name, q)
            if q["type"] == "multiplechoice":
                assert q["choices"] and ("default" not in q or q["default"] in q["choices"]), (name, q)


def test_secrets_become_password_questions_without_defaults():
    q = awx_survey._question("kaapana_registry_password", {"type": "str", "default": "kaapana"})
    assert q["type"] == "password" and "default" not in q


def test_types_map_to_awx_question_types():
    assert awx_survey._question("kaapana_x", {"type": "bool", "default": True})["default"] == "true"
    assert awx_survey._question("kaapana_x", {"type": "int", "default": 5})["type"] == "integer"
    assert awx_survey._question("kaapana_x", {"type": "list", "default": ["a"]})["default"] == '["a"]'
    assert awx_survey._question("kaapana_x", {"type": "str", "choices": ["a", "b"]})["choices"] == ["a", "b"]


def test_role_surveys_ask_for_the_shared_variables_the_role_checks(tmp_path):
    # kaapana_dev_mode lives in roles/common (the platform's dependency), yet a deploy template must ask for it.
    variables = [q["variable"] for q in awx_survey.surveys()["platform.main"]["spec"]]
    assert "kaapana_dev_mode" in variables and "kaapana_domain" in variables
    assert len(variables) == len(set(variables))


def test_a_list_with_choices_is_a_multiselect():
    q = awx_survey._question("kaapana_x", {"type": "list", "elements": "str", "choices": ["a", "b"], "default": []})
    assert (q["type"], q["choices"], "default" in q) == ("multiselect", ["a", "b"], False)
    q = awx_survey._question("kaapana_x", {"type": "list", "choices": ["a", "b"], "default": ["a", "b"]})
    assert q["default"] == "a\nb"
