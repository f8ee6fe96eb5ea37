# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Filters for the gpu role: nvidia-smi output parsing, PCI scan, GPU facts and the cluster-wide
GPU support decision. The logic lives in plugin_utils/gpu.py; this file only maps names and turns
errors into AnsibleFilterError."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.plugin_utils import gpu as G


def _wrap(func, name):
    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            raise AnsibleFilterError("%s: %s" % (name, exc))
    run.__name__ = name
    run.__doc__ = func.__doc__
    return run


def nvidia_smi_query(text, fields):
    """nvidia-smi --query-gpu CSV output -> list of dicts with typed values."""
    return G.parse_query_csv(text, fields)


def nvidia_smi_cuda_version(text):
    """CUDA version from the plain nvidia-smi table (or nvidia-smi --version), or None."""
    return G.parse_cuda_version(text)


def nvidia_smi_status(result):
    """Registered nvidia-smi command result -> {state, rc, message, fix, unexpected}."""
    if not isinstance(result, Mapping):
        raise TypeError("expects the registered result of an nvidia-smi command task, got %s" % type(result).__name__)
    return G.nvidia_smi_status(result)


def nvidia_pci_devices(devices):
    """PCI devices (dicts with vendor and class) -> the NVIDIA display controllers among them."""
    if isinstance(devices, Mapping) or not hasattr(devices, "__iter__") or isinstance(devices, str):
        raise TypeError("expects a list of PCI devices ({address, vendor, class}), got %s" % type(devices).__name__)
    return G.nvidia_pci_devices(list(devices))


def pci_uevent_devices(text):
    """grep -H output of /sys/bus/pci/devices/*/uevent -> [{address, vendor, device, class, driver}]."""
    return G.parse_pci_uevents(text)


def nvidia_gpu_facts(query_result, fields, plain_result=None, pci_devices=None):
    """Registered nvidia-smi results (+ PCI devices) -> the kaapana_gpu fact."""
    for label, value in (("query_result", query_result), ("plain_result", plain_result)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError("%s must be a registered command result, got %s" % (label, type(value).__name__))
    return G.gpu_facts(query_result, fields, plain_result, None if pci_devices is None else list(pci_devices))


def gpu_support(setting, hostvars, hosts):
    """kaapana_gpu_support + every play host's kaapana_gpu fact -> {enabled, reason, gpu_hosts, hosts_without_facts}."""
    gpu_hosts, unknown = [], []
    for host in hosts or []:
        try:
            facts = hostvars[host].get("kaapana_gpu")
        except KeyError:
            facts = None
        if not isinstance(facts, Mapping):
            unknown.append(host)
        elif facts.get("present"):
            gpu_hosts.append(host)
    enabled, reason = G.resolve_support(setting, gpu_hosts)
    return {"enabled": enabled, "reason": reason, "gpu_hosts": gpu_hosts, "hosts_without_facts": unknown}


class FilterModule(object):
    """kaapana.platform GPU filters."""

    def filters(self):
        funcs = {
            "nvidia_smi_query": nvidia_smi_query,
            "nvidia_smi_cuda_version": nvidia_smi_cuda_version,
            "nvidia_smi_status": nvidia_smi_status,
            "nvidia_pci_devices": nvidia_pci_devices,
            "pci_uevent_devices": pci_uevent_devices,
            "nvidia_gpu_facts": nvidia_gpu_facts,
            "gpu_support": gpu_support,
        }
        return dict((name, _wrap(func, name)) for name, func in funcs.items())
