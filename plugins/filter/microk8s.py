# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Filters for the microk8s and cluster roles: inventory checks, MicroK8s args files,
addon status and resolver parsing. Pure functions; the FilterModule only maps names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.plugin_utils.host_checks import (
    domain_findings,
    firewall_missing_ports,
    host_findings,
)
from ansible_collections.kaapana.platform.plugins.plugin_utils.node_name import microk8s_node_name
from ansible_collections.kaapana.platform.plugins.plugin_utils import microk8s_images, microk8s_upgrade

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    yaml = None

CHANNEL_RE = re.compile(r"^(latest|\d+\.\d+(-strict|-eksd)?)/(stable|candidate|beta|edge)(/[A-Za-z0-9._-]+)?$")


def main_host(groups, group="kaapana_main"):
    """The one host of the main group; anything else is an inventory error worth a clear message."""
    hosts = list((groups or {}).get(group) or [])
    if len(hosts) != 1:
        raise AnsibleFilterError(
            "The inventory group '%s' must contain exactly one host (the main node that holds storage and runs Helm);"
            " it contains %d%s. Put one host under %s in your inventory."
            % (group, len(hosts), (": " + ", ".join(hosts)) if hosts else "", group))
    return hosts[0]


def microk8s_channel_valid(channel):
    """True for snap channels of the microk8s snap such as 1.33/stable or latest/edge."""
    return bool(CHANNEL_RE.fullmatch(str(channel or "")))


IP_FORMS = "an IP address such as 192.168.1.10 or 2001:db8::10"
IP_PORT_FORMS = "an IP address such as 192.168.1.10 or 2001:db8::10, optionally with a port (10.0.0.2:53, [2001:db8::53]:53)"


def _ip_ok(text, port):
    """True for an IPv4/IPv6 address; with port, also IPv4:port and [IPv6]:port."""
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        pass
    if not port:
        return False
    match = re.match(r"^\[([^\]]+)\]:([0-9]{1,5})$", text) or re.match(r"^([0-9.]+):([0-9]{1,5})$", text)
    if not match or not 0 < int(match.group(2)) < 65536:
        return False
    try:
        ipaddress.ip_address(match.group(1))
        return True
    except ValueError:
        return False


def ip_address_check(value, name="value", port=False):
    """None when value (one address or a list of them) holds only IP addresses, else the error message naming
    the variable and the accepted form. port=True also accepts IPv4:port and [IPv6]:port."""
    values = value if isinstance(value, (list, tuple)) else [value]
    for item in values:
        text = "" if item is None else str(item).strip()
        if isinstance(item, bool) or not _ip_ok(text, port):
            return "%s: %r is not %s." % (name, item, IP_PORT_FORMS if port else IP_FORMS)
    return None


def microk8s_args_items(args):
    """{file: {flag: value}} -> sorted [{file, flag, value, line}]; value None removes the flag."""
    items = []
    if not isinstance(args, dict):
        raise AnsibleFilterError("kaapana_microk8s_args must be a mapping of args file name to {flag: value}")
    for fname, flags in sorted(args.items()):
        if not re.fullmatch(r"[a-z0-9-]+", str(fname)):
            raise AnsibleFilterError("kaapana_microk8s_args: '%s' is not a MicroK8s args file name "
                                     "(such as kube-apiserver or kubelet)" % fname)
        for flag, value in sorted((flags or {}).items()):
            if not str(flag).startswith("--"):
                raise AnsibleFilterError("kaapana_microk8s_args.%s: flag '%s' must start with --" % (fname, flag))
            line = None if value is None else ("%s=%s" % (flag, value) if value != "" else flag)
            items.append({"file": fname, "flag": flag, "value": value, "line": line})
    return items


def microk8s_addon_status(status_text):
    """Parse `microk8s status --format yaml` into {addon: 'enabled'|'disabled'}."""
    if yaml is None:  # pragma: no cover
        raise AnsibleFilterError("PyYAML is required")
    try:
        data = yaml.safe_load(status_text) or {}
    except yaml.YAMLError as exc:
        raise AnsibleFilterError("could not parse 'microk8s status --format yaml': %s" % exc)
    result = {}
    for addon in data.get("addons") or []:
        if isinstance(addon, dict) and "name" in addon:
            result[addon["name"]] = addon.get("status", "disabled")
    return result


def microk8s_addons_to_enable(status_text, wanted):
    """Addons from `wanted` ([{name, args}]) that `microk8s status --format yaml` shows not enabled."""
    status = microk8s_addon_status(status_text)
    return [a for a in wanted or [] if status.get(a["name"]) != "enabled"]


def microk8s_enable_argv(addon, binary="microk8s"):
    """argv for `microk8s enable` of one addon, as MicroK8s 1.33 accepts it. The dns addon gets no upstream servers
    here: `enable dns:ARGS` splits ARGS on every ':' (IPv6 and ip:port break), so the role writes them to CoreDNS."""
    name = addon["name"]
    args = addon.get("args")
    argv = [binary, "enable"]
    if isinstance(args, list):
        return argv + [name] + [str(a) for a in args]
    return argv + ["%s:%s" % (name, args) if args else name]


def resolv_nameservers(text, skip_loopback=True):
    """Nameserver addresses from resolv.conf text; loopback stubs (systemd-resolved) are skipped."""
    servers = []
    for line in (text or "").splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            addr = parts[1]
            if skip_loopback and (addr.startswith("127.") or addr == "::1"):
                continue
            if addr not in servers:
                servers.append(addr)
    return servers


FORWARD_RE = re.compile(r"^(?P<indent>[ \t]*)forward[ \t]+\.[ \t]+(?P<to>[^{\n]*?)(?P<block>[ \t]*\{)?[ \t]*$", re.M)


def coredns_forwarders(corefile):
    """Upstreams of the root zone's `forward .` line in a Corefile ([] when there is none)."""
    match = FORWARD_RE.search(corefile or "")
    return match.group("to").split() if match else []


def coredns_set_forwarders(corefile, servers):
    """The Corefile with its `forward .` upstreams replaced; everything else stays as it was."""
    if not servers:
        return corefile
    match = FORWARD_RE.search(corefile or "")
    if not match:
        raise AnsibleFilterError("the CoreDNS Corefile has no 'forward .' line to set the upstream servers on")
    line = "%sforward . %s%s" % (match.group("indent"), " ".join(servers), match.group("block") or "")
    return corefile[:match.start()] + line + corefile[match.end():]


def _firewall_missing_ports(wanted, list_ports, services_info):
    try:
        return firewall_missing_ports(wanted, list_ports, services_info)
    except ValueError as exc:
        raise AnsibleFilterError("kaapana_firewall_node_ports / kaapana_firewall_client_ports: %s" % exc)


def microk8s_nodes(nodes_json, microk8s_only=True):
    """Node names from `kubectl get nodes -o json` (dict or text); MicroK8s nodes carry a microk8s label."""
    import json

    data = json.loads(nodes_json) if isinstance(nodes_json, str) else nodes_json
    names = []
    for item in (data or {}).get("items", []):
        labels = item.get("metadata", {}).get("labels", {}) or {}
        if microk8s_only and not any(k.startswith("node.kubernetes.io/microk8s-") for k in labels):
            continue
        names.append(item["metadata"]["name"])
    return sorted(names)


def microk8s_images_prune(ctr_output, pods, node, template="", keep=None, registry="", offline=False):
    """The images of one node nothing running needs (plugin_utils/microk8s_images.py prune_plan)."""
    try:
        return microk8s_images.prune_plan(ctr_output, pods, node, template, keep or [], registry, offline)
    except (ValueError, re.error) as error:
        raise AnsibleFilterError("microk8s_images_prune: %s" % error)


def microk8s_images_keep_errors(patterns, var="kaapana_prune_images_keep"):
    """Messages for the keep patterns that are not regular expressions."""
    return microk8s_images.keep_pattern_errors(patterns, var)


def microk8s_upgrade_plan(snap_lists, target):
    """The channels each node passes on its way to target, or why not (plugin_utils/microk8s_upgrade.py)."""
    if not isinstance(snap_lists, dict):
        raise AnsibleFilterError("microk8s_upgrade_plan: expects a mapping of host to `snap list microk8s` output")
    return microk8s_upgrade.upgrade_plan(snap_lists, target)


def microk8s_snap_list(stdout):
    """The microk8s line of `snap list` (version, revision, tracking, held, local), {} when not installed."""
    return microk8s_upgrade.parse_snap_list(stdout)


def microk8s_node_state(node):
    """Ready, kubelet version and a one-line summary of a Node object."""
    if not isinstance(node, dict):
        raise AnsibleFilterError("microk8s_node_state: expects a Node object (k8s_info resources[0])")
    return microk8s_upgrade.node_state(node)


def microk8s_drain_leftovers(pods):
    """'namespace/name' of the pods a drained node still runs (not finished, not DaemonSet-owned, not mirror)."""
    if not isinstance(pods, list):
        raise AnsibleFilterError("microk8s_drain_leftovers: expects the node's pods (k8s_info resources)")
    return microk8s_upgrade.drain_leftovers(pods)


class FilterModule(object):
    def filters(self):
        return {
            "main_host": main_host,
            "ip_address_check": ip_address_check,
            "microk8s_channel_valid": microk8s_channel_valid,
            "microk8s_args_items": microk8s_args_items,
            "microk8s_addon_status": microk8s_addon_status,
            "microk8s_addons_to_enable": microk8s_addons_to_enable,
            "microk8s_enable_argv": microk8s_enable_argv,
            "resolv_nameservers": resolv_nameservers,
            "microk8s_nodes": microk8s_nodes,
            "microk8s_node_name": microk8s_node_name,
            "microk8s_images_prune": microk8s_images_prune,
            "microk8s_images_keep_errors": microk8s_images_keep_errors,
            "microk8s_upgrade_plan": microk8s_upgrade_plan,
            "microk8s_snap_list": microk8s_snap_list,
            "microk8s_node_state": microk8s_node_state,
            "microk8s_drain_leftovers": microk8s_drain_leftovers,
            "preflight_host_findings": host_findings,
            "preflight_domain_findings": domain_findings,
            "firewall_missing_ports": _firewall_missing_ports,
            "coredns_forwarders": coredns_forwarders,
            "coredns_set_forwarders": coredns_set_forwarders,
        }
