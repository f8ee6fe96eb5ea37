"""A tiny in-file "API server" that answers the kubectl command lines the microk8s stand-in uses.

Only for unit tests of lab/standins/microk8s.py without a lab: objects live in the JSON file
named by FAKE_KUBE_STORE; every call is logged to FAKE_KUBE_STORE + ".log". Not a general kubectl.
"""
import fcntl
import json
import os
import sys

KINDS = {
    "configmap": ("ConfigMap", "", True), "configmaps": ("ConfigMap", "", True), "cm": ("ConfigMap", "", True),
    "secret": ("Secret", "", True), "secrets": ("Secret", "", True),
    "node": ("Node", "", False), "nodes": ("Node", "", False), "no": ("Node", "", False),
    "service": ("Service", "", True), "services": ("Service", "", True), "svc": ("Service", "", True),
    "serviceaccount": ("ServiceAccount", "", True), "serviceaccounts": ("ServiceAccount", "", True),
    "deployment": ("Deployment", "apps", True), "deployments": ("Deployment", "apps", True),
    "deployments.apps": ("Deployment", "apps", True), "deployment.apps": ("Deployment", "apps", True),
    "daemonsets.apps": ("DaemonSet", "apps", True),
    "namespace": ("Namespace", "", False), "namespaces": ("Namespace", "", False),
    "storageclass": ("StorageClass", "storage.k8s.io", False),
    "storageclasses.storage.k8s.io": ("StorageClass", "storage.k8s.io", False),
    "storageclass.storage.k8s.io": ("StorageClass", "storage.k8s.io", False),
    "clusterrole": ("ClusterRole", "rbac.authorization.k8s.io", False),
    "clusterroles.rbac.authorization.k8s.io": ("ClusterRole", "rbac.authorization.k8s.io", False),
    "clusterrole.rbac.authorization.k8s.io": ("ClusterRole", "rbac.authorization.k8s.io", False),
    "clusterrolebinding.rbac.authorization.k8s.io": ("ClusterRoleBinding", "rbac.authorization.k8s.io", False),
    "clusterrolebindings.rbac.authorization.k8s.io": ("ClusterRoleBinding", "rbac.authorization.k8s.io", False),
    "crd": ("CustomResourceDefinition", "apiextensions.k8s.io", False),
}
RESOURCE = {"ConfigMap": "configmap", "Secret": "secret", "Node": "node", "Service": "service",
            "ServiceAccount": "serviceaccount", "Deployment": "deployment.apps", "DaemonSet": "daemonset.apps",
            "Namespace": "namespace", "StorageClass": "storageclass.storage.k8s.io",
            "ClusterRole": "clusterrole.rbac.authorization.k8s.io",
            "ClusterRoleBinding": "clusterrolebinding.rbac.authorization.k8s.io"}


def key(kind, namespace, name):
    return "%s/%s/%s" % (kind, namespace or "", name)


def load(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"objects": {}, "rv": 1}


def save(path, data):
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


def namespaced(kind):
    return kind not in ("Node", "Namespace", "StorageClass", "ClusterRole", "ClusterRoleBinding",
                        "CustomResourceDefinition")


def matches(obj, selector):
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels", {}) or {}
    for part in selector.split(","):
        k, _sep, v = part.partition("=")
        if labels.get(k) != v:
            return False
    return True


def main(argv):
    store = os.environ["FAKE_KUBE_STORE"]
    with open(store + ".log", "a") as log:
        log.write(json.dumps(argv) + "\n")
    lock = open(store + ".lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    data = load(store)
    objects = data["objects"]
    args = [a for a in argv if not a.startswith("--kubeconfig") and not a.startswith("--request-timeout")]
    ns = None
    selector = None
    flags = set()
    rest = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-n", "--namespace"):
            ns = args[i + 1]
            i += 2
            continue
        if a in ("-l", "--selector"):
            selector = args[i + 1]
            i += 2
            continue
        if a == "-o":
            flags.add("o=" + args[i + 1])
            i += 2
            continue
        if a.startswith("-"):
            flags.add(a)
        else:
            rest.append(a)
        i += 1
    verb = rest[0] if rest else ""
    stdin = ""
    if "-f" in argv:
        source = argv[argv.index("-f") + 1]
        if source == "-":
            stdin = sys.stdin.read()
        else:
            rest.remove(source)
            with open(source) as handle:
                stdin = handle.read()
            if not stdin.lstrip().startswith("{"):
                print("configmap/calico-config created")
                return 0

    def bump(obj):
        data["rv"] += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(data["rv"])
        obj["metadata"].setdefault("uid", "uid-%d" % data["rv"])

    if verb == "get":
        what = rest[1]
        if what in ("all", "all,ingress"):
            lines = ["NAMESPACE     NAME                 TYPE        CLUSTER-IP     EXTERNAL-IP   PORT(S)   AGE",
                     "default       service/kubernetes   ClusterIP   10.152.183.1   <none>        443/TCP   1d"]
            for k, obj in sorted(objects.items()):
                kind = k.split("/")[0]
                meta = obj["metadata"]
                if kind == "Deployment":
                    lines.append("%s   pod/%s-5d8f7c9b4-abcde   1/1   Running   0   1m" % (meta.get("namespace"), meta["name"]))
                    lines.append("%s   deployment.apps/%s   1/1   1   1   1m" % (meta.get("namespace"), meta["name"]))
                elif kind == "Service":
                    lines.append("%s   service/%s   ClusterIP   10.152.183.10   <none>   53/UDP   1m" % (meta.get("namespace"), meta["name"]))
            print("\n".join(lines))
            return 0
        if what in ("nodes", "no", "node") and len(rest) == 2 and not any(f.startswith("o=") for f in flags):
            rows = ["NAME      STATUS   ROLES    AGE   VERSION"]
            for k, obj in sorted(objects.items()):
                if k.startswith("Node/"):
                    rows.append("%s   Ready    <none>   1m    v1.33.5" % obj["metadata"]["name"])
            if os.environ.get("FAKE_KUBE_READY_NODE") == "1":
                rows.append("lab-node   Ready    <none>   1d    v1.34.4")
            print("\n".join(rows))
            return 0
        if what == "clusterroles":
            print("clusterrole.rbac.authorization.k8s.io/cluster-admin   2025-01-01T00:00:00Z")
            for k, obj in sorted(objects.items()):
                if k.startswith("ClusterRole/"):
                    print("clusterrole.rbac.authorization.k8s.io/%s   2025-01-01T00:00:00Z" % obj["metadata"]["name"])
            return 0
        kind = KINDS[what][0]
        if len(rest) >= 3:
            obj = objects.get(key(kind, ns if namespaced(kind) else None, rest[2]))
            if obj is None:
                if "--ignore-not-found" in flags:
                    return 0
                sys.stderr.write('Error from server (NotFound): %s "%s" not found\n' % (what, rest[2]))
                return 1
            print(json.dumps(obj))
            return 0
        items = [o for k, o in sorted(objects.items()) if k.split("/")[0] == kind and matches(o, selector)]
        print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        return 0
    if verb in ("create", "replace", "apply"):
        doc = json.loads(stdin)
        items = doc["items"] if doc.get("kind") == "List" else [doc]
        out = []
        for obj in items:
            kind = obj["kind"]
            meta = obj.setdefault("metadata", {})
            k = key(kind, meta.get("namespace") if namespaced(kind) else None, meta["name"])
            existing = objects.get(k)
            if verb == "create":
                if existing:
                    sys.stderr.write('Error from server (AlreadyExists): %s "%s" already exists\n' % (kind, meta["name"]))
                    save(store, data)
                    return 1
                bump(obj)
                objects[k] = obj
                out.append("%s/%s created" % (RESOURCE.get(kind, kind.lower()), meta["name"]))
            elif verb == "replace":
                if not existing or existing["metadata"].get("resourceVersion") != meta.get("resourceVersion"):
                    sys.stderr.write("Error from server (Conflict): Operation cannot be fulfilled: the object has "
                                     "been modified; please apply your changes to the latest version and try again\n")
                    return 1
                bump(obj)
                objects[k] = obj
                out.append("%s/%s replaced" % (RESOURCE.get(kind, kind.lower()), meta["name"]))
            else:
                bump(obj)
                objects[k] = obj
                out.append("%s/%s %s" % (RESOURCE.get(kind, kind.lower()), meta["name"],
                                         "configured" if existing else "created"))
        save(store, data)
        print("\n".join(out))
        return 0
    if verb == "delete":
        targets = []
        names = rest[1:]
        if names and "/" not in names[0] and "," not in names[0] and names[0] in KINDS and len(names) > 1:
            kind = KINDS[names[0]][0]
            targets = [(kind, n) for n in names[1:]]
        elif names and all("/" in n for n in names):
            for n in names:
                kname, _sep, oname = n.partition("/")
                targets.append((KINDS[kname][0], oname))
        else:
            kinds = [KINDS[k][0] for k in names[0].split(",") if k in KINDS] if names else []
            for k, obj in list(objects.items()):
                if k.split("/")[0] in kinds and matches(obj, selector):
                    del objects[k]
            save(store, data)
            return 0
        for kind, name in targets:
            k = key(kind, ns if namespaced(kind) else None, name)
            if k in objects:
                del objects[k]
                print('%s "%s" deleted' % (RESOURCE.get(kind, kind.lower()), name))
            elif "--ignore-not-found" not in flags:
                sys.stderr.write('Error from server (NotFound): %s "%s" not found\n' % (kind, name))
                save(store, data)
                return 1
        save(store, data)
        return 0
    if verb in ("patch", "label"):
        kind = KINDS[rest[1]][0]
        k = key(kind, ns if namespaced(kind) else None, rest[2])
        obj = objects.get(k)
        if obj is None:
            return 1
        if verb == "label":
            labels = obj["metadata"].setdefault("labels", {})
            for item in rest[3:]:
                if item.endswith("-"):
                    labels.pop(item[:-1], None)
                else:
                    lk, _sep, lv = item.partition("=")
                    labels[lk] = lv
        else:
            patch = json.loads(argv[argv.index("-p") + 1])

            def merge(dst, src):
                for pk, pv in src.items():
                    if pv is None:
                        dst.pop(pk, None)
                    elif isinstance(pv, dict) and isinstance(dst.get(pk), dict):
                        merge(dst[pk], pv)
                    else:
                        dst[pk] = pv
            merge(obj, patch)
        bump(obj)
        save(store, data)
        return 0
    sys.stderr.write("fake kubectl: unsupported %s\n" % argv)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
