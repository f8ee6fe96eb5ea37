# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Which of a node's containerd images nothing running needs (playbooks/prune_images.yml, kaapanactl.sh's
--remove-all-images-ctr made safe). Controller-side only; pure functions over `microk8s ctr images ls` output,
the pods read from the API and the containerd template.

kaapanactl.sh removes every image (`microk8s ctr images rm $(microk8s ctr images ls -q)`), which breaks a running
platform the next time one of its containers restarts. Here an image is kept when
  * a pod bound to the node that has not finished names it (init, app and ephemeral containers), or its container
    status reports it (imageID: the digest it actually runs, which a re-pushed tag no longer names);
  * it is containerd's sandbox_image (every pod's sandbox runs it; no pod spec names it);
  * a ref matches one of the admin's regular expressions (kaapana_prune_images_keep);
  * offline only: it is from the platform's registry (kaapana_registry_url), which an offline site cannot pull
    from again.
containerd lists one image under several refs (tag, repo digest, image ID sha256:...): every ref of a kept image's
digest is kept, so a kept image stays whole.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# containerd 1.7's default sandbox_image (pkg/cri/config/config_unix.go), used when the template sets none.
DEFAULT_SANDBOX_IMAGE = "registry.k8s.io/pause:3.8"
# containerd's progress.Bytes, the unit of ctr's SIZE column (go-units CustomSize, base 1024).
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "TiB": 1024 ** 4, "PiB": 1024 ** 5}
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
_FINISHED = ("Succeeded", "Failed")


def size_bytes(text):
    """Bytes of a SIZE cell of `ctr images ls` ("26.1 MiB"); ctr rounds to a tenth of the unit, so this is as
    exact as containerd reports it."""
    match = re.match(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTP]?i?B)\s*$", str(text))
    if not match or match.group(2) not in _UNITS:
        raise ValueError("not a ctr image size: %r" % (text,))
    return int(round(float(match.group(1)) * _UNITS[match.group(2)]))


def parse_ctr_images(text):
    """[{ref, type, digest, size, platforms, labels}] of `ctr images ls` output (the header line is skipped; size
    in bytes)."""
    images = []
    for line in str(text or "").splitlines():
        cells = line.split()
        if not cells or cells[0] == "REF":
            continue
        if len(cells) < 6:
            raise ValueError("not a line of `ctr images ls`: %r" % line)
        images.append({"ref": cells[0], "type": cells[1], "digest": cells[2],
                       "size": size_bytes(cells[3] + " " + cells[4]), "platforms": cells[5],
                       "labels": " ".join(cells[6:]) or "-"})
    return images


def normalize_ref(ref):
    """A reference as containerd's CRI stores it (docker's normalisation): docker.io/library/ for a bare name,
    docker.io/ for a name without a registry host, :latest when there is neither tag nor digest. An image ID
    (sha256:<64 hex>) stays as it is; a pod's status imageID may carry docker-pullable://."""
    ref = str(ref or "").strip()
    for prefix in ("docker-pullable://", "docker://", "containerd://"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
    if not ref or _IMAGE_ID.match(ref):
        return ref
    name, digest = (ref.split("@", 1) + [None])[:2]
    first = name.split("/")[0]
    if "/" not in name:
        name = "docker.io/library/" + name
    elif "." not in first and ":" not in first and first != "localhost":
        name = "docker.io/" + name
    if ":" not in name.rsplit("/", 1)[-1] and not digest:
        name += ":latest"
    return name + ("@" + digest if digest else "")


def _digest_of(ref):
    return ref.split("@", 1)[1] if "@" in ref else (ref if _IMAGE_ID.match(ref) else None)


def pod_images(pods, node):
    """{normalised ref: "namespace/pod"} of the pods bound to node that have not finished (phase not Succeeded or
    Failed; a Pending pod bound to the node is about to start): their init, app and ephemeral containers' images
    and the imageIDs of their container statuses."""
    used = {}
    for pod in pods or []:
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        if spec.get("nodeName") != node or status.get("phase") in _FINISHED:
            continue
        meta = pod.get("metadata") or {}
        where = "%s/%s" % (meta.get("namespace", ""), meta.get("name", ""))
        refs = [c.get("image") for key in ("initContainers", "containers", "ephemeralContainers")
                for c in spec.get(key) or []]
        refs += [c.get("imageID") for key in ("initContainerStatuses", "containerStatuses",
                                              "ephemeralContainerStatuses") for c in status.get(key) or []]
        for ref in refs:
            if ref:
                used.setdefault(normalize_ref(ref), where)
    return used


def sandbox_image(template):
    """containerd's sandbox_image from MicroK8s' containerd-template.toml (its default when the template sets
    none or cannot be read)."""
    match = re.search(r'^\s*sandbox_image\s*=\s*"([^"]+)"', str(template or ""), re.M)
    return match.group(1) if match else DEFAULT_SANDBOX_IMAGE


def keep_pattern_errors(patterns, var="kaapana_prune_images_keep"):
    """A message for each entry that is not a Python regular expression, naming the variable and the entry."""
    errors = []
    for index, pattern in enumerate(patterns or []):
        if not isinstance(pattern, str):
            errors.append("%s[%d]: %r is not a string (a regular expression matched against image refs)"
                          % (var, index, pattern))
            continue
        try:
            re.compile(pattern)
        except re.error as error:
            errors.append("%s[%d]: %r is not a valid regular expression: %s" % (var, index, pattern, error))
    return errors


def prune_plan(ctr_output, pods, node, template="", keep=(), registry="", offline=False):
    """What to remove from one node's containerd images and what stays, and why.

    Returns {remove: [refs], keep: {ref: reason}, freed: bytes of the removed images (each digest once, as
    containerd stores the content once), freed_human, images: count of refs listed}."""
    images = parse_ctr_images(ctr_output)
    used = pod_images(pods, node)
    used_digests = set(d for d in (_digest_of(ref) for ref in used) if d)
    sandbox = normalize_ref(sandbox_image(template))
    patterns = [re.compile(p) for p in keep or []]
    prefix = str(registry or "").strip().rstrip("/")
    if prefix.startswith("oci://"):
        prefix = prefix[len("oci://"):]
    reasons = {}
    for image in images:
        ref = image["ref"]
        name = normalize_ref(ref)
        if name in used:
            reasons[ref] = "used by " + used[name]
        elif image["digest"] in used_digests:
            reasons[ref] = "the digest a running container uses"
        elif name == sandbox:
            reasons[ref] = "containerd's sandbox image"
        elif any(p.search(ref) for p in patterns):
            reasons[ref] = "matches kaapana_prune_images_keep"
        elif offline and prefix and (ref.startswith(prefix + "/") or name.startswith(prefix + "/")):
            reasons[ref] = "from kaapana_registry_url, which an offline site cannot pull again"
    # the other refs of a kept image's digest name the same image: keep them with it
    kept_digests = dict((i["digest"], reasons[i["ref"]]) for i in images if i["ref"] in reasons)
    for image in images:
        if image["ref"] not in reasons and image["digest"] in kept_digests:
            reasons[image["ref"]] = "same image as a kept ref (%s)" % kept_digests[image["digest"]]
    remove = sorted(i["ref"] for i in images if i["ref"] not in reasons)
    sizes = dict((i["digest"], i["size"]) for i in images if i["ref"] in remove)
    freed = sum(sizes.values())
    return {"remove": remove, "keep": dict(sorted(reasons.items())), "freed": freed,
            "freed_human": human_bytes(freed), "images": len(images)}


def human_bytes(size):
    """Bytes as ctr prints them (containerd's progress.Bytes: one decimal, base 1024)."""
    value, unit = float(size), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            break
        value /= 1024
    return "%.1f %s" % (value, unit)
