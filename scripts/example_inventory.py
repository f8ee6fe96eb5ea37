"""Writes inventories/example/group_vars/all/*.yml from the roles' defaults/main.yml.

The roles' defaults are the one source of truth for every variable and its comment; the example
inventory shows them grouped by role, ready to edit. A variable several roles read has its one home in
roles/common and so appears once, in 00-common.yml: were it in two files, the later file would silently
override an admin's edit of the earlier one (a unit test checks that no variable appears twice).
`--check` exits 1 when the files are stale (a unit test runs it)."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "inventories", "example", "group_vars", "all")
# Order of the steps site.yml runs, as in Kaapana's own documents.
ROLES = [
    ("00-common.yml", "common", "Settings several roles share: MicroK8s and Helm paths, networks, proxy, data, GPU"),
    ("10-microk8s.yml", "microk8s", "Node prerequisites: MicroK8s, kernel settings, addons (kaapanactl.sh install)"),
    ("20-cluster.yml", "cluster", "Multi-node join (MicroK8s add-node / join)"),
    ("30-gpu.yml", "gpu", "GPU detection and the NVIDIA GPU operator"),
    ("40-no_proxy.yml", "no_proxy", "Proxy and NO_PROXY"),
    ("50-longhorn.yml", "longhorn", "Longhorn distributed storage (when kaapana_storage_provider is longhorn)"),
    ("60-platform.yml", "platform", "The Kaapana platform: registry, chart, domain, namespaces, storage, credentials"),
]


def render(role, title):
    path = os.path.join(ROOT, "roles", role, "defaults", "main.yml")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        body = handle.read()
    body = body[4:] if body.startswith("---\n") else body
    return ("---\n# %s\n# Generated from roles/%s/defaults/main.yml by scripts/example_inventory.py; the values are\n"
            "# the defaults. Change what your site needs, delete the rest.\n\n%s" % (title, role, body))


def main(argv):
    check = "--check" in argv
    stale = []
    for fname, role, title in ROLES:
        text = render(role, title)
        if text is None:
            continue
        target = os.path.join(OUT, fname)
        current = open(target).read() if os.path.exists(target) else None
        if current != text:
            stale.append(fname)
            if not check:
                os.makedirs(OUT, exist_ok=True)
                with open(target, "w") as handle:
                    handle.write(text)
    if check and stale:
        print("stale example inventory files (run python scripts/example_inventory.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
