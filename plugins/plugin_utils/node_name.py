# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""A host's Kubernetes Node name as MicroK8s registers it: the kernel's host name in lower case
(canonical/microk8s scripts/wrappers/join.py uses socket.gethostname().lower(); the kubelet gets no
--hostname-override). On an FQDN-named server that is the whole FQDN, while Ansible's `hostname` fact is the
short name. The one place for this rule: the microk8s_node_name filter (kaapana_node_name's default) and the
platform plan's fallback call it. Controller-side only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def microk8s_node_name(facts):
    """The Node name MicroK8s gives a host with these gathered facts ('' when the facts hold no host name)."""
    facts = facts or {}
    # `nodename` is uname's node name, what gethostname() returns; `hostname` is cut at the first dot.
    name = facts.get("nodename") or facts.get("hostname") or ""
    return str(name).strip().lower()
