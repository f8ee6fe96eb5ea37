# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests for the no_proxy filters (plugins/filter/no_proxy.py) and their pure logic
(plugins/plugin_utils/proxy_env.py)."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.kaapana.platform.plugins.filter import no_proxy as F
from ansible_collections.kaapana.platform.plugins.plugin_utils import proxy_env as P

ROLE_NAMES = {'user': 'kaapana_no_proxy', 'hosts': 'hostvars', 'pod_cidr': 'kaapana_pod_cidr',
              'service_cidr': 'kaapana_service_cidr', 'domains': 'kaapana_no_proxy_domains',
              'extra': 'kaapana_no_proxy_extra'}
HOSTS = [{'name': 'main', 'hostname': 'main', 'ip': '10.89.0.2'},
         {'name': 'worker', 'hostname': 'worker-1', 'ip': '10.89.0.3'}]


def merge(user=None, **kwargs):
    kwargs.setdefault('names', ROLE_NAMES)
    return F.no_proxy_merge(user or [], **kwargs)


# --------------------------------------------------------------------------------------
# no_proxy_merge: order and deduplication
# --------------------------------------------------------------------------------------

def test_filter_module_maps_names():
    filters = F.FilterModule().filters()
    assert filters['no_proxy_merge'] is F.no_proxy_merge
    assert filters['env_file_update'] is F.env_file_update
    assert filters['no_proxy_hosts'] is F.no_proxy_hosts


# --------------------------------------------------------------------------------------
# no_proxy_hosts: each node's name, host name and address
# --------------------------------------------------------------------------------------

def test_node_address_order_of_preference():
    hostvars = {
        'pinned': {'kaapana_node_ip': '10.0.0.9', 'ansible_default_ipv4': {'address': '10.0.0.1'},
                   'ansible_hostname': 'pinned-1'},
        'default-route': {'kaapana_node_ip': '', 'ansible_default_ipv4': {'address': '10.0.0.2'},
                          'ansible_all_ipv4_addresses': ['10.0.0.3']},
        'first-address': {'ansible_default_ipv4': {}, 'ansible_all_ipv4_addresses': ['10.0.0.4', '10.0.0.5']},
        'ssh-address': {'ansible_host': '10.0.0.6'},
        'ssh-name': {'ansible_host': 'node.example.org', 'ansible_hostname': ''},
    }
    assert F.no_proxy_hosts(hostvars, list(hostvars)) == [
        {'name': 'pinned', 'hostname': 'pinned-1', 'ip': '10.0.0.9'},
        {'name': 'default-route', 'hostname': '', 'ip': '10.0.0.2'},
        {'name': 'first-address', 'hostname': '', 'ip': '10.0.0.4'},
        {'name': 'ssh-address', 'hostname': '', 'ip': '10.0.0.6'},
        {'name': 'ssh-name', 'hostname': '', 'ip': ''},
    ]


def test_node_hosts_feed_the_merge():
    hostvars = {'main': {'ansible_hostname': 'main', 'ansible_default_ipv4': {'address': '10.89.0.2'}},
                'worker': {'ansible_hostname': 'worker-1', 'ansible_all_ipv4_addresses': ['10.89.0.3']}}
    assert P.node_hosts(hostvars, ['main', 'worker']) == HOSTS


def test_defaults_only():
    assert merge() == ['127.0.0.1', 'localhost', '10.1.0.0/16', '10.152.183.0/24', '*.svc', '*.cluster.local']


def test_documented_order():
    result = merge(['proxy.corp', '192.168.10.0/24'], hosts=HOSTS, extra=['.example.org', 'registry:5000'])
    assert result == ['proxy.corp', '192.168.10.0/24', '127.0.0.1', 'localhost',
                      'main', '10.89.0.2', 'worker', 'worker-1', '10.89.0.3',
                      '10.1.0.0/16', '10.152.183.0/24', '*.svc', '*.cluster.local',
                      '.example.org', 'registry:5000']


def test_user_entries_keep_their_order_and_win_duplicates():
    result = merge(['LocalHost', 'z.example', 'a.example', '10.1.0.0/16'], hosts=HOSTS,
                   extra=['z.example', 'localhost', '10.89.0.2', 'A.EXAMPLE'])
    assert result[:4] == ['LocalHost', 'z.example', 'a.example', '10.1.0.0/16']
    assert result.count('localhost') == 0
    assert [e for e in result if e.lower() in ('z.example', 'a.example')] == ['z.example', 'a.example']
    assert result.count('10.89.0.2') == 1
    assert result.count('10.1.0.0/16') == 1


def test_duplicates_compare_canonical_forms():
    result = merge(['fd00::1', 'FD00:0:0::1', 'fd00::/8', 'FD00::/8', '.SVC', '.svc', '*.Svc', 'host:80', 'HOST:080'],
                   domains=['*.svc', '.svc'])
    assert result == ['fd00::1', 'fd00::/8', '.SVC', '*.Svc', 'host:80', '127.0.0.1', 'localhost',
                      '10.1.0.0/16', '10.152.183.0/24']


def test_leading_dot_and_wildcard_domains_are_both_kept():
    # Go reads both as a suffix, curl and Python only the leading-dot form: the role lists both
    result = merge(domains=['*.svc', '*.cluster.local', '.svc', '.cluster.local'])
    assert result[-4:] == ['*.svc', '*.cluster.local', '.svc', '.cluster.local']


def test_result_is_stable():
    args = dict(hosts=HOSTS, extra=['b.example', 'a.example'])
    assert merge(['x'], **args) == merge(['x'], **args)


def test_same_name_and_hostname_appear_once():
    assert merge(hosts=[{'name': 'n1', 'hostname': 'N1', 'ip': '10.0.0.1'}])[2:4] == ['n1', '10.0.0.1']


def test_inventory_alias_that_is_no_host_name_is_skipped():
    result = merge(hosts=[{'name': 'node_1', 'hostname': 'node-1', 'ip': '10.0.0.1'}])
    assert 'node_1' not in result
    assert result[2:4] == ['node-1', '10.0.0.1']


def test_inventory_name_may_be_an_address():
    assert merge(hosts=[{'name': '10.0.0.7'}])[2] == '10.0.0.7'


def test_host_without_facts_contributes_its_name():
    assert merge(hosts=[{'name': 'n2', 'hostname': '', 'ip': None}])[2:3] == ['n2']


def test_comma_separated_strings_are_split_and_empties_skipped():
    result = merge('a.example, b.example,,', extra=['', 'c.example'])
    assert result[:2] == ['a.example', 'b.example']
    assert result[-1] == 'c.example'
    assert '' not in result


def test_cidrs_can_be_left_out():
    assert merge(pod_cidr='', service_cidr=None, domains=[]) == ['127.0.0.1', 'localhost']


@pytest.mark.parametrize('entry', ['*', 'example.org', '.example.org', '*.example.org', 'a-b.c-d.example',
                                   '10.0.0.1', '10.0.0.1:8080', '10.0.0.0/8', '0.0.0.0/0', '::1', 'fd00::/8',
                                   '[fd00::1]:443', '[::1]', 'registry.local:5000', 'x' * 63 + '.org',
                                   '  padded.example  '])
def test_valid_entries(entry):
    assert merge([entry])[0] == entry.strip()


# --------------------------------------------------------------------------------------
# no_proxy_merge: validation errors name the value and the variable
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize('entry, fragment', [
    ('10.0.0.0/33', 'is not a valid CIDR'),
    ('10.0.0.0/8/8', 'is not a valid CIDR'),
    ('300.1.0.0/16', 'is not a valid CIDR'),
    ('10.1.0.5/16', 'host bits are set (did you mean 10.1.0.0/16?)'),
    ('10.0.0.300', 'is not a valid IPv4 address'),
    ('1.2.3', 'is not a valid IPv4 address'),
    ('fd00::zz', 'is not a valid IPv6 address'),
    ('[fd00::zz]:80', 'is not a valid [IPv6 address]:port'),
    ('[::1]:0', "port '0'"),
    ('host:70000', "port '70000'"),
    ('host:http', "port 'http'"),
    ('bad_host', 'is not a valid host name'),
    ('-bad.example', 'is not a valid host name'),
    ('bad-.example', 'is not a valid host name'),
    ('a..example', 'is not a valid host name'),
    ('x' * 64 + '.org', 'is not a valid host name'),
    ('*.', 'is not a valid host name'),
    ('**.example', 'is not a valid host name'),
    ('http://proxy', 'is not a valid'),
    ('a b', 'is not a single NO_PROXY entry'),
    ('a,b', 'is not a single NO_PROXY entry'),
])
def test_bad_extra_entry_names_value_and_variable(entry, fragment):
    with pytest.raises(AnsibleFilterError) as err:
        merge(extra=[entry])
    message = str(err.value)
    assert message.startswith("kaapana_no_proxy_extra: '%s'" % entry)
    assert fragment in message


def test_bad_user_entry_names_its_variable():
    with pytest.raises(AnsibleFilterError, match=r"^kaapana_no_proxy: '10\.0\.0\.0/33' is not a valid CIDR"):
        merge(['ok.example', '10.0.0.0/33'])


@pytest.mark.parametrize('arg, name', [('pod_cidr', 'kaapana_pod_cidr'), ('service_cidr', 'kaapana_service_cidr')])
def test_cluster_networks_must_be_cidrs(arg, name):
    with pytest.raises(AnsibleFilterError, match=r"^%s: '10\.1\.0\.0/40' is not a valid CIDR" % name):
        merge(**{arg: '10.1.0.0/40'})
    with pytest.raises(AnsibleFilterError, match=r"^%s: 'example.org' is not a CIDR" % name):
        merge(**{arg: 'example.org'})


def test_bad_node_ip_names_host_and_field():
    with pytest.raises(AnsibleFilterError, match=r"^hostvars\[main\]\.ip: '10\.89\.0\.300' is not a valid IPv4"):
        merge(hosts=[{'name': 'main', 'ip': '10.89.0.300'}])
    with pytest.raises(AnsibleFilterError, match=r"^hostvars\[main\]\.ip: 'main' is not an IP address"):
        merge(hosts=[{'name': 'main', 'ip': 'main'}])
    with pytest.raises(AnsibleFilterError, match=r"^hostvars\[main\]\.hostname: 'bad_name'"):
        merge(hosts=[{'name': 'main', 'hostname': 'bad_name'}])


def test_blank_node_hostname_fails():
    with pytest.raises(AnsibleFilterError, match=r"^hostvars\[main\]\.hostname: empty NO_PROXY entry"):
        merge(hosts=[{'name': 'main', 'hostname': '  '}])


@pytest.mark.parametrize('hosts', ['main', [{'hostname': 'x'}], ['main']])
def test_bad_hosts_argument(hosts):
    with pytest.raises(AnsibleFilterError, match='^hostvars'):
        merge(hosts=hosts)


@pytest.mark.parametrize('value', [5, {'a': 1}])
def test_bad_list_type(value):
    with pytest.raises(AnsibleFilterError, match='^kaapana_no_proxy_extra must be a list'):
        merge(extra=value)


def test_non_string_entry():
    with pytest.raises(AnsibleFilterError, match="^kaapana_no_proxy: 5 is not a string"):
        merge([5])


def test_default_names_are_the_argument_names():
    with pytest.raises(AnsibleFilterError, match=r"^extra: '10\.0\.0\.0/33'"):
        F.no_proxy_merge([], extra=['10.0.0.0/33'])


def test_missing_netaddr_is_reported(monkeypatch):
    monkeypatch.setattr(P, 'HAS_NETADDR', False)
    with pytest.raises(AnsibleFilterError, match="'netaddr' is required"):
        merge()


# --------------------------------------------------------------------------------------
# env_file_update: other lines byte for byte
# --------------------------------------------------------------------------------------

ORIGINAL = (
    '# System-wide environment (pam_env)\n'
    '\n'
    'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
    '   # indented comment\n'
    'FOO="bar baz"\n'
    'no_proxy=old.example\n'
    '\n'
    '# trailing comment\n'
)
WANTED = [('http_proxy', 'http://proxy.lab.invalid:3128'), ('no_proxy', 'localhost,*.svc'),
          ('HTTP_PROXY', 'http://proxy.lab.invalid:3128'), ('NO_PROXY', 'localhost,*.svc')]


def update(content, wanted=None):
    return F.env_file_update(content, WANTED if wanted is None else wanted)


def test_managed_line_replaced_in_place_and_new_lines_appended():
    assert update(ORIGINAL) == (
        '# System-wide environment (pam_env)\n'
        '\n'
        'PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"\n'
        '   # indented comment\n'
        'FOO="bar baz"\n'
        'no_proxy=localhost,*.svc\n'
        '\n'
        '# trailing comment\n'
        'http_proxy=http://proxy.lab.invalid:3128\n'
        'HTTP_PROXY=http://proxy.lab.invalid:3128\n'
        'NO_PROXY=localhost,*.svc\n'
    )


def test_update_is_idempotent():
    once = update(ORIGINAL)
    assert update(once) == once


def test_unchanged_content_is_returned_exactly():
    content = 'A=1\n# x\nno_proxy="localhost,*.svc"\r\nB=2'
    assert update(content, {'no_proxy': 'localhost,*.svc'}) == content


def test_other_lines_survive_byte_for_byte():
    original = ORIGINAL.replace('FOO="bar baz"', "FOO='odd \"quotes\"'  \t")
    result = update(original)
    kept = [line for line in original.splitlines(True) if not line.startswith('no_proxy=')]
    new_lines = result.splitlines(True)
    for line in kept:
        assert line in new_lines
    assert result.startswith(original.split('no_proxy=', maxsplit=1)[0])


def test_no_trailing_newline_is_kept_when_appending():
    result = update('PATH=/bin', {'no_proxy': 'a', 'NO_PROXY': 'a'})
    assert result == 'PATH=/bin\nno_proxy=a\nNO_PROXY=a'


def test_no_trailing_newline_is_kept_when_replacing_the_last_line():
    assert update('PATH=/bin\nno_proxy=old', {'no_proxy': 'new'}) == 'PATH=/bin\nno_proxy=new'


def test_trailing_newline_is_kept():
    assert update('PATH=/bin\n', {'no_proxy': 'a'}) == 'PATH=/bin\nno_proxy=a\n'


@pytest.mark.parametrize('content', ['', None])
def test_empty_or_missing_file(content):
    assert update(content, [('no_proxy', 'a'), ('NO_PROXY', 'a')]) == 'no_proxy=a\nNO_PROXY=a\n'


def test_crlf_lines_keep_their_endings_and_appended_lines_follow():
    content = '# dos\r\nPATH=/bin\r\nno_proxy=old\r\n'
    assert update(content, [('no_proxy', 'new'), ('NO_PROXY', 'new')]) == \
        '# dos\r\nPATH=/bin\r\nno_proxy=new\r\nNO_PROXY=new\r\n'


def test_crlf_free_input_gets_no_cr():
    result = update(ORIGINAL)
    assert '\r' not in result


def test_lone_cr_inside_a_line_is_not_a_line_break():
    content = 'A=x\ry\nB=1\n'
    assert update(content, {'C': '2'}) == 'A=x\ry\nB=1\nC=2\n'


def test_keys_are_case_sensitive():
    assert update('NO_PROXY=a\n', {'no_proxy': 'b'}) == 'NO_PROXY=a\nno_proxy=b\n'


def test_duplicate_lines_for_a_key_are_dropped_after_the_first():
    content = 'no_proxy=a\nX=1\nno_proxy=b\n# no_proxy=c\n'
    assert update(content, {'no_proxy': 'z'}) == 'no_proxy=z\nX=1\n# no_proxy=c\n'


def test_commented_assignments_are_not_touched():
    content = '# NO_PROXY=10.1.0.0/16,10.152.183.0/24\n#NO_PROXY=x\n'
    assert update(content, {'NO_PROXY': 'y'}) == content + 'NO_PROXY=y\n'


def test_export_prefix_and_indentation_are_kept():
    content = '  export no_proxy=a\n'
    assert update(content, {'no_proxy': 'b'}) == '  export no_proxy=b\n'
    # a glob character is quoted after `export`, where some shells would expand it
    assert update(content, {'no_proxy': '*.svc'}) == "  export no_proxy='*.svc'\n"


def test_none_removes_a_variable():
    assert update('A=1\nhttp_proxy=x\nB=2\n', {'http_proxy': None}) == 'A=1\nB=2\n'
    assert update('A=1\nhttp_proxy=x', {'http_proxy': None}) == 'A=1'
    assert update('http_proxy=x\n', {'http_proxy': None}) == ''


# --------------------------------------------------------------------------------------
# env_file_update: quoting
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize('existing', ['no_proxy=a,b', 'no_proxy="a,b"', "no_proxy='a,b'", 'no_proxy=a,b  ',
                                      'no_proxy= "a,b" '])
def test_quoted_or_bare_equal_values_are_kept(existing):
    content = existing + '\n'
    assert update(content, {'no_proxy': 'a,b'}) == content


@pytest.mark.parametrize('value, written', [
    ('http://user:p%40ss@proxy.example:3128', 'http://user:p%40ss@proxy.example:3128'),
    ('127.0.0.1,localhost,*.svc,10.1.0.0/16', '127.0.0.1,localhost,*.svc,10.1.0.0/16'),
    ('', ''),
    ('with space', "'with space'"),
    ('a$b', "'a$b'"),
    ('say"hi"', "'say\"hi\"'"),
    ('~user', "'~user'"),
])
def test_values_are_quoted_only_when_needed(value, written):
    assert update('', {'K': value}) == 'K=%s\n' % written
    # and read back as the same value
    assert update('K=%s\n' % written, {'K': value}) == 'K=%s\n' % written


@pytest.mark.parametrize('value', ['a#b', "it's", 'a\\b', 'a\nb', 'a\rb'])
def test_unwritable_values_fail(value):
    with pytest.raises(AnsibleFilterError, match='^K: the value .* cannot be written'):
        update('A=1\n', {'K': value})


@pytest.mark.parametrize('wanted, fragment', [
    ({'1BAD': 'x'}, 'not a valid environment variable name'),
    ({'A-B': 'x'}, 'not a valid environment variable name'),
    ([('A', 'x'), ('A', 'y')], 'given twice'),
    ([('A',)], 'must be a mapping'),
    ('A=x', 'must be a mapping or a list'),
    ({'A': 5}, 'the value must be a string'),
])
def test_bad_variables(wanted, fragment):
    with pytest.raises(AnsibleFilterError, match=fragment):
        update('', wanted)


def test_variables_as_key_value_mappings_keep_order():
    wanted = [{'key': 'b', 'value': '2'}, {'key': 'a', 'value': '1'}]
    assert update('', wanted) == 'b=2\na=1\n'


def test_content_must_be_text():
    with pytest.raises(AnsibleFilterError, match='must be text'):
        F.env_file_update(b'A=1\n', {'A': '1'})


def test_parse_env_line():
    assert P.parse_env_line('export FOO="bar baz"') == ('export ', 'FOO', '"bar baz"')
    assert P.parse_env_line('# FOO=bar') is None
    assert P.parse_env_line('not an assignment') is None
    assert P.parse_env_line('') is None
