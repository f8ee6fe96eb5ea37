# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Preflight checks of a host's resources against what Kaapana needs (kaapanactl's preflight and Kaapana's stated
requirements, docs/source/installation_guide/requirements.rst): free space under /var/snap and in the data
directories, memory and cores, a lower-case host name, the inotify limits of Kaapana's FAQ and the ports a firewalld
zone lets through. Each check has its own variable; a threshold of 0 (or false) turns it off. Pure functions over
Ansible facts and command output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

GIB = 1024 ** 3


def mount_of(path, mounts):
    """The entry of ansible_facts.mounts that holds path (the longest mount point that is path or a parent of it),
    or None. The path need not exist yet: a data directory is created later on its parent's filesystem."""
    path = posixpath.normpath("/" + str(path or "").lstrip("/"))
    best = None
    for mount in mounts or []:
        point = posixpath.normpath(str(mount.get("mount") or ""))
        if point != "/" and path != point and not path.startswith(point + "/"):
            continue
        if best is None or len(point) > len(posixpath.normpath(best["mount"])):
            best = mount
    return best


def df_space(df_lines):
    """{file: {"mount", "size_available"}} from `df -B1 --output=file,target,avail PATH...` (its header skipped).
    df names every argument that exists; Ansible's mount facts leave out file systems whose device is no path (the
    overlay root of a container, a ZFS root such as rpool/ROOT/ubuntu), so df is asked as well."""
    found = {}
    for line in df_lines or []:
        fields = str(line).split()
        if len(fields) < 3 or fields[0] == "File" or not fields[-1].isdigit():
            continue
        found[posixpath.normpath(fields[0])] = {"mount": fields[-2], "size_available": int(fields[-1])}
    return found


def space_of(path, mounts, df=None):
    """The file system holding path: df's answer for the nearest ancestor it names, else ansible_facts.mounts'."""
    path = posixpath.normpath("/" + str(path or "").lstrip("/"))
    current = path
    while df:
        if current in df:
            return df[current]
        if current == "/":
            break
        current = posixpath.dirname(current)
    return mount_of(path, mounts)


def _gib(size_bytes):
    return "%.1f GiB" % (float(size_bytes) / GIB)


def _space_findings(host, what, paths, min_gib, variable, why, mounts, df):
    """One error per filesystem among paths that has less than min_gib free per path it holds."""
    errors = []
    by_mount = {}
    for path, names in paths:
        mount = space_of(path, mounts, df)
        if mount is None:
            continue
        entry = by_mount.setdefault(mount["mount"], {"mount": mount, "paths": []})
        entry["paths"].append((path, names))
    for point, entry in sorted(by_mount.items()):
        free = entry["mount"].get("size_available")
        if free is None:
            continue
        wanted = min_gib * len(entry["paths"]) * GIB
        if free >= wanted:
            continue
        listed = ", ".join("%s (%s)" % (path, names) if names else path for path, names in entry["paths"])
        errors.append(
            "%s on %s: %s free on the filesystem mounted at %s, which holds %s; %s needs at least %s there (%s = %s GiB"
            "%s). Free space or grow that filesystem, or lower %s (0 turns the check off)."
            % (what, host, _gib(free), point, listed, why, _gib(wanted), variable, min_gib,
               " per directory" if len(entry["paths"]) > 1 else "", variable))
    return errors


def host_findings(facts, checks):
    """{"errors": [...], "warnings": [...]} for one host.

    facts: the host's ansible_facts (mounts, memtotal_mb, processor_vcpus or processor_cores, nodename).
    checks: host (inventory name), main (bool: the main node, which runs the platform and holds the data), df (the
    lines of `df -B1 --output=file,target,avail` over the paths and their ancestors; preferred over facts.mounts),
    snap_min_free_gib, data_dirs ([[path, variable names]]), data_min_free_gib, memory_min_gib, memory_fail_gib,
    cores_min, cores_fail, hostname_lowercase (bool), inotify ({key: [effective value, where it comes from]}),
    inotify_min.
    """
    facts = facts or {}
    host = checks.get("host") or facts.get("nodename") or "this host"
    errors, warnings = [], []
    mounts = facts.get("mounts") or []
    df = df_space(checks.get("df"))

    snap_min = float(checks.get("snap_min_free_gib") or 0)
    if snap_min > 0:
        errors += _space_findings(host, "/var/snap", [("/var/snap", "")], snap_min, "kaapana_preflight_snap_min_free_gib",
                                  "MicroK8s keeps every container image under /var/snap: Kaapana (kaapanactl wants an"
                                  " 80 GiB filesystem)", mounts, df)

    data_min = float(checks.get("data_min_free_gib") or 0)
    if data_min > 0 and checks.get("main"):
        paths = {}
        for path, name in checks.get("data_dirs") or []:
            paths.setdefault(posixpath.normpath(str(path)), []).append(name)
        errors += _space_findings(host, "The data directories", [(p, ", ".join(n)) for p, n in sorted(paths.items())],
                                  data_min, "kaapana_preflight_data_min_free_gib",
                                  "Kaapana (its stated minimum is 100 GB for each data directory)", mounts, df)

    if checks.get("main"):
        memory_mb = facts.get("memtotal_mb")
        memory_min = float(checks.get("memory_min_gib") or 0)
        memory_fail = float(checks.get("memory_fail_gib") or 0)
        if memory_mb is not None and (memory_min > 0 or memory_fail > 0):
            have = float(memory_mb) / 1024
            if memory_fail > 0 and have < memory_fail:
                errors.append(
                    "%s has %.1f GiB of memory, far below Kaapana's minimum of 64 GiB: the platform's pods cannot all"
                    " be scheduled (kaapana_preflight_memory_fail_gib = %s GiB). Use a larger server, or lower"
                    " kaapana_preflight_memory_fail_gib (0 turns the check off) for a test install."
                    % (host, have, _num(memory_fail)))
            elif memory_min > 0 and have < memory_min:
                warnings.append(
                    "%s has %.1f GiB of memory, less than kaapana_preflight_memory_min_gib = %s GiB (Kaapana's minimum"
                    " 64 GiB, 128 GiB recommended): expect pods that stay Pending or are killed for memory."
                    % (host, have, _num(memory_min)))
        cores = facts.get("processor_vcpus") or facts.get("processor_cores")
        cores_min = int(checks.get("cores_min") or 0)
        cores_fail = int(checks.get("cores_fail") or 0)
        if cores and (cores_min > 0 or cores_fail > 0):
            if cores_fail > 0 and int(cores) < cores_fail:
                errors.append(
                    "%s has %d CPU cores, far below Kaapana's minimum of 8 (kaapana_preflight_cores_fail = %d). Use a"
                    " larger server, or lower kaapana_preflight_cores_fail (0 turns the check off) for a test install."
                    % (host, int(cores), cores_fail))
            elif cores_min > 0 and int(cores) < cores_min:
                warnings.append(
                    "%s has %d CPU cores, less than kaapana_preflight_cores_min = %d (Kaapana's minimum 8, 16 or more"
                    " recommended): the platform will be slow to start and to run workflows."
                    % (host, int(cores), cores_min))

    nodename = str(facts.get("nodename") or "")
    if checks.get("hostname_lowercase") and nodename and nodename != nodename.lower():
        lower = nodename.lower()
        errors.append(
            "The host name of %s is '%s', with capital letters. MicroK8s registers the Node as '%s' (Kubernetes"
            " names are lower case) while other tools use the name as it is, so certificates and lookups by host"
            " name do not match. Set a lower-case host name (hostnamectl set-hostname %s), or set"
            " kaapana_preflight_hostname_lowercase: false to accept it." % (host, nodename, lower, lower))

    inotify_min = int(checks.get("inotify_min") or 0)
    if inotify_min > 0:
        for key, (value, source) in sorted((checks.get("inotify") or {}).items()):
            try:
                number = int(value)
            except (TypeError, ValueError):
                continue
            if number < inotify_min:
                errors.append(
                    "%s on %s is %d (%s), below the %d Kaapana's FAQ asks for (\"failed to create fsnotify watcher:"
                    " too many open files\" in pods otherwise). Set %s: %d or more in kaapana_sysctl (with"
                    " kaapana_sysctl_apply: true), or lower kaapana_preflight_inotify_min (0 turns the check off)."
                    % (key, host, number, source, inotify_min, key, inotify_min))
    return {"errors": errors, "warnings": warnings}


def _num(value):
    return ("%d" % value) if float(value).is_integer() else ("%s" % value)


def domain_findings(domain, resolved, node_addresses, host):
    """Errors for a platform domain that does not resolve on the main node, or resolves to no node's address.

    resolved: the lines of `getent ahosts DOMAIN` (address first); node_addresses: every address of every node."""
    addresses = []
    for line in resolved or []:
        fields = str(line).split()
        if fields and fields[0] not in addresses:
            addresses.append(fields[0])
    nodes = set(str(a) for a in node_addresses or [])
    relax = "or set kaapana_preflight_domain_resolves: false to deploy without it (the platform is then not reachable by name)"
    if not addresses:
        return ["kaapana_domain %s does not resolve on %s (getent ahosts): browsers and Kaapana's own services reach the"
                " platform by this name. Add a DNS record (or an /etc/hosts entry on every node and client) that points"
                " to the main node's address, %s." % (domain, host, relax)]
    if not nodes.intersection(addresses):
        return ["kaapana_domain %s resolves to %s on %s, none of which is an address of a node of this cluster (%s):"
                " requests for the platform would go elsewhere. Point its DNS record to the main node's address, %s."
                % (domain, ", ".join(addresses), host, ", ".join(sorted(nodes)) or "none known", relax)]
    return []


def _port_ranges(specs):
    """(low, high, protocol) of firewalld port specs such as 80/tcp or 30000-32767/tcp; others are skipped."""
    ranges = []
    for spec in specs or []:
        match = re.match(r"^(\d+)(?:-(\d+))?/(tcp|udp|sctp|dccp)$", str(spec).strip())
        if match:
            low = int(match.group(1))
            ranges.append((low, int(match.group(2) or low), match.group(3)))
    return ranges


def firewall_open_ports(list_ports, services_info):
    """The port specs a firewalld zone lets through: `firewall-cmd --zone Z --list-ports` (one line, specs separated
    by spaces) plus the `ports:` line of `firewall-cmd --info-service S` for each service the zone lists."""
    specs = str(list_ports or "").split()
    for info in services_info or []:
        for line in str(info).splitlines():
            key, sep, value = line.strip().partition(":")
            if sep and key == "ports":
                specs += value.split()
    return specs


def firewall_missing(wanted, open_specs):
    """The wanted port specs (80/tcp, 30000-32767/tcp) that no open spec covers, in the order given.

    Raises ValueError naming a wanted entry that is not a port spec."""
    opened = _port_ranges(open_specs)
    missing = []
    for spec in wanted or []:
        parsed = _port_ranges([spec])
        if not parsed:
            raise ValueError("%r is not a firewalld port such as 443/tcp or 30000-32767/tcp" % (spec,))
        low, high, proto = parsed[0]
        if not any(p == proto and lo <= low and high <= hi for lo, hi, p in opened):
            missing.append(str(spec).strip())
    return missing


def firewall_missing_ports(wanted, list_ports, services_info):
    """firewall_missing over what firewall-cmd printed for a zone (firewall_open_ports)."""
    return firewall_missing(wanted, firewall_open_ports(list_ports, services_info))
