"""Turn every role's meta/argument_specs.yml into AWX survey specs (JSON), so job templates need
no hand-typed questions.

    python scripts/awx_survey.py [--out DIR]      # one <role>.<entry_point>.json per entry point

Types: str -> text (password for secrets), int -> integer, float -> float, bool -> multiplechoice
true/false, choices -> multiplechoice (multiselect for a list), list/dict/raw -> textarea (YAML or JSON)."""
import argparse
import json
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET_WORDS = ("password", "secret", "token")


def _question(name, spec):
    kind = spec.get("type", "str")
    description = spec.get("description", "")
    if isinstance(description, list):
        description = " ".join(description)
    q = {"question_name": name.replace("kaapana_", "").replace("_", " ").capitalize(),
         "question_description": description[:1024], "variable": name,
         "required": bool(spec.get("required", False))}
    default = spec.get("default")
    if spec.get("choices") and kind == "list":
        # AWX passes a multiselect answer as a list of the chosen strings
        q["type"] = "multiselect"
        q["choices"] = [str(c) for c in spec["choices"]]
        default = "\n".join(str(d) for d in default or []) or None
    elif spec.get("choices"):
        q["type"] = "multiplechoice"
        q["choices"] = [str(c) for c in spec["choices"]]
    elif kind == "bool":
        q["type"] = "multiplechoice"
        q["choices"] = ["true", "false"]
        default = None if default is None else str(bool(default)).lower()
    elif kind == "int":
        q["type"] = "integer"
    elif kind == "float":
        q["type"] = "float"
    elif kind in ("list", "dict", "raw"):
        q["type"] = "textarea"
        if default is not None and not isinstance(default, str):
            default = json.dumps(default)
    elif any(word in name for word in SECRET_WORDS) or spec.get("no_log"):
        q["type"] = "password"
        default = None  # never ship a default secret into a survey
    else:
        q["type"] = "text"
    if default is not None and default != "":
        q["default"] = default if q["type"] in ("integer", "float") else str(default)
    return q


def _dependency_options(role):
    """The main options of the collection's roles this role depends on (kaapana.platform.common's shared variables):
    Ansible checks them whenever the role runs, so its surveys ask for them too."""
    with open(os.path.join(ROOT, "roles", role, "meta", "main.yml")) as handle:
        deps = (yaml.safe_load(handle) or {}).get("dependencies") or []
    options = {}
    for dep in deps:
        name = dep.get("role", dep.get("name")) if isinstance(dep, dict) else dep
        path = os.path.join(ROOT, "roles", name.split(".")[-1], "meta", "argument_specs.yml")
        with open(path) as handle:
            options.update(yaml.safe_load(handle)["argument_specs"]["main"].get("options") or {})
    return options


def surveys():
    out = {}
    for role in sorted(os.listdir(os.path.join(ROOT, "roles"))):
        path = os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")
        if not os.path.exists(path):
            continue
        with open(path) as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        shared = _dependency_options(role)
        for entry, spec in specs.items():
            options = dict(shared, **(spec.get("options") or {}))
            out["%s.%s" % (role, entry)] = {
                "name": "kaapana.platform.%s (%s)" % (role, entry),
                "description": spec.get("short_description", ""),
                "spec": [_question(n, o) for n, o in sorted(options.items())],
            }
    return out


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "awx", "surveys"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for key, survey in surveys().items():
        with open(os.path.join(args.out, key + ".json"), "w") as handle:
            json.dump(survey, handle, indent=2, sort_keys=True)
            handle.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
