# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
"""Growing the slow-data volumes: which claims grow, and what Kubernetes would refuse."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaapana.platform.plugins.plugin_utils.volume_growth import slow_volume_growth

SLOW = "kaapana-longhorn-slow-data"


def _claim(name, size, cls=SLOW, deleting=False):
    meta = {"name": name, "namespace": "services"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-05T00:00:00Z"
    return {"metadata": meta, "spec": {"storageClassName": cls, "volumeName": "pvc-" + name,
                                       "resources": {"requests": {"storage": size}}}}


def test_a_larger_size_grows_every_slow_claim_and_leaves_the_others():
    claims = [_claim("minio-pv-claim", "100Gi"), _claim("dicom-pv-claim", "100Gi"),
              _claim("postgres-pv-claim", "10Gi", cls="kaapana-longhorn-fast-db")]
    plan = slow_volume_growth(claims, "150Gi", SLOW, True)
    assert [(g["name"], g["current"], g["desired"], g["volume"]) for g in plan["grow"]] == [
        ("minio-pv-claim", "100Gi", "150Gi", "pvc-minio-pv-claim"),
        ("dicom-pv-claim", "100Gi", "150Gi", "pvc-dicom-pv-claim")]
    assert plan["errors"] == [] and plan["unchanged"] == []


def test_the_same_size_in_other_units_is_unchanged():
    plan = slow_volume_growth([_claim("minio-pv-claim", "1Ti")], "1024Gi", SLOW, True)
    assert plan == {"grow": [], "errors": [], "unchanged": ["services/minio-pv-claim"]}


def test_a_smaller_size_is_refused_naming_the_variable_the_claim_and_the_way_out():
    plan = slow_volume_growth([_claim("minio-pv-claim", "150Gi")], "100Gi", SLOW, True)
    assert plan["grow"] == []
    assert len(plan["errors"]) == 1
    for words in ("kaapana_volume_slow_data is 100Gi", "services/minio-pv-claim", "cannot shrink", "150Gi or more"):
        assert words in plan["errors"][0]


def test_growth_on_a_class_without_expansion_is_refused():
    plan = slow_volume_growth([_claim("minio-pv-claim", "100Gi", cls="kaapana-hostpath-slow-data-dir")], "200Gi",
                              "kaapana-hostpath-slow-data-dir", False)
    assert plan["grow"] == [] and "does not allow volume expansion" in plan["errors"][0]
    assert "Keep kaapana_volume_slow_data at 100Gi" in plan["errors"][0]


def test_deleting_claims_no_claims_and_bad_sizes_change_nothing():
    assert slow_volume_growth([_claim("minio-pv-claim", "100Gi", deleting=True)], "50Gi", SLOW, True)["errors"] == []
    assert slow_volume_growth(None, "150Gi", SLOW, True) == {"grow": [], "errors": [], "unchanged": []}
    assert slow_volume_growth([_claim("minio-pv-claim", "100Gi")], "lots", SLOW, True)["grow"] == []
