# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""The storage provider: the spellings of kaapana_storage_provider kaapanactl.sh accepts, decided here and
nowhere else, and the storage classes of each provisioner (kaapanactl.sh's setup_storage_provider table).

Pure functions raising StorageProviderError (a ValueError); the filters in plugins/filter/storage.py turn it into
AnsibleFilterError. Controller-side only (plugin_utils): nothing here runs on managed nodes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_names import is_dns1123_subdomain

HOSTPATH = "microk8s.io/hostpath"
LONGHORN = "driver.longhorn.io"

# kaapanactl.sh setup_storage_provider: the accepted spellings of STORAGE_PROVIDER.
PROVIDER_ALIASES = {
    "hostpath": HOSTPATH,
    "microk8s": HOSTPATH,
    HOSTPATH: HOSTPATH,
    "longhorn": LONGHORN,
    LONGHORN: LONGHORN,
}
ACCEPTED_PROVIDERS = "hostpath, microk8s, microk8s.io/hostpath, longhorn, driver.longhorn.io"

# The reference's table (kaapanactl.sh / deploy_platform_template.sh).
STORAGE_CLASSES = {
    HOSTPATH: {
        "slow": "kaapana-hostpath-slow-data-dir",
        "fast": "kaapana-hostpath-fast-data-dir",
        "workflow": "kaapana-hostpath-fast-data-dir",
    },
    LONGHORN: {
        "slow": "kaapana-longhorn-slow-data",
        "fast": "kaapana-longhorn-fast-db",
        "workflow": "kaapana-longhorn-fast-workflow",
    },
}
CLASS_KINDS = ("slow", "fast", "workflow")
# What shows that a provisioner is installed (kaapanactl.sh checks it before the deploy): Longhorn's CSIDriver, and
# the StorageClass MicroK8s' hostpath-storage addon creates.
PROVIDER_OBJECTS = {
    HOSTPATH: {"kind": "StorageClass", "name": "microk8s-hostpath",
               "fix": "enable MicroK8s hostpath storage first: microk8s enable hostpath-storage (the microk8s role "
                      "does with its default addons: playbooks/prepare_nodes.yml or site.yml)"},
    LONGHORN: {"kind": "CSIDriver", "name": LONGHORN,
               "fix": "install Longhorn first: playbooks/storage.yml (ansible-playbook kaapana.platform.storage) "
                      "or site.yml"},
}
# A StorageClass name is a DNS-1123 subdomain.


class StorageProviderError(ValueError):
    """An unknown provider or a bad storage class override; the message names the variable."""


def _text(value):
    return "" if value is None else str(value)


def storage_provisioner(provider, var_name="kaapana_storage_provider"):
    """Canonical provisioner name for any spelling kaapanactl.sh accepts."""
    key = _text(provider).strip().lower()
    if key not in PROVIDER_ALIASES:
        raise StorageProviderError(
            "%s: unknown storage provider %r. Accepted values: %s (hostpath for single-node clusters, "
            "longhorn for multi-node clusters)." % (var_name, provider, ACCEPTED_PROVIDERS))
    return PROVIDER_ALIASES[key]


def is_longhorn(provider):
    """True when the provider is one of Longhorn's spellings; False for any other, unknown ones included (the
    platform's checks reject those with a message)."""
    return PROVIDER_ALIASES.get(_text(provider).strip().lower()) == LONGHORN


def storage_classes(provider, overrides=None, var_name="kaapana_storage_provider",
                    override_var="kaapana_storage_class_%s"):
    """{slow, fast, workflow, provisioner} for a storage provider, as kaapanactl.sh sets
    STORAGE_CLASS_SLOW/FAST/WORKFLOW; non-empty overrides replace single classes (mixed storage)."""
    provisioner = storage_provisioner(provider, var_name)
    result = dict(STORAGE_CLASSES[provisioner])
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise StorageProviderError("storage_classes: overrides must be a mapping with the keys slow, fast and "
                                   "workflow, not %r" % (overrides,))
    for kind, value in overrides.items():
        if kind not in CLASS_KINDS:
            raise StorageProviderError("storage_classes: unknown override %r; the storage class kinds are slow, "
                                       "fast and workflow." % (kind,))
        if value is None or _text(value).strip() == "":
            continue
        name = _text(value).strip()
        if not is_dns1123_subdomain(name):
            raise StorageProviderError(
                "%s: %r is not a StorageClass name (lower-case letters, digits, '-' and '.', starting and ending "
                "with a letter or digit)." % (override_var % kind, value))
        result[kind] = name
    result["provisioner"] = provisioner
    return result
