# SPDX-License-Identifier: Apache-2.0
# Copyright: contributors to kaapana.platform
"""Checks of a TLS certificate and key before they replace Kaapana's Secret ``certificate`` (kaapanactl.sh
install_certs takes ./tls.crt and ./tls.key as they are), and the expiry of MicroK8s' own certificates.

Everything here runs on the controller over PEM text. What it returns names certificates by subject, dates and
SHA-256 fingerprint only: never key material, so its result can be shown at any verbosity."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import ipaddress

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID
    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - ansible-core depends on cryptography
    HAS_CRYPTOGRAPHY = False

PEM_CERT_BEGIN = "-----BEGIN CERTIFICATE-----"


def _require_cryptography():
    if not HAS_CRYPTOGRAPHY:
        raise ValueError("the Python package cryptography is needed on the controller (ansible-core depends on it)")


def _utc(value):
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def _not_after(cert):
    return _utc(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)


def _not_before(cert):
    return _utc(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)


def _subject(cert):
    return cert.subject.rfc4514_string() or "(empty subject)"


def _issuer(cert):
    return cert.issuer.rfc4514_string() or "(empty issuer)"


def _fingerprint(cert):
    return cert.fingerprint(hashes.SHA256()).hex()


def _now(now):
    if now is None:
        return datetime.datetime.now(datetime.timezone.utc)
    if isinstance(now, (int, float)):
        return datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return _utc(now)


def load_certificates(pem):
    """Every certificate of a PEM text, in the order given. ValueError when there is none or one is broken."""
    _require_cryptography()
    text = str(pem or "")
    if PEM_CERT_BEGIN not in text:
        raise ValueError("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    try:
        return x509.load_pem_x509_certificates(text.encode())
    except ValueError as exc:
        raise ValueError("is not a readable PEM certificate: %s" % exc)


def _load_key(pem):
    text = str(pem or "")
    if "PRIVATE KEY-----" not in text:
        raise ValueError("holds no PEM private key (-----BEGIN ... PRIVATE KEY-----)")
    try:
        return serialization.load_pem_private_key(text.encode(), password=None)
    except TypeError:
        raise ValueError("is encrypted with a passphrase; give the unencrypted key (Ansible Vault keeps it "
                         "encrypted at rest)")
    except ValueError as exc:
        raise ValueError("is not a readable PEM private key: %s" % exc)


def _public_der(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _issued_by(cert, issuer):
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _self_signed(cert):
    return _issued_by(cert, cert)


def _names(cert):
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return [], []
    return ext.get_values_for_type(x509.DNSName), [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]


def _dns_match(pattern, host):
    """RFC 6125 matching as browsers do it: case-insensitive, a wildcard only as the whole left-most label and
    standing for exactly one label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == host
    rest = pattern[2:]
    head, _dot, tail = host.partition(".")
    return bool(head) and tail == rest and "*" not in rest


def covers(cert, domain):
    """Whether the certificate's subjectAltName covers domain (a DNS name or an IP address). The common name is not
    read: browsers ignore it."""
    dns_names, ips = _names(cert)
    try:
        address = ipaddress.ip_address(str(domain))
    except ValueError:
        return any(_dns_match(name, str(domain)) for name in dns_names)
    return any(ipaddress.ip_address(ip) == address for ip in ips)


def describe(cert, now=None):
    """What a report says about one certificate; no key material."""
    moment = _now(now)
    dns_names, ips = _names(cert)
    return {
        "subject": _subject(cert),
        "issuer": _issuer(cert),
        "names": dns_names + ips,
        "not_before": _not_before(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "not_after": _not_after(cert).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "days_left": (_not_after(cert) - moment).days,
        "sha256": _fingerprint(cert),
        "self_signed": _self_signed(cert),
    }


def _chain_errors(chain, trusted, now):
    errors = []
    for position, cert in enumerate(chain):
        if _not_after(cert) < now:
            errors.append("certificate %d of the file (%s) expired on %s" % (
                position + 1, _subject(cert), _not_after(cert).strftime("%Y-%m-%d")))
        elif _not_before(cert) > now:
            errors.append("certificate %d of the file (%s) is not valid before %s" % (
                position + 1, _subject(cert), _not_before(cert).strftime("%Y-%m-%d %H:%M UTC")))
    for position, (cert, issuer) in enumerate(zip(chain, chain[1:])):
        if not _issued_by(cert, issuer):
            errors.append("certificate %d (%s) is not issued by certificate %d that follows it (%s): give the "
                          "server certificate first, then each issuer in order" % (
                              position + 1, _subject(cert), position + 2, _subject(issuer)))
    last = chain[-1]
    if not errors and not _self_signed(last) and not any(_issued_by(last, root) for root in trusted):
        errors.append("the chain is incomplete: the issuer of %s (%s) is neither in the file nor among the trusted "
                      "CA certificates; append the intermediate certificate(s) to the certificate file"
                      % (_subject(last), _issuer(last)))
    return errors


def check_tls_pair(certificate_pem, key_pem, domain, trusted_pem="", warn_days=30, now=None):
    """Check a certificate file (server certificate first, then its chain) and its key for Kaapana's domain.

    Returns {"errors": [...], "warnings": [...], "certificate": describe(server certificate) or {}, "chain": [...]}.
    errors: what makes browsers or Kaapana's services refuse it (unreadable, key not the certificate's, a chain out
    of order or incomplete, the domain not among the subjectAltNames, expired or not yet valid, an extendedKeyUsage
    without serverAuth). warnings: fewer than warn_days days left, self-signed."""
    _require_cryptography()
    moment = _now(now)
    errors, warnings = [], []
    try:
        chain = load_certificates(certificate_pem)
    except ValueError as exc:
        return {"errors": ["the certificate %s" % exc], "warnings": [], "certificate": {}, "chain": []}
    leaf = chain[0]
    try:
        key = _load_key(key_pem)
    except ValueError as exc:
        errors.append("the key %s" % exc)
    else:
        if _public_der(key.public_key()) != _public_der(leaf.public_key()):
            errors.append("the key does not belong to the certificate %s (their public keys differ)" % _subject(leaf))
    trusted = []
    if trusted_pem and PEM_CERT_BEGIN in str(trusted_pem):
        try:
            trusted = load_certificates(trusted_pem)
        except ValueError as exc:
            errors.append("the trusted CA certificates %s" % exc)
    errors.extend(_chain_errors(chain, trusted, moment))
    if not covers(leaf, domain):
        dns_names, ips = _names(leaf)
        errors.append("the certificate does not cover %s: its subjectAltNames are %s" % (
            domain, ", ".join(dns_names + ips) or "none (browsers ignore the common name)"))
    info = describe(leaf, moment)
    if 0 <= info["days_left"] < int(warn_days) and _not_after(leaf) >= moment:
        warnings.append("the certificate for %s expires on %s, in %d days" % (
            domain, info["not_after"][:10], info["days_left"]))
    if info["self_signed"]:
        warnings.append("the certificate is self-signed: browsers warn until it is trusted on each client")
    try:
        usage = leaf.extensions.get_extension_for_oid(ExtensionOID.EXTENDED_KEY_USAGE).value
        if ExtendedKeyUsageOID.SERVER_AUTH not in usage:
            errors.append("the certificate's extendedKeyUsage does not allow TLS servers (serverAuth)")
    except x509.ExtensionNotFound:
        pass
    return {"errors": errors, "warnings": warnings, "certificate": info,
            "chain": [describe(cert, moment) for cert in chain[1:]]}


def certificate_expiry(pem, now=None):
    """describe() of the first certificate of a PEM text (e.g. one of MicroK8s' certs/*.crt)."""
    return describe(load_certificates(pem)[0], now)


def _pod_spec_uses_secret(spec, secret_name):
    for volume in spec.get("volumes") or []:
        if (volume.get("secret") or {}).get("secretName") == secret_name:
            return True
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get("secret") or {}).get("name") == secret_name:
                return True
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for env in container.get("env") or []:
            if ((env.get("valueFrom") or {}).get("secretKeyRef") or {}).get("name") == secret_name:
                return True
        for source in container.get("envFrom") or []:
            if (source.get("secretRef") or {}).get("name") == secret_name:
                return True
    return False


def secret_consumers(workloads, secret_name, annotation):
    """The workloads (Deployments, StatefulSets, DaemonSets as the API returns them) whose pods mount or read the
    Secret secret_name: [{"kind", "api_version", "namespace", "name", "annotation"}], annotation being the value of
    that pod-template annotation ("" when absent), sorted by namespace, kind and name."""
    found = []
    for item in workloads or []:
        template = (item.get("spec") or {}).get("template") or {}
        if not _pod_spec_uses_secret(template.get("spec") or {}, secret_name):
            continue
        meta = item.get("metadata") or {}
        found.append({
            "kind": item.get("kind"),
            "api_version": item.get("apiVersion") or "apps/v1",
            "namespace": meta.get("namespace"),
            "name": meta.get("name"),
            "annotation": ((template.get("metadata") or {}).get("annotations") or {}).get(annotation, ""),
        })
    return sorted(found, key=lambda w: (w["namespace"] or "", w["kind"] or "", w["name"] or ""))
