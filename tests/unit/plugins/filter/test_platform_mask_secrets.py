# -*- coding: utf-8 -*-
# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Unit tests of platform_mask_secrets (plugins/filter/platform.py) beyond the key names of the --set line:
credentials in URLs anywhere in the values, and credential-like keys anywhere in kaapana_platform_extra_values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kaapana.platform.plugins.filter import platform as f

M = "********"


@pytest.mark.parametrize("url, masked", [
    ("http://user:pass@proxy:3128", "http://user:%s@proxy:3128" % M),
    ("https://u:p%40ss@proxy.example.org:3129/", "https://u:%s@proxy.example.org:3129/" % M),
    ("http://user:p@ss@proxy:3128", "http://user:%s@proxy:3128" % M),  # an unencoded '@' in the password
    ("http://ghp_token0123@git.example.org/x.git", "http://%s@git.example.org/x.git" % M),
    ("socks5h://a:b@[2001:db8::1]:1080", "socks5h://a:%s@[2001:db8::1]:1080" % M),
    ("--proxy=http://u:secret1@p:1 and https://v:secret2@q:2", "--proxy=http://u:%s@p:1 and https://v:%s@q:2" % (M, M)),
])
def test_url_userinfo_is_masked_in_any_string(url, masked):
    out = f.platform_mask_secrets({"global": {"http_proxy": url}, "squid-proxy": {"upstreamHttpProxy": url},
                                   "deep": [{"x": [url]}]})
    assert out == {"global": {"http_proxy": masked}, "squid-proxy": {"upstreamHttpProxy": masked},
                   "deep": [{"x": [masked]}]}


@pytest.mark.parametrize("text", ["http://proxy:3128", "https://registry.example.org/charts", "user@example.org",
                                  "mailto:k@example.org", "/home/kaapana", "10.152.183.0/24", ""])
def test_strings_without_url_credentials_are_kept(text):
    assert f.platform_mask_secrets({"global": {"v": text}}) == {"global": {"v": text}}


def test_the_computed_values_keep_their_proxy_host_and_user():
    values = {"global": {"http_proxy": "http://alice:S3cret!@proxy.example.org:3128",
                         "https_proxy": "http://proxy.example.org:3128"},
              "squid-proxy": {"upstreamHttpProxy": "http://alice:S3cret!@proxy.example.org:3128"}}
    out = f.platform_mask_secrets(values)
    assert "S3cret!" not in repr(out)
    assert out["global"]["http_proxy"] == "http://alice:%s@proxy.example.org:3128" % M
    assert out["global"]["https_proxy"] == "http://proxy.example.org:3128"
    assert values["global"]["http_proxy"] == "http://alice:S3cret!@proxy.example.org:3128"  # input unchanged


EXTRA = {
    "global": {"apiKey": "k-1", "S3_ACCESS_KEY": "k-2", "ldap": {"bindCredentials": {"user": "cn=x", "pass": "k-3"}},
               "oauthClientId": "k-4", "Authorization": "Bearer k-5", "sshkey": "k-6", "tokens": ["k-7", "k-8"],
               "PASSWD": "k-9", "my-secret-file": "k-10", "private_keys": {"a": "k-11"}, "KEY": 12345,
               "keycloak_url": "https://keycloak.example.org", "replicas": 2, "feature": {"enabled": True}},
    "extra-app": {"env": [{"name": "X", "value": "plain"}], "dbPassword": "k-12", "authEnabled": True},
}


def test_credential_keys_anywhere_in_the_extra_values_are_masked():
    computed = {"global": {"hostname": "kaapana.example.org", "keycloak_admin_username": "admin",
                           "credentials_minio_username": "kaapanaminio"}}
    merged = {"global": dict(computed["global"], **EXTRA["global"]), "extra-app": EXTRA["extra-app"]}
    out = f.platform_mask_secrets(merged, extra=EXTRA)
    dumped = repr(out)
    for n in range(1, 13):
        assert "'k-%d'" % n not in dumped and "k-%d'" % n not in dumped, n
    assert "12345" not in dumped
    g = out["global"]
    assert g["apiKey"] == M and g["S3_ACCESS_KEY"] == M and g["sshkey"] == M and g["KEY"] == M
    assert g["ldap"]["bindCredentials"] == {"user": M, "pass": M}  # everything under the key
    assert g["tokens"] == [M, M]
    assert g["private_keys"] == {"a": M}
    assert out["extra-app"]["authEnabled"] is True  # a switch is no credential
    # kept: keys that name no credential, and the computed values the extra values did not set
    assert g["keycloak_url"] == "https://keycloak.example.org" and g["replicas"] == 2
    assert g["feature"] == {"enabled": True} and out["extra-app"]["env"] == [{"name": "X", "value": "plain"}]
    assert g["hostname"] == "kaapana.example.org" and g["keycloak_admin_username"] == "admin"
    assert g["credentials_minio_username"] == "kaapanaminio"
    assert merged["global"]["apiKey"] == "k-1"  # input unchanged


def test_without_extra_values_only_the_computed_rules_apply():
    values = {"global": {"credentials_minio_username": "kaapanaminio", "apiKey": "k", "api_token": "t"}}
    assert f.platform_mask_secrets(values) == {"global": {"credentials_minio_username": "kaapanaminio",
                                                          "apiKey": "k", "api_token": M}}
    assert f.platform_mask_secrets(values, extra={}) == f.platform_mask_secrets(values)
    assert f.platform_mask_secrets(values, extra=None) == f.platform_mask_secrets(values)


def test_empty_extra_credentials_stay_empty_and_the_mask_is_configurable():
    extra = {"global": {"apiKey": "", "auth": None, "token": "t", "proxy": "http://u:p@h:1"}}
    out = f.platform_mask_secrets(extra, mask="***", extra=extra)
    assert out == {"global": {"apiKey": "", "auth": None, "token": "***", "proxy": "http://u:***@h:1"}}


@pytest.mark.parametrize("key, secret", [
    ("password", True), ("dbPassword", True), ("DB_PASSWD", True), ("clientSecret", True), ("refresh-token", True),
    ("Credentials", True), ("authHeader", True), ("OAuth", True), ("apikey", True), ("access.key", True),
    ("SSHKeys", True), ("keycloak_url", False), ("keycloakHostname", False), ("hostname", False),
    ("replicas", False), ("monitoring", False), ("image", False),
])
def test_extra_key_names(key, secret):
    assert f.platform_mask_secrets({key: "v"}, extra={key: "v"}) == {key: M if secret else "v"}
