"""The lab's PKI, made with OpenSSL: one CA, one certificate that serves the API and
authenticates the admin (O=system:masters), and the service-account key pair."""
import os
import subprocess


def _run(argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def ensure_pki(pki_dir, gateway, service_ip):
    os.makedirs(pki_dir, mode=0o700, exist_ok=True)
    if os.path.exists(os.path.join(pki_dir, "admin.crt")):
        return
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
          "-days", "3650", "-subj", "/CN=kaapana-lab-ca",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], pki_dir)
    _run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "admin.key", "-out", "admin.csr",
          "-subj", "/O=system:masters/CN=kube-admin"], pki_dir)
    sans = ["DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local", "IP:127.0.0.1", "IP:" + gateway, "IP:" + service_ip]
    with open(os.path.join(pki_dir, "admin.ext"), "w") as handle:
        handle.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                     "extendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n" % ",".join(sans))
    _run(["openssl", "x509", "-req", "-in", "admin.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", "admin.crt", "-days", "3650", "-extfile", "admin.ext"], pki_dir)
    _run(["openssl", "genrsa", "-out", "sa.key", "2048"], pki_dir)
    _run(["openssl", "rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], pki_dir)
    for name in os.listdir(pki_dir):
        os.chmod(os.path.join(pki_dir, name), 0o600)


def write_kubeconfig(path, server, pki_dir, embed=False):
    """A kubeconfig for the lab admin; `embed` inlines the certificates (for copies that travel)."""
    import base64

    def ref(kind, name):
        full = os.path.join(pki_dir, name)
        if embed:
            with open(full, "rb") as handle:
                return "%s-data: %s" % (kind, base64.b64encode(handle.read()).decode())
        return "%s: %s" % (kind, full)

    text = "\n".join([
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: kaapana-lab",
        "  cluster:",
        "    server: %s" % server,
        "    " + ref("certificate-authority", "ca.crt"),
        "users:",
        "- name: kaapana-lab-admin",
        "  user:",
        "    " + ref("client-certificate", "admin.crt"),
        "    " + ref("client-key", "admin.key"),
        "contexts:",
        "- name: kaapana-lab",
        "  context: {cluster: kaapana-lab, user: kaapana-lab-admin}",
        "current-context: kaapana-lab",
        "",
    ])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
