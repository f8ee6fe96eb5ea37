# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Pure input checks the roles' validate tasks run before any host changes (controller side only).

Every function returns a list of error messages (empty: the input is accepted). Each message names the
variable, the value (masked when it is a secret) and the accepted form. Regular expressions use fullmatch:
Python's re.match with `$` (and Jinja's `match` test) accept a trailing newline, these never do.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.kaapana.platform.plugins.module_utils.k8s_names import is_dns1123_label

MASK = "********"

DNS_LABEL_FORM = "a Kubernetes namespace name (DNS label: lower-case letters, digits and '-', at most 63 characters)"
# Namespaces of Kubernetes itself: no Kaapana, Longhorn or GPU operator objects there.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
# Namespaces other software owns: Kaapana's own namespaces (and the Helm namespace) must not be one of them.
SHARED_NAMESPACES = ("longhorn-system", "gpu-operator-resources")
# The namespace kinds of namespace_errors(): Kaapana's (the platform chart's) and the other charts'.
KAAPANA_NAMESPACE_KINDS = ("services", "admin", "extensions", "helm", "base")

# Keycloak's password policy of Kaapana's realm (kaapana/kaapana,
# services/kaapana-admin/admin-init/keycloak-init/docker/files/realm_objects/kaapana-realm.json), applied with
# DEV_MODE false: "notUsername(undefined) and specialChars(1) and upperCase(1) and lowerCase(1) and digits(1)
# and passwordHistory(3) and length(8)".
PASSWORD_POLICY = ("at least 8 characters with an upper-case letter, a lower-case letter, a digit and a special "
                   "character, not the user name (Keycloak's production password policy of Kaapana's realm)")
# Defaults of kaapanactl.sh, of this collection and the usual first guesses: refused with kaapana_dev_mode false.
WELL_KNOWN_PASSWORDS = ("kaapana", "kaapana2020", "kaapana2020!", "kaapana2021!", "admin", "admin123", "administrator",
                        "password", "password1", "password123", "passw0rd", "changeme", "secret", "root", "toor",
                        "12345678", "123456789", "qwertz", "qwerty", "letmein", "welcome", "kaapanaminio",
                        "minio123", "minioadmin", "grafana", "keycloak")

MIN_QUANTITY_BYTES = 1024 * 1024

# Kaapana 0.6.0's admin chart creates these StorageClasses itself; MicroK8s' hostpath-storage addon and
# Longhorn create the other two.
KAAPANA_STORAGE_CLASSES = ("kaapana-hostpath-slow-data-dir", "kaapana-hostpath-fast-data-dir", "kaapana-longhorn-slow-data",
                           "kaapana-longhorn-fast-db", "kaapana-longhorn-fast-workflow")
PROVIDER_STORAGE_CLASSES = {"hostpath": ("microk8s-hostpath",), "longhorn": ("longhorn", "longhorn-static")}


def _text(value):
    return "" if value is None else str(value)


def _show(value, secret=False):
    if secret:
        return MASK if _text(value) else "''"
    return repr(value)


def fullmatch(pattern, value):
    """True when the whole value matches (no trailing newline slips through, unlike re.match with `$`)."""
    if value is None or isinstance(value, (bool, list, dict, tuple)):
        return False
    return re.fullmatch(pattern, _text(value)) is not None


# -- namespaces ------------------------------------------------------------------------------------
def namespace_errors(namespaces):
    """namespaces: [{var, value, kind}], kind one of services, admin, extensions, helm, base (Kaapana's) or
    longhorn, gpu (the other charts'). Kubernetes' own namespaces are refused for all; `default` for Kaapana's
    except the Helm namespace; longhorn-system and gpu-operator-resources for Kaapana's; and two entries may
    not name the same namespace."""
    errors = []
    seen = {}
    for entry in namespaces or []:
        var, value, kind = entry.get("var"), entry.get("value"), entry.get("kind")
        text = _text(value)
        if not is_dns1123_label(text):
            errors.append("%s gives the namespace %r, which is not %s." % (var, value, DNS_LABEL_FORM))
            continue
        if text in SYSTEM_NAMESPACES:
            errors.append("%s: %r is a Kubernetes system namespace (%s); use a namespace of its own, such as the "
                          "default." % (var, text, ", ".join(SYSTEM_NAMESPACES)))
        elif text == "default" and kind in KAAPANA_NAMESPACE_KINDS and kind != "helm":
            errors.append("%s: %r is the cluster's shared default namespace; use a namespace of Kaapana's own, "
                          "such as %s." % (var, text, kind))
        elif text in SHARED_NAMESPACES and kind in KAAPANA_NAMESPACE_KINDS:
            errors.append("%s: %r belongs to %s; use a namespace of Kaapana's own, such as %s."
                          % (var, text, "Longhorn" if text == "longhorn-system" else "the GPU operator",
                             "default" if kind == "helm" else kind))
        if text in seen:
            errors.append("%s and %s both name the namespace %r; every Kaapana, Longhorn and GPU operator "
                          "namespace must be a different one." % (seen[text], var, text))
        else:
            seen[text] = var
    return errors


# -- ports --------------------------------------------------------------------------------------------
def port_errors(ports):
    """ports: [{var, value}]. Whole numbers from 1 to 65535, all different after normalisation ('0443' is 443)."""
    errors = []
    seen = {}
    for entry in ports or []:
        var, value = entry.get("var"), entry.get("value")
        if isinstance(value, bool) or not fullmatch(r"[0-9]{1,5}", value if isinstance(value, int) else _text(value)):
            errors.append("%s must be a port number from 1 to 65535; got %r" % (var, value))
            continue
        number = int(_text(value))
        if not 1 <= number <= 65535:
            errors.append("%s must be a port number from 1 to 65535; got %r" % (var, value))
            continue
        if number in seen:
            errors.append("%s and %s are both port %d (%r and %r); use different port numbers, such as 80, 443 "
                          "and 11112." % (seen[number][0], var, number, seen[number][1], value))
        else:
            seen[number] = (var, value)
    return errors


# -- values checked with a regular expression --------------------------------------------------------
def regex_errors(checks):
    """checks: [{var, value, pattern, form, secret?}]. The whole value must match the pattern: a trailing
    newline or blank is an error."""
    errors = []
    for entry in checks or []:
        if not fullmatch(entry["pattern"], entry.get("value")):
            shown = _show(entry.get("value"), entry.get("secret", False))
            errors.append("%s must be %s; got %s" % (entry["var"], entry["form"], shown))
    return errors


# -- addresses -------------------------------------------------------------------------------------------
def host_address_errors(value, var):
    """An address the other nodes and pods can reach: no host name, zone (%eth0), unspecified, loopback,
    link-local or multicast address."""
    text = _text(value)
    form = "an IP address of the host that the cluster reaches it at, such as 192.168.1.10 or 2001:db8::10"
    if isinstance(value, bool) or text != text.strip() or "%" in text or "/" in text:
        return ["%s: %r is not %s (no zone such as %%eth0, prefix or blanks)." % (var, value, form)]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return ["%s: %r is not %s." % (var, value, form)]
    for flag, what in (("is_unspecified", "the unspecified address"), ("is_loopback", "a loopback address"),
                       ("is_link_local", "a link-local address"), ("is_multicast", "a multicast address")):
        if getattr(addr, flag):
            return ["%s: %r is %s, not %s." % (var, value, what, form)]
    return []


# -- NO_PROXY --------------------------------------------------------------------------------------------
def no_proxy_catch_all(entries):
    """The entries of a NO_PROXY list that exempt every host from the proxy: `*`, 0.0.0.0/0, ::/0 (any spelling)."""
    found = []
    if isinstance(entries, str):
        entries = entries.split(",")
    for entry in entries or []:
        text = _text(entry).strip()
        if text == "*":
            found.append(text)
            continue
        if "/" in text:
            try:
                net = ipaddress.ip_network(text, strict=False)
            except ValueError:
                continue
            if net.prefixlen == 0:
                found.append(text)
    return found


# -- quantities --------------------------------------------------------------------------------------------
_SUFFIX = {"": 1, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
           "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60, "m": 0.001}


def quantity_bytes(text):
    """Bytes of a Kubernetes quantity that already passed the syntax check (storage.QUANTITY_RE)."""
    match = re.fullmatch(r"[+]?(?P<number>[0-9]+(\.[0-9]*)?|\.[0-9]+)(?P<suffix>[KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?",
                         _text(text).strip())
    if not match:
        return None
    suffix = match.group("suffix") or ""
    factor = 10 ** int(suffix[1:]) if len(suffix) > 1 and suffix[0] in "eE" and suffix[1] != "i" else _SUFFIX[suffix]
    return float(match.group("number")) * factor


# -- storage classes ---------------------------------------------------------------------------------------
def storage_class_errors(overrides, existing=None, provider="hostpath"):
    """overrides: {var: class name} (empty names are the provider's own classes). existing: the names of the
    cluster's StorageClasses, or None when there is no cluster yet (then only the classes the run creates
    exist: Kaapana's five, MicroK8s' hostpath class and, with Longhorn, Longhorn's)."""
    provider_key = "longhorn" if "longhorn" in _text(provider) else "hostpath"
    created = set(KAAPANA_STORAGE_CLASSES) | set(PROVIDER_STORAGE_CLASSES["hostpath"])
    if provider_key == "longhorn":
        created |= set(PROVIDER_STORAGE_CLASSES["longhorn"])
    known = created | set(existing or [])
    errors = []
    for var in sorted(overrides or {}):
        name = _text(overrides[var]).strip()
        if name and name not in known:
            where = ("the cluster has %s" % (", ".join(sorted(existing)) or "none")) if existing is not None else (
                "there is no cluster yet, so only the classes this run creates exist: %s" % ", ".join(sorted(created)))
            errors.append("%s: the StorageClass %r does not exist (%s); create it first or name one of those."
                          % (var, name, where))
    return errors


# -- passwords -----------------------------------------------------------------------------------------
def password_errors(password, var, username="", policy=True):
    """Production passwords (kaapana_dev_mode false): never a well-known default; with policy, also Keycloak's
    production policy. The password itself is never in a message."""
    text = _text(password)
    if text.strip().lower() in WELL_KNOWN_PASSWORDS:
        return ["%s (%s) is a well-known default password (one of Kaapana's defaults or a common first guess), "
                "refused with kaapana_dev_mode false; set a password of your own: %s." % (var, MASK, PASSWORD_POLICY)]
    if not policy:
        return []
    missing = []
    if len(text) < 8:
        missing.append("at least 8 characters")
    if not re.search(r"[A-Z]", text):
        missing.append("an upper-case letter")
    if not re.search(r"[a-z]", text):
        missing.append("a lower-case letter")
    if not re.search(r"[0-9]", text):
        missing.append("a digit")
    if not re.search(r"[^A-Za-z0-9]", text):
        missing.append("a special character")
    if username and text.lower() == _text(username).lower():
        missing.append("a value other than the user name")
    if missing:
        return ["%s (%s) does not meet Keycloak's production password policy, which kaapana_dev_mode false "
                "turns on: it lacks %s; use %s." % (var, MASK, ", ".join(missing), PASSWORD_POLICY)]
    return []
