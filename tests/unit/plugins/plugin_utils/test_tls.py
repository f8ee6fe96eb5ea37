"""plugin_utils/tls.py over certificates made here with the cryptography package (as a CA and a hospital would)."""
import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ansible_collections.kaapana.platform.plugins.filter import tls as tls_filter
from ansible_collections.kaapana.platform.plugins.plugin_utils import tls

NOW = datetime.datetime(2026, 12, 5, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)
DOMAIN = "kaapana.example.org"


def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject, key, issuer=None, issuer_key=None, names=(), days=365, start=None, ca=False, usage=None):
    start = start or NOW - DAY
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + days * DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if names:
        entries = []
        for name in names:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                entries.append(x509.DNSName(name))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(usage), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(*items):
    out = b""
    for item in items:
        if isinstance(item, x509.Certificate):
            out += item.public_bytes(serialization.Encoding.PEM)
        else:
            out += item.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    return out.decode()


@pytest.fixture(scope="module")
def pki():
    root_key, inter_key, leaf_key = _key(), _key(), _key()
    root = _cert("Hospital Root CA", root_key, ca=True, days=3650)
    inter = _cert("Hospital Issuing CA", inter_key, "Hospital Root CA", root_key, ca=True, days=1825)
    leaf = _cert(DOMAIN, leaf_key, "Hospital Issuing CA", inter_key, names=[DOMAIN],
                 usage=[ExtendedKeyUsageOID.SERVER_AUTH])
    return {"root": root, "inter": inter, "leaf": leaf, "leaf_key": leaf_key, "root_key": root_key,
            "inter_key": inter_key}


def _check(cert_pem, key_pem, domain=DOMAIN, trusted="", warn_days=30):
    return tls.check_tls_pair(cert_pem, key_pem, domain, trusted, warn_days, NOW)


def test_a_complete_chain_with_its_key_passes(pki):
    res = _check(_pem(pki["leaf"], pki["inter"], pki["root"]), _pem(pki["leaf_key"]))
    assert res["errors"] == [] and res["warnings"] == []
    assert res["certificate"]["subject"] == "CN=%s" % DOMAIN
    assert res["certificate"]["days_left"] == 364
    assert [c["subject"] for c in res["chain"]] == ["CN=Hospital Issuing CA", "CN=Hospital Root CA"]


def test_the_root_may_come_from_the_trusted_bundle(pki):
    res = _check(_pem(pki["leaf"], pki["inter"]), _pem(pki["leaf_key"]), trusted=_pem(pki["root"]))
    assert res["errors"] == []


def test_a_missing_intermediate_is_named(pki):
    res = _check(_pem(pki["leaf"]), _pem(pki["leaf_key"]), trusted=_pem(pki["root"]))
    assert res["errors"] == [
        "the chain is incomplete: the issuer of CN=%s (CN=Hospital Issuing CA) is neither in the file nor among the "
        "trusted CA certificates; append the intermediate certificate(s) to the certificate file" % DOMAIN]


def test_a_chain_out_of_order_is_refused(pki):
    res = _check(_pem(pki["leaf"], pki["root"], pki["inter"]), _pem(pki["leaf_key"]))
    assert any("certificate 1 (CN=%s) is not issued by certificate 2 that follows it (CN=Hospital Root CA)" % DOMAIN
               in e for e in res["errors"]), res["errors"]


def test_the_key_of_another_certificate_is_refused(pki):
    res = _check(_pem(pki["leaf"], pki["inter"], pki["root"]), _pem(pki["inter_key"]))
    assert res["errors"] == ["the key does not belong to the certificate CN=%s (their public keys differ)" % DOMAIN]


def test_unreadable_and_encrypted_keys_are_refused(pki):
    assert _check(_pem(pki["leaf"], pki["inter"]), "not a key", trusted=_pem(pki["root"]))["errors"] == [
        "the key holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)"]
    encrypted = pki["leaf_key"].private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.BestAvailableEncryption(b"secret")).decode()
    errors = _check(_pem(pki["leaf"], pki["inter"]), encrypted, trusted=_pem(pki["root"]))["errors"]
    assert len(errors) == 1 and errors[0].startswith("the key is encrypted with a passphrase")


def test_no_certificate_at_all():
    res = _check("", "")
    assert res["errors"] == ["the certificate holds no PEM certificate (-----BEGIN CERTIFICATE-----)"]
    assert res["certificate"] == {}


def test_a_certificate_for_another_name_is_refused(pki):
    res = _check(_pem(pki["leaf"], pki["inter"], pki["root"]), _pem(pki["leaf_key"]), domain="other.example.org")
    assert res["errors"] == ["the certificate does not cover other.example.org: its subjectAltNames are %s" % DOMAIN]


@pytest.mark.parametrize("pattern,host,match", [
    ("*.example.org", "kaapana.example.org", True),
    ("*.example.org", "a.b.example.org", False),
    ("*.example.org", "example.org", False),
    ("KAAPANA.example.org", "kaapana.EXAMPLE.org.", True),
    ("kaapana.example.org", "kaapana2.example.org", False),
])
def test_wildcards_match_one_label(pattern, host, match):
    key = _key()
    assert tls.covers(_cert("x", key, names=[pattern]), host) is match


def test_an_ip_address_domain_needs_an_ip_san():
    key = _key()
    cert = _cert("10.0.0.5", key, names=["10.0.0.5"])
    assert tls.covers(cert, "10.0.0.5") and not tls.covers(cert, "10.0.0.6")
    assert not tls.covers(_cert("10.0.0.5", key, names=["kaapana.example.org"]), "10.0.0.5")
    # only the common name: browsers ignore it
    assert _check(_pem(_cert(DOMAIN, key)), _pem(key))["errors"] == [
        "the certificate does not cover %s: its subjectAltNames are none (browsers ignore the common name)" % DOMAIN]


def test_expired_and_not_yet_valid_certificates_are_refused():
    key = _key()
    old = _cert(DOMAIN, key, names=[DOMAIN], start=NOW - 400 * DAY)
    assert _check(_pem(old), _pem(key))["errors"] == [
        "certificate 1 of the file (CN=%s) expired on 2026-10-31" % DOMAIN]
    future = _cert(DOMAIN, key, names=[DOMAIN], start=NOW + 2 * DAY)
    assert _check(_pem(future), _pem(key))["errors"] == [
        "certificate 1 of the file (CN=%s) is not valid before 2026-12-07 00:00 UTC" % DOMAIN]


def test_an_expired_intermediate_is_refused(pki):
    inter = _cert("Hospital Issuing CA", pki["inter_key"], "Hospital Root CA", pki["root_key"], ca=True, days=10,
                  start=NOW - 20 * DAY)
    res = _check(_pem(pki["leaf"], inter, pki["root"]), _pem(pki["leaf_key"]))
    assert res["errors"] == ["certificate 2 of the file (CN=Hospital Issuing CA) expired on 2026-11-25"]


def test_few_days_left_and_self_signed_are_warnings():
    key = _key()
    cert = _cert(DOMAIN, key, names=[DOMAIN], days=11)
    res = _check(_pem(cert), _pem(key), warn_days=30)
    assert res["errors"] == []
    assert res["warnings"] == ["the certificate for %s expires on 2026-12-15, in 10 days" % DOMAIN,
                               "the certificate is self-signed: browsers warn until it is trusted on each client"]
    assert _check(_pem(cert), _pem(key), warn_days=5)["warnings"] == [
        "the certificate is self-signed: browsers warn until it is trusted on each client"]


def test_a_client_only_certificate_is_refused():
    key = _key()
    cert = _cert(DOMAIN, key, names=[DOMAIN], usage=[ExtendedKeyUsageOID.CLIENT_AUTH])
    assert _check(_pem(cert), _pem(key))["errors"] == [
        "the certificate's extendedKeyUsage does not allow TLS servers (serverAuth)"]


def test_no_key_material_in_the_result(pki):
    key_pem = _pem(pki["leaf_key"])
    res = _check(_pem(pki["leaf"], pki["inter"], pki["root"]), key_pem)
    body = repr(res)
    assert "PRIVATE" not in body and key_pem.splitlines()[1] not in body


def test_filters(pki):
    res = tls_filter.tls_certificate_check(_pem(pki["leaf"], pki["inter"], pki["root"]), _pem(pki["leaf_key"]),
                                           DOMAIN, now=NOW.timestamp())
    assert res["errors"] == []
    expiry = tls_filter.x509_expiry(_pem(pki["root"]), now=NOW.timestamp())
    assert (expiry["subject"], expiry["days_left"], expiry["self_signed"]) == ("CN=Hospital Root CA", 3649, True)
    with pytest.raises(Exception, match="kaapana.platform.x509_expiry: the input holds no PEM certificate"):
        tls_filter.x509_expiry("nothing")


def _workload(kind, name, spec, annotations=None):
    return {"kind": kind, "apiVersion": "apps/v1", "metadata": {"name": name, "namespace": "admin"},
            "spec": {"template": {"metadata": {"annotations": annotations or {}}, "spec": spec}}}


def test_secret_consumers_find_volumes_projections_and_env_only():
    workloads = [
        _workload("Deployment", "traefik", {"volumes": [{"name": "ssl", "secret": {"secretName": "certificate"}}]}),
        _workload("Deployment", "keycloak", {"volumes": [{"name": "p", "projected": {"sources": [
            {"secret": {"name": "certificate"}}]}}]}, {"x/sha": "abc"}),
        _workload("StatefulSet", "minio", {"containers": [{"name": "m", "env": [
            {"name": "CERT", "valueFrom": {"secretKeyRef": {"name": "certificate", "key": "tls.crt"}}}]}]}),
        _workload("DaemonSet", "agent", {"initContainers": [{"name": "i", "envFrom": [
            {"secretRef": {"name": "certificate"}}]}]}),
        _workload("Deployment", "kube-helm", {
            "volumes": [{"name": "s", "secret": {"secretName": "registry-secret"}}],
            "containers": [{"name": "k", "env": [{"name": "A", "value": "b"}]}]}),
    ]
    got = tls.secret_consumers(workloads, "certificate", "x/sha")
    assert [(w["kind"], w["name"], w["annotation"]) for w in got] == [
        ("DaemonSet", "agent", ""), ("Deployment", "keycloak", "abc"), ("Deployment", "traefik", ""),
        ("StatefulSet", "minio", "")]
    assert tls_filter.secret_consumers(workloads, "nothing", "x/sha") == []
