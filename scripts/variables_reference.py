"""Writes docs/variables.md from every role's meta/argument_specs.yml.

The argument specs are the one source of truth for the roles' variables: the roles validate their
input against them, and this script turns them into one reference page, per role and entry point, with
type, default, choices and description. The output depends only on the spec files (same input, same
bytes). `--check` exits 1 when docs/variables.md is stale (a unit test runs it).

    python scripts/variables_reference.py            # write docs/variables.md
    python scripts/variables_reference.py --check    # exit 1 when it is stale
"""
import argparse
import json
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTPUT = os.path.join("docs", "variables.md")
STALE = "docs/variables.md is stale: run python scripts/variables_reference.py"
# The order site.yml runs the roles in (common, the shared variables, first); roles not listed here follow, sorted
# by name.
ROLE_ORDER = ["common", "microk8s", "cluster", "gpu", "no_proxy", "longhorn", "platform"]
DASH = "\u2014"

# Ansible documentation markup: C(), V(), O(), RV(), E(), M() -> code; B() -> bold; I() -> italics;
# U() -> the URL; L(text,url) -> a link. Backticks in the spec text are code spans too.
_MARKUP = re.compile(r"\b(?P<kind>RV|[CVOEMBIUL])\((?P<arg>[^()]*)\)|`(?P<code>[^`]*)`")


def load_specs(root=ROOT):
    """[(role, argument_specs dict)] for every role with a meta/argument_specs.yml, in ROLE_ORDER."""
    roles_dir = os.path.join(root, "roles")
    found = sorted(r for r in os.listdir(roles_dir)
                   if os.path.isfile(os.path.join(roles_dir, r, "meta", "argument_specs.yml")))
    ordered = [r for r in ROLE_ORDER if r in found] + [r for r in found if r not in ROLE_ORDER]
    specs = []
    for role in ordered:
        with open(os.path.join(roles_dir, role, "meta", "argument_specs.yml")) as handle:
            data = yaml.safe_load(handle) or {}
        specs.append((role, data.get("argument_specs") or {}))
    return specs


def _text(value):
    """A description (string or list of paragraphs) as one line."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return " ".join(str(value).split())


def _plain(text):
    """Plain Markdown text for a table cell: characters that would become HTML, emphasis or a cell break."""
    text = (text.replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;")
            .replace("*", "\\*").replace("|", "\\|"))
    # an underscore inside a word (kaapana_domain) is plain text in Markdown; one at a word start is not
    return re.sub(r"(?<![A-Za-z0-9])_", r"\\_", text)


def _code_span(text):
    return "`%s`" % text.replace("|", "\\|")


def _describe(value):
    """A description (string or paragraphs) as one line of Markdown, Ansible markup converted."""
    text = _text(value)
    out = []
    pos = 0
    for match in _MARKUP.finditer(text):
        out.append(_plain(text[pos:match.start()]))
        pos = match.end()
        kind, arg = match.group("kind"), match.group("arg")
        if kind is None:
            out.append(_code_span(match.group("code")))
        elif kind in ("C", "V", "O", "RV", "E", "M"):
            out.append(_code_span(arg))
        elif kind == "B":
            out.append("**%s**" % _plain(arg))
        elif kind == "I":
            out.append("*%s*" % _plain(arg))
        elif kind == "U":
            out.append("<%s>" % arg)
        else:  # L(text,url)
            label, dummy, url = arg.partition(",")
            out.append("[%s](%s)" % (_plain(label.strip()), url.strip()))
    out.append(_plain(text[pos:]))
    return "".join(out)


def _code(value):
    """A value as inline code, JSON-like for lists and dicts (keys in the spec's order)."""
    if isinstance(value, str):
        shown = json.dumps(value) if value == "" or value != value.strip() else value
    else:
        shown = json.dumps(value, ensure_ascii=False, default=str)
    return "`%s`" % shown.replace("`", "'").replace("|", "\\|")


def _type(option):
    kind = option.get("type", "str")
    if option.get("elements"):
        return "%s of %s" % (kind, option["elements"])
    return kind


def _notes(option):
    notes = []
    if option.get("required"):
        notes.append("required")
    if option.get("choices"):
        notes.append("one of " + ", ".join(_code(c) for c in option["choices"]))
    if option.get("no_log"):
        notes.append("secret (no_log)")
    return "; ".join(notes)


def _rows(options, prefix=""):
    rows = []
    for name, option in options.items():
        option = option or {}
        default = _code(option["default"]) if "default" in option else DASH
        row = (prefix, name, _type(option), default, _notes(option), _describe(option.get("description")))
        rows.append("| `%s%s` | %s | %s | %s | %s |" % row)
        if option.get("options"):
            sub_prefix = "%s%s%s." % (prefix, name, "[]" if option.get("type") == "list" else "")
            rows.extend(_rows(option["options"], sub_prefix))
    return rows


def _table(options):
    lines = ["| Variable | Type | Default | Choices / required | Description |",
             "|---|---|---|---|---|"]
    return lines + _rows(options)


def _anchor(role, entry):
    return "%s-%s" % (role.replace("_", "-"), entry.replace("_", "-"))


def render(specs):
    """The Markdown text of docs/variables.md for [(role, argument_specs)]."""
    out = [
        "# Variable reference",
        "",
        "<!-- Generated by scripts/variables_reference.py from roles/*/meta/argument_specs.yml; do not edit. -->",
        "",
        "Every variable of every role entry point, generated from the roles' `meta/argument_specs.yml` (the specs",
        "the roles check their input against) by `python scripts/variables_reference.py`. The roles'",
        "`defaults/main.yml` give the same defaults with a comment each, and `inventories/example/group_vars/all/`",
        "lists them ready to edit. Set them in your inventory (`group_vars`, or `host_vars` for per-host settings",
        "such as `kaapana_node_role`).",
        "",
        "A default of %s means the spec sets none: the variable is optional, or the role computes its value at run" % DASH,
        "time (from facts such as the host name; see the description and `defaults/main.yml`).",
        "An entry point other than `main` is run with `tasks_from`; its variables that are exactly those of `main`",
        "are listed by name only.",
        "",
        "## Contents",
        "",
    ]
    for role, entries in specs:
        links = ", ".join("[`%s`](#%s)" % (entry, _anchor(role, entry)) for entry in _entry_order(entries))
        out.append("- `kaapana.platform.%s`: %s" % (role, links))
    for role, entries in specs:
        out += ["", "## `kaapana.platform.%s`" % role, "",
                "Role README: [roles/%s/README.md](../roles/%s/README.md)." % (role, role)]
        main = (entries.get("main") or {}).get("options") or {}
        for entry in _entry_order(entries):
            spec = entries[entry] or {}
            options = spec.get("options") or {}
            out += ["", '<a id="%s"></a>' % _anchor(role, entry), "",
                    "### %s: entry point `%s`" % (role, entry), ""]
            if spec.get("short_description"):
                summary = _describe(spec["short_description"])
                out += [summary + ("" if summary.endswith((".", "!", "?")) else "."), ""]
            for paragraph in spec.get("description") or []:
                out += [_describe(paragraph), ""]
            if entry != "main":
                shared = [n for n, o in options.items() if n in main and o == main[n]]
                own = dict((n, o) for n, o in options.items() if n not in shared)
                if main and set(shared) == set(main):
                    if not own:
                        out += ["The same %d variables as the `main` entry point." % len(shared)]
                        continue
                    out += ["All %d variables of the `main` entry point, unchanged, and these:" % len(shared), ""]
                elif shared:
                    out += ["These variables of the `main` entry point, unchanged: "
                            + ", ".join("`%s`" % n for n in shared) + ("; and these:" if own else "."), ""]
                    if not own:
                        out.pop()
                        continue
                options = own
            if options:
                out += _table(options)
            else:
                out += ["No variables."]
    return "\n".join(out) + "\n"


def _entry_order(entries):
    return (["main"] if "main" in entries else []) + [e for e in entries if e != "main"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when %s is stale" % OUTPUT)
    parser.add_argument("--root", default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    text = render(load_specs(args.root))
    target = os.path.join(args.root, OUTPUT)
    current = None
    if os.path.exists(target):
        with open(target) as handle:
            current = handle.read()
    if args.check:
        if current != text:
            print(STALE)
            return 1
        return 0
    if current != text:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as handle:
            handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
