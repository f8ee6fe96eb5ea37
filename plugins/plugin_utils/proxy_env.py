# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Pure proxy-environment logic for the ``kaapana.platform.no_proxy`` role and its filters.

* :func:`merge_no_proxy` builds the ``no_proxy``/``NO_PROXY`` list: user entries first, then the
  loopback names, every node's names and address, the pod and service CIDRs, the cluster domains
  and the extra entries; deduplicated (first spelling wins) and validated (IP addresses and CIDRs
  with netaddr, names as RFC 1123 host names).
* :func:`update_env_file` rewrites the ``KEY=value`` lines of an environment file
  (``/etc/environment``, MicroK8s' ``args/containerd-env``) and keeps every other line, its line
  ending and the file's trailing-newline state exactly as they were.

Errors are raised as :class:`ProxyEnvError` (a ``ValueError``) whose message names the offending
value and the variable it came from; the filter plugin turns them into ``AnsibleFilterError``.
Controller-side only (``plugin_utils``): nothing here runs on managed nodes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections.abc import Mapping

try:
    import netaddr
except ImportError:  # pragma: no cover - exercised through HAS_NETADDR in the unit tests
    netaddr = None
    HAS_NETADDR = False
else:
    HAS_NETADDR = True

LOOPBACK_ENTRIES = ('127.0.0.1', 'localhost')
DEFAULT_DOMAINS = ('*.svc', '*.cluster.local')
DEFAULT_POD_CIDR = '10.1.0.0/16'
DEFAULT_SERVICE_CIDR = '10.152.183.0/24'

# Where each argument of merge_no_proxy came from, for error messages.
DEFAULT_NAMES = {
    'user': 'user_list',
    'hosts': 'hosts',
    'pod_cidr': 'pod_cidr',
    'service_cidr': 'service_cidr',
    'domains': 'domains',
    'extra': 'extra',
}

_LABEL = r'[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
_HOSTNAME_RE = re.compile(r'^%s(?:\.%s)*$' % (_LABEL, _LABEL))
_IPV4_LIKE_RE = re.compile(r'^[0-9.]+$')
_PORT_RE = re.compile(r'^[0-9]{1,5}$')
_ENV_KEY_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
_ENV_LINE_RE = re.compile(r'^(?P<lead>[ \t]*(?:export[ \t]+)?)(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$')
# Values made only of these characters are written without quotes (as MicroK8s' and Kaapana's
# documentation write NO_PROXY): no shell expansion applies to them in an assignment.
_BARE_VALUE_RE = re.compile(r'^[A-Za-z0-9_.,:/@%+=*-]*$')


class ProxyEnvError(ValueError):
    """A value that cannot go into a proxy variable; the message names the value and its source."""


# ----------------------------------------------------------------------------------------------
# NO_PROXY entries
# ----------------------------------------------------------------------------------------------

def _require_netaddr():
    if not HAS_NETADDR:
        raise ProxyEnvError("the Python library 'netaddr' is required on the controller to validate NO_PROXY "
                            "entries (pip install netaddr)")


def _port_error(port):
    if not _PORT_RE.match(port) or not 0 < int(port) < 65536:
        return "port '%s' is not a number between 1 and 65535" % port
    return None


def _split_port(entry):
    """'host:port' -> (host, port); (entry, None) without a port."""
    host, sep, port = entry.rpartition(':')
    if sep:
        return host, port
    return entry, None


def _check_ipv4(text):
    try:
        return str(netaddr.IPAddress(text, version=4))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def _check_ipv6(text):
    try:
        return str(netaddr.IPAddress(text, version=6))
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return None


def normalize_entry(entry, source, allowed=None):
    """Validate one NO_PROXY entry; return ``(text, key)``.

    ``text`` is the entry as it will be written (stripped), ``key`` the form that identifies
    duplicates (lower-case names, canonical addresses and networks). ``source`` names where the
    entry came from (a variable) for the error message. ``allowed`` optionally restricts the kinds
    accepted: a subset of ``('cidr', 'ip', 'name', 'domain', 'all')``.

    Accepted forms: ``*`` (everything), an IPv4/IPv6 address, an IPv4 address or host name with
    ``:port``, ``[IPv6]:port``, a CIDR (``10.1.0.0/16``, ``fd00::/8``; host bits must be zero),
    an RFC 1123 host name, and a domain suffix written ``.example.org`` or ``*.example.org``.
    """
    if not isinstance(entry, str):
        raise ProxyEnvError("%s: %r is not a string (NO_PROXY entries are host names, addresses, CIDRs or "
                            "domains)" % (source, entry))
    text = entry.strip()
    if not text:
        raise ProxyEnvError("%s: empty NO_PROXY entry" % source)
    if re.search(r'[\s,]', text):
        raise ProxyEnvError("%s: '%s' is not a single NO_PROXY entry (no spaces or commas inside an entry; "
                            "give a list with one entry per item)" % (source, text))
    _require_netaddr()
    kind, key = _classify(text, source)
    if allowed is not None and kind not in allowed:
        expected = {'cidr': 'a CIDR such as 10.1.0.0/16', 'ip': 'an IP address'}
        raise ProxyEnvError("%s: '%s' is not %s" % (source, text, ' or '.join(expected.get(k, k) for k in allowed)))
    return text, key


def _classify(text, source):
    if text == '*':
        return 'all', '*'
    if '/' in text:
        try:
            net = netaddr.IPNetwork(text)
        except (netaddr.AddrFormatError, ValueError, TypeError):
            raise ProxyEnvError("%s: '%s' is not a valid CIDR (address/prefix length, such as 10.1.0.0/16)"
                                % (source, text))
        if net.ip != net.network:
            raise ProxyEnvError("%s: '%s' is not a valid CIDR: host bits are set (did you mean %s?)"
                                % (source, text, net.cidr))
        return 'cidr', str(net.cidr)
    if text.startswith('['):
        match = re.match(r'^\[([^\]]*)\](?::(.*))?$', text)
        address = match and _check_ipv6(match.group(1))
        if not address:
            raise ProxyEnvError("%s: '%s' is not a valid [IPv6 address]:port" % (source, text))
        if match.group(2) is not None:
            problem = _port_error(match.group(2))
            if problem:
                raise ProxyEnvError("%s: '%s': %s" % (source, text, problem))
            return 'ip', '[%s]:%d' % (address, int(match.group(2)))
        return 'ip', address
    if text.count(':') >= 2:
        address = _check_ipv6(text)
        if not address:
            raise ProxyEnvError("%s: '%s' is not a valid IPv6 address" % (source, text))
        return 'ip', address
    host, port = _split_port(text)
    port_key = ''
    if port is not None:
        problem = _port_error(port)
        if problem:
            raise ProxyEnvError("%s: '%s': %s" % (source, text, problem))
        port_key = ':%d' % int(port)
    if _IPV4_LIKE_RE.match(host):
        address = _check_ipv4(host)
        if not address:
            raise ProxyEnvError("%s: '%s' is not a valid IPv4 address" % (source, text))
        return 'ip', address + port_key
    # '*.svc' and '.svc' stay two entries: Go reads both as the suffix .svc, but curl, wget and
    # Python only understand the second, so a list may carry both on purpose.
    kind, prefix, name = 'name', '', host
    if host.startswith('*.'):
        kind, prefix, name = 'domain', '*.', host[2:]
    elif host.startswith('.'):
        kind, prefix, name = 'domain', '.', host[1:]
    if len(name) > 253 or not _HOSTNAME_RE.match(name):
        raise ProxyEnvError("%s: '%s' is not a valid host name, domain (.example.org, *.example.org), IP address "
                            "or CIDR (host names follow RFC 1123: letters, digits and hyphens, labels of at most "
                            "63 characters)" % (source, text))
    return kind, prefix + name.lower() + port_key


def _as_list(value, source):
    """None -> []; 'a,b' -> ['a', 'b'] (as the NO_PROXY variable spells it); lists as they are."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in (p.strip() for p in value.split(',')) if part]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ProxyEnvError("%s must be a list of NO_PROXY entries (or a comma-separated string), not %s"
                        % (source, type(value).__name__))


_IPV4_HOST_RE = re.compile(r'^[0-9]{1,3}([.][0-9]{1,3}){3}$')


def node_hosts(hostvars, names):
    """[{name, hostname, ip}] of the named inventory hosts, the `hosts` of merge_no_proxy. A node's address is
    kaapana_node_ip, else its default-route IPv4 address, else its first IPv4 address, else ansible_host when that
    is an IPv4 address, else ''; empty values count as missing."""
    nodes = []
    for name in names or []:
        host = hostvars[name]
        default_ipv4 = host.get('ansible_default_ipv4') or {}
        all_ipv4 = host.get('ansible_all_ipv4_addresses') or []
        ansible_host = host.get('ansible_host')
        host_ip = ansible_host if _IPV4_HOST_RE.match(str(ansible_host or '')) else ''
        ip = (host.get('kaapana_node_ip') or default_ipv4.get('address') or (all_ipv4[0] if all_ipv4 else '')
              or host_ip)
        hostname = host.get('ansible_hostname')
        nodes.append({'name': name, 'hostname': '' if hostname is None else hostname, 'ip': ip})
    return nodes


def merge_no_proxy(user_list=None, hosts=None, pod_cidr=DEFAULT_POD_CIDR, service_cidr=DEFAULT_SERVICE_CIDR,
                   domains=DEFAULT_DOMAINS, extra=None, names=None):
    """Return the deduplicated NO_PROXY list, in this order:

    1. ``user_list`` in its own order;
    2. ``127.0.0.1`` and ``localhost``;
    3. for every host in ``hosts`` (in order): its ``name`` (skipped when it is neither a host
       name nor an IP address, as inventory aliases such as ``node_1`` can be), its ``hostname``
       (when given and different) and its ``ip``;
    4. ``pod_cidr`` then ``service_cidr`` (``None`` or ``''`` leaves one out);
    5. ``domains`` (default ``*.svc``, ``*.cluster.local``);
    6. ``extra``.

    An entry that repeats an earlier one (same name ignoring case, same address or network) is
    dropped; the first spelling is kept. ``.example.org`` and ``*.example.org`` are different
    entries (clients other than Go programs only understand the first). Empty strings in the lists are skipped. ``names`` maps
    the argument names above to the variable names used in error messages.
    """
    where = dict(DEFAULT_NAMES)
    where.update(names or {})
    result = []
    seen = set()

    def add(entry, source, allowed=None):
        text, key = normalize_entry(entry, source, allowed)
        if key not in seen:
            seen.add(key)
            result.append(text)

    for entry in _as_list(user_list, where['user']):
        if entry != '':
            add(entry, where['user'])
    for entry in LOOPBACK_ENTRIES:
        add(entry, 'built-in entries')
    if hosts is None:
        hosts = []
    if not isinstance(hosts, (list, tuple)):
        raise ProxyEnvError("%s must be a list of {name, hostname, ip} mappings" % where['hosts'])
    for index, host in enumerate(hosts):
        if not isinstance(host, Mapping) or not host.get('name'):
            raise ProxyEnvError("%s[%d] must be a mapping with at least a name (got %r)"
                                % (where['hosts'], index, host))
        label = '%s[%s]' % (where['hosts'], host['name'])
        try:
            add(host['name'], label + '.name', ('name', 'ip'))
        except ProxyEnvError:
            # An inventory alias that is no host name (node_1, web server): nothing resolves it.
            pass
        if host.get('hostname'):
            add(host['hostname'], label + '.hostname', ('name', 'ip'))
        if host.get('ip'):
            add(host['ip'], label + '.ip', ('ip',))
    for arg in ('pod_cidr', 'service_cidr'):
        value = {'pod_cidr': pod_cidr, 'service_cidr': service_cidr}[arg]
        if value:
            add(value, where[arg], ('cidr',))
    for arg, values in (('domains', domains), ('extra', extra)):
        for entry in _as_list(values, where[arg]):
            if entry != '':
                add(entry, where[arg])
    return result


# ----------------------------------------------------------------------------------------------
# Environment files
# ----------------------------------------------------------------------------------------------

def parse_env_line(line):
    """``(lead, key, value)`` for a ``KEY=value`` line (``lead`` keeps indentation and an
    ``export`` prefix), ``None`` for comments, blank lines and anything else. ``line`` carries no
    line terminator."""
    if line.lstrip().startswith('#'):
        return None
    match = _ENV_LINE_RE.match(line)
    if not match:
        return None
    return match.group('lead'), match.group('key'), match.group('value')


def unquote_env_value(raw):
    """The value pam_env (and a shell, for these simple cases) sees: surrounding whitespace
    dropped and one pair of matching single or double quotes removed."""
    value = raw.strip()
    if len(value) >= 2 and value[0] in '"\'' and value[-1] == value[0]:
        return value[1:-1]
    return value


def format_env_value(key, value, export=False):
    """The text after ``KEY=``: bare when the value has only safe characters, else single-quoted.

    Values that neither ``/etc/environment`` (pam_env cuts lines at ``#`` and knows no escapes)
    nor a sourced shell file can carry unchanged are refused.
    """
    if not isinstance(value, str):
        raise ProxyEnvError("%s: the value must be a string, not %s" % (key, type(value).__name__))
    bad = [c for c in ('\n', '\r', '\0', '#', "'", '\\') if c in value]
    if bad:
        raise ProxyEnvError("%s: the value %r cannot be written to an environment file (it contains %s)"
                            % (key, value, ', '.join(repr(c) for c in bad)))
    if _BARE_VALUE_RE.match(value) and not (export and '*' in value):
        return value
    return "'%s'" % value


def _desired_items(desired):
    if isinstance(desired, Mapping):
        items = list(desired.items())
    elif isinstance(desired, (list, tuple)):
        items = []
        for pair in desired:
            if isinstance(pair, Mapping) and 'key' in pair:
                items.append((pair['key'], pair.get('value')))
            elif isinstance(pair, (list, tuple)) and len(pair) == 2:
                items.append((pair[0], pair[1]))
            else:
                raise ProxyEnvError("the variables to write must be a mapping, a list of [key, value] pairs or "
                                    "a list of {key, value} mappings; got %r" % (pair,))
    else:
        raise ProxyEnvError("the variables to write must be a mapping or a list of pairs, not %s"
                            % type(desired).__name__)
    seen = set()
    for key, value in items:
        if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
            raise ProxyEnvError("%r is not a valid environment variable name" % (key,))
        if key in seen:
            raise ProxyEnvError("%s is given twice in the variables to write" % key)
        seen.add(key)
        if value is not None:
            format_env_value(key, value)
    return items


def update_env_file(content, desired):
    """Return ``content`` with the variables in ``desired`` set (value ``None``: removed).

    * A variable's first ``KEY=value`` line is kept byte for byte when its value (unquoted) is
      already the desired one, otherwise it is rewritten in place (keeping its indentation,
      ``export`` prefix and line ending); later lines for the same key are dropped (the last one
      would win). Keys are case-sensitive: ``no_proxy`` and ``NO_PROXY`` are two variables.
    * Variables without a line are appended in the order of ``desired``.
    * Every other line (comments, blank lines, other variables, unparsable text) is kept as it
      was, and so are CRLF line endings and a missing newline at the end of the file; appended
      lines use the file's line ending. An empty or missing file (``content`` ``None``) gets a
      final newline.
    """
    if content is None:
        content = ''
    if not isinstance(content, str):
        raise ProxyEnvError("the environment file content must be text, not %s" % type(content).__name__)
    items = _desired_items(desired)
    wanted = dict(items)

    had_final_newline = content.endswith('\n')
    pieces = content.split('\n')
    if had_final_newline or content == '':
        pieces.pop()
    lines = []  # [body, eol]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        if piece.endswith('\r') and not (last and not had_final_newline):
            lines.append([piece[:-1], '\r\n'])
        else:
            lines.append([piece, '' if last and not had_final_newline else '\n'])
    crlf = sum(1 for _body, eol in lines if eol == '\r\n')
    default_eol = '\r\n' if crlf and crlf >= len([1 for _b, eol in lines if eol]) - crlf else '\n'

    out = []
    done = set()
    for body, eol in lines:
        parsed = parse_env_line(body)
        if parsed is None or parsed[1] not in wanted:
            out.append([body, eol])
            continue
        lead, key, raw = parsed
        value = wanted[key]
        if value is None or key in done:
            continue
        done.add(key)
        if unquote_env_value(raw) == value:
            out.append([body, eol])
        else:
            out.append(['%s%s=%s' % (lead, key, format_env_value(key, value, export='export' in lead)), eol])
    for key, value in items:
        if value is not None and key not in done:
            out.append(['%s=%s' % (key, format_env_value(key, value)), default_eol])

    if not out:
        return ''
    for line in out[:-1]:
        if not line[1]:
            line[1] = default_eol
    if content != '' and not had_final_newline:
        out[-1][1] = ''
    return ''.join(body + eol for body, eol in out)
