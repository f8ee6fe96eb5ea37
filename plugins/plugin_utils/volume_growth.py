# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Growing Kaapana's slow-data volumes with kaapana_volume_slow_data, decided before any change.

Kaapana's charts size every "slow" volume with global.volume_slow_data (kaapana-library-chart's
dynamicPersistentVolumes) and keep the PVCs through an undeploy (helm.sh/resource-policy: keep). The next install
adopts a kept PVC and applies the chart's size to it, and the API server (PersistentVolumeClaimResize admission and
PVC validation) refuses a smaller request on any claim and a larger one on a class without allowVolumeExpansion:
Kaapana's phase-2 install would then fail halfway. Longhorn's slow class (kaapana-longhorn-slow-data) allows
expansion; MicroK8s' hostpath classes do not (their volumes are directories without a size)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaapana.platform.plugins.plugin_utils.input_checks import quantity_bytes


def _get(data, *keys):
    for key in keys:
        data = (data or {}).get(key) if isinstance(data, dict) else None
    return data


def slow_volume_growth(claims, desired, slow_class, expandable, var_name="kaapana_volume_slow_data"):
    """claims: the PVCs of the platform's services namespace (k8s_info resources); desired: the new size
    (kaapana_volume_slow_data); slow_class: the slow storage class's name; expandable: whether that class allows
    expansion. Returns {grow: [{namespace, name, volume, current, desired}] (claims to patch), errors (refusals, each
    naming the variable, the claim and the way out), unchanged (names of claims already at the size)}."""
    want = quantity_bytes(desired)
    result = {"grow": [], "errors": [], "unchanged": []}
    if want is None:
        return result  # the quantity check names the variable
    for claim in claims or []:
        meta = claim.get("metadata") or {}
        if meta.get("deletionTimestamp") or _get(claim, "spec", "storageClassName") != slow_class:
            continue
        current = _get(claim, "spec", "resources", "requests", "storage")
        have = quantity_bytes(current)
        if have is None:
            continue
        where = "%s/%s" % (meta.get("namespace", ""), meta.get("name", ""))
        if want < have:
            result["errors"].append(
                "%s is %s, but the volume %s already holds %s: Kubernetes cannot shrink a volume. Keep %s at %s or "
                "more (to use less space, back up the data, purge and deploy anew)." % (
                    var_name, desired, where, current, var_name, current))
        elif want > have:
            if not expandable:
                result["errors"].append(
                    "%s is %s, but the volume %s (%s, class %s) cannot grow: its storage class does not allow volume "
                    "expansion (hostpath volumes are directories: their size is only a label). Keep %s at %s." % (
                        var_name, desired, where, current, slow_class, var_name, current))
            else:
                result["grow"].append({"namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
                                       "volume": _get(claim, "spec", "volumeName") or "", "current": current,
                                       "desired": desired})
        else:
            result["unchanged"].append(where)
    return result
