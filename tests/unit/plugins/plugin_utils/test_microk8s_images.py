"""plugin_utils/microk8s_images.py: which containerd images of a node nothing running needs."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.filter import microk8s as microk8s_filter
from ansible_collections.kaapana.platform.plugins.plugin_utils import microk8s_images as mi

D_NGINX = "sha256:" + "1" * 64
D_STALE = "sha256:" + "2" * 64
D_PAUSE = "sha256:" + "3" * 64
D_KAAPANA = "sha256:" + "4" * 64
D_OLD = "sha256:" + "5" * 64
ID_NGINX = "sha256:" + "a" * 64

# `microk8s ctr images ls` as containerd 1.7 prints it (padding shortened here; SIZE as progress.Bytes)
LS = """REF TYPE DIGEST SIZE PLATFORMS LABELS
docker.io/library/nginx:1.25 application/vnd.oci.image.index.v1+json {n} 67.3 MiB linux/amd64 io.cri-containerd.image=managed
docker.io/library/nginx@{n} application/vnd.oci.image.index.v1+json {n} 67.3 MiB linux/amd64 io.cri-containerd.image=managed
{idn} application/vnd.oci.image.index.v1+json {n} 67.3 MiB linux/amd64 io.cri-containerd.image=managed
registry.lab.invalid/stale:1 application/vnd.oci.image.index.v1+json {s} 12.0 MiB linux/amd64 io.cri-containerd.image=managed
registry.lab.invalid/stale@{s} application/vnd.oci.image.index.v1+json {s} 12.0 MiB linux/amd64 io.cri-containerd.image=managed
registry.k8s.io/pause:3.10 application/vnd.oci.image.index.v1+json {p} 311.0 KiB linux/amd64,linux/arm64 io.cri-containerd.pinned=pinned
registry.example.org/kaapana/minio:0.6.1 application/vnd.oci.image.index.v1+json {k} 1.2 GiB linux/amd64 -
docker.io/library/busybox:1.36 application/vnd.docker.distribution.manifest.v2+json {o} 2.0 KiB linux/amd64 -
""".format(n=D_NGINX, s=D_STALE, p=D_PAUSE, k=D_KAAPANA, o=D_OLD, idn=ID_NGINX)

TEMPLATE = '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n'


def _pod(name, node, images, phase="Running", init=(), ephemeral=(), image_ids=()):
    return {"metadata": {"namespace": "ns", "name": name},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": i} for i in images],
                     "initContainers": [{"name": "i", "image": i} for i in init],
                     "ephemeralContainers": [{"name": "e", "image": i} for i in ephemeral]},
            "status": {"phase": phase, "containerStatuses": [{"imageID": i} for i in image_ids]}}


def test_size_bytes_and_human_bytes_follow_containerds_progress_bytes():
    assert mi.size_bytes("67.3 MiB") == round(67.3 * 1024 ** 2)
    assert mi.size_bytes("311.0 KiB") == 311 * 1024 and mi.size_bytes("12 B") == 12
    assert mi.size_bytes("1.2 GiB") == round(1.2 * 1024 ** 3)
    with pytest.raises(ValueError):
        mi.size_bytes("12 MB")
    assert mi.human_bytes(12 * 1024 ** 2) == "12.0 MiB" and mi.human_bytes(0) == "0.0 B"
    assert mi.human_bytes(3 * 1024 ** 3) == "3.0 GiB"


def test_parse_ctr_images_reads_every_row():
    images = mi.parse_ctr_images(LS)
    assert len(images) == 8
    assert images[0] == {"ref": "docker.io/library/nginx:1.25", "type": "application/vnd.oci.image.index.v1+json",
                         "digest": D_NGINX, "size": round(67.3 * 1024 ** 2), "platforms": "linux/amd64",
                         "labels": "io.cri-containerd.image=managed"}
    assert images[5]["platforms"] == "linux/amd64,linux/arm64"
    assert mi.parse_ctr_images("REF TYPE DIGEST SIZE PLATFORMS LABELS\n") == []
    with pytest.raises(ValueError):
        mi.parse_ctr_images("garbage line\n")


@pytest.mark.parametrize("ref, normal", [
    ("nginx", "docker.io/library/nginx:latest"),
    ("nginx:1.25", "docker.io/library/nginx:1.25"),
    ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
    ("registry.example.org/kaapana/minio:0.6.1", "registry.example.org/kaapana/minio:0.6.1"),
    ("10.89.0.1:5000/x/y", "10.89.0.1:5000/x/y:latest"),
    ("localhost/x", "localhost/x:latest"),
    ("nginx@" + D_NGINX, "docker.io/library/nginx@" + D_NGINX),
    ("docker-pullable://nginx@" + D_NGINX, "docker.io/library/nginx@" + D_NGINX),
    (ID_NGINX, ID_NGINX),
])
def test_normalize_ref_as_docker_and_containerd(ref, normal):
    assert mi.normalize_ref(ref) == normal


def test_pod_images_are_the_unfinished_pods_of_the_node_only():
    pods = [_pod("web", "n1", ["nginx:1.25"], init=["busybox:1.36"], ephemeral=["debug:1"]),
            _pod("done", "n1", ["done:1"], phase="Succeeded"), _pod("failed", "n1", ["failed:1"], phase="Failed"),
            _pod("pending", "n1", ["pending:1"], phase="Pending"), _pod("other", "n2", ["other:1"]),
            _pod("unbound", None, ["unbound:1"], phase="Pending")]
    assert mi.pod_images(pods, "n1") == {
        "docker.io/library/busybox:1.36": "ns/web", "docker.io/library/nginx:1.25": "ns/web",
        "docker.io/library/debug:1": "ns/web", "docker.io/library/pending:1": "ns/pending"}


def test_sandbox_image_from_the_template_or_containerds_default():
    assert mi.sandbox_image(TEMPLATE) == "registry.k8s.io/pause:3.10"
    assert mi.sandbox_image("") == "registry.k8s.io/pause:3.8"


def test_keep_pattern_errors_name_the_variable_and_the_entry():
    assert mi.keep_pattern_errors(["^docker.io/", "minio"]) == []
    errors = mi.keep_pattern_errors(["ok", "bad[", 3])
    assert len(errors) == 2
    assert errors[0].startswith("kaapana_prune_images_keep[1]: 'bad[' is not a valid regular expression")
    assert errors[1].startswith("kaapana_prune_images_keep[2]: 3 is not a string")
    assert mi.keep_pattern_errors(None) == []


def test_prune_plan_keeps_what_runs_the_sandbox_and_every_ref_of_a_kept_digest():
    plan = mi.prune_plan(LS, [_pod("web", "n1", ["nginx:1.25"])], "n1", TEMPLATE)
    assert plan["remove"] == ["docker.io/library/busybox:1.36", "registry.example.org/kaapana/minio:0.6.1",
                              "registry.lab.invalid/stale:1", "registry.lab.invalid/stale@" + D_STALE]
    assert plan["keep"] == {
        "docker.io/library/nginx:1.25": "used by ns/web",
        "docker.io/library/nginx@" + D_NGINX: "same image as a kept ref (used by ns/web)",
        ID_NGINX: "same image as a kept ref (used by ns/web)",
        "registry.k8s.io/pause:3.10": "containerd's sandbox image"}
    # stale's two refs are one image: counted once
    assert plan["freed"] == 2 * 1024 + 12 * 1024 ** 2 + round(1.2 * 1024 ** 3)
    assert plan["images"] == 8 and plan["freed_human"] == mi.human_bytes(plan["freed"])


def test_prune_plan_keeps_the_digest_a_container_runs_although_its_tag_moved():
    pods = [_pod("web", "n1", ["nginx:1.26"], image_ids=["docker.io/library/nginx@" + D_NGINX])]
    plan = mi.prune_plan(LS, pods, "n1", TEMPLATE)
    assert "docker.io/library/nginx:1.25" in plan["keep"] and ID_NGINX in plan["keep"]
    # a pod naming an image by digest keeps the tag ref of that digest too
    plan = mi.prune_plan(LS, [_pod("web", "n1", ["busybox@" + D_OLD])], "n1", TEMPLATE)
    assert plan["keep"]["docker.io/library/busybox:1.36"] == "the digest a running container uses"


def test_prune_plan_keep_patterns_and_the_offline_registry():
    plan = mi.prune_plan(LS, [], "n1", TEMPLATE, keep=["^registry\\.lab\\.invalid/stale:"])
    assert plan["keep"]["registry.lab.invalid/stale:1"] == "matches kaapana_prune_images_keep"
    assert "registry.lab.invalid/stale@" + D_STALE in plan["keep"]  # same digest
    online = mi.prune_plan(LS, [], "n1", TEMPLATE, registry="registry.example.org/kaapana")
    assert "registry.example.org/kaapana/minio:0.6.1" in online["remove"]
    offline = mi.prune_plan(LS, [], "n1", TEMPLATE, registry="oci://registry.example.org/kaapana/", offline=True)
    assert offline["keep"]["registry.example.org/kaapana/minio:0.6.1"].startswith("from kaapana_registry_url")


def test_prune_plan_of_a_pruned_node_removes_nothing():
    kept = "\n".join(line for line in LS.splitlines() if "nginx" in line or "pause" in line or line.startswith("REF"))
    plan = mi.prune_plan(kept, [_pod("web", "n1", ["nginx:1.25"])], "n1", TEMPLATE)
    assert plan["remove"] == [] and plan["freed"] == 0 and plan["freed_human"] == "0.0 B"


def test_filters_are_thin_adapters():
    filters = microk8s_filter.FilterModule().filters()
    plan = filters["microk8s_images_prune"](LS, [], "n1", template=TEMPLATE)
    assert plan == mi.prune_plan(LS, [], "n1", TEMPLATE)
    assert filters["microk8s_images_keep_errors"](["("], "v")[0].startswith("v[0]: '(' is not")
    with pytest.raises(AnsibleFilterError, match="not a line of `ctr images ls`"):
        filters["microk8s_images_prune"]("garbage\n", [], "n1")
