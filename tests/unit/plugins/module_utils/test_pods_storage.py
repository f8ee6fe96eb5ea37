# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Why a pending pod's PVC cannot be bound: a missing StorageClass, or one whose CSI driver is not installed."""

from ansible_collections.kaapana.platform.plugins.module_utils import pods


def pvc(class_name='kaapana-hostpath-fast-data-dir', phase='Pending'):
    return {'metadata': {'name': 'c'}, 'spec': {'storageClassName': class_name}, 'status': {'phase': phase}}


def test_pod_claims_lists_each_claim_once_in_volume_order():
    pod = {'spec': {'volumes': [{'name': 'a', 'persistentVolumeClaim': {'claimName': 'data'}},
                                {'name': 'b', 'emptyDir': {}},
                                {'name': 'c', 'persistentVolumeClaim': {'claimName': 'db'}},
                                {'name': 'd', 'persistentVolumeClaim': {'claimName': 'data'}}]}}
    assert pods.pod_claims(pod) == ['data', 'db']
    assert pods.pod_claims({}) == []


def test_a_missing_kaapana_class_names_the_claim_the_class_and_the_storage_release():
    text = pods.storage_problem('services', 'minio-pvc', pvc(), None)
    assert text.startswith('PVC services/minio-pvc: StorageClass kaapana-hostpath-fast-data-dir does not exist: '
                           'Kaapana 0.6.1+ installs it with the kaapana-storageclass release')


def test_a_missing_foreign_class_has_no_kaapana_hint():
    assert pods.storage_problem('ns', 'c', pvc('fast-ssd'), None) == 'PVC ns/c: StorageClass fast-ssd does not exist'


def test_a_longhorn_class_without_its_csidriver_says_longhorn_is_not_installed():
    text = pods.storage_problem('ns', 'c', pvc('kaapana-longhorn-fast-db'),
                                {'provisioner': 'driver.longhorn.io'}, csi_driver_present=False)
    assert text == ('PVC ns/c: StorageClass kaapana-longhorn-fast-db has no provisioner: its CSI driver '
                    'driver.longhorn.io is not installed (no CSIDriver driver.longhorn.io); install Longhorn '
                    '(playbooks/storage.yml with kaapana_storage_provider: longhorn)')


def test_hostpath_needs_no_csidriver_and_a_present_driver_is_fine():
    assert not pods.needs_csi_driver('microk8s.io/hostpath')
    assert pods.needs_csi_driver('driver.longhorn.io') and pods.needs_csi_driver('ebs.csi.aws.com')
    assert pods.storage_problem('ns', 'c', pvc(), {'provisioner': 'microk8s.io/hostpath'}, None) is None
    assert pods.storage_problem('ns', 'c', pvc(), {'provisioner': 'driver.longhorn.io'}, True) is None


def test_bound_claims_and_claims_without_a_class_are_not_a_storage_problem():
    assert pods.storage_problem('ns', 'c', pvc(phase='Bound'), None) is None
    assert pods.storage_problem('ns', 'c', pvc(class_name=''), None) is None


def test_a_missing_claim_is_named():
    assert pods.storage_problem('ns', 'c', None) == 'PVC ns/c does not exist'


def test_describe_bad_pod_puts_the_storage_problem_under_the_headline():
    rec = {'namespace': 'ns', 'name': 'p', 'cls': {'reason': 'Unschedulable', 'message': 'unbound'}}
    lines = pods.describe_bad_pod(rec, 0, {'storage': ['PVC ns/c: StorageClass x does not exist']})
    assert lines == ['- ns/p: Unschedulable: unbound', '  storage: PVC ns/c: StorageClass x does not exist']
