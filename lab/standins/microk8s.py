# -----------------------------------------------------------------------------------------------
# kaapana lab STAND-IN for MicroK8s 1.33 (`microk8s` and its `microk8s.<cmd>` commands) -- NOT
# the real MicroK8s. Snap, MicroK8s and its daemons cannot run in the lab's Podman node
# containers, so this stand-in answers MicroK8s' command line with MicroK8s' own messages and
# output formats (canonical/microk8s branch 1.33: scripts/wrappers/*.py,
# microk8s-resources/wrappers/*.wrapper, microk8s-resources/default-args/*, and the 1.33 core
# addons of canonical/microk8s-core-addons) while acting on the lab's real Kubernetes API:
#   * the primary node's install hook registers this host as a Node (KWOK makes it Ready) and,
#     like MicroK8s' default launch configuration, enables the dns addon;
#   * add-node stores join tokens in Secret kube-system/microk8s-standin-join-tokens, join
#     validates and consumes them and registers the joining Node; cluster membership (the
#     "dqlite" voters) lives in ConfigMap kube-system/microk8s-standin-cluster;
#   * enable/disable dns, rbac, hostpath-storage, nvidia create/delete the addon's objects;
#     status looks at the lab API like status.py does (kubectl get all,ingress + clusterroles);
#   * kubectl / helm / helm3 run the real binaries from /opt/kaapana-lab/bin with a kubeconfig
#     built from /etc/kaapana-lab/{ca.crt,admin.crt,admin.key} and LAB_API_SERVER;
#   * the install hook makes MicroK8s' certificates in $SNAP_DATA/certs with the `openssl` CLI as
#     utils.sh does (server.crt signed by a stand-in CA, kaapana-lab-standin-ca.{key,crt}, since
#     certs/ca.crt is the lab CA, whose key stays off the nodes); refresh-certs -c/-e/-u works on them.
# Objects it creates carry the label kaapana.lab/standin=microk8s.
#
# Test hooks: KAAPANA_LAB_STANDIN_ROOT prefixes every absolute path; KAAPANA_LAB_STANDIN_KUBECTL,
# KAAPANA_LAB_STANDIN_HELM and KAAPANA_LAB_STANDIN_KUBECONFIG override the binaries/kubeconfig;
# KAAPANA_LAB_STANDIN_IPS ("ip [ip...]", first = default interface) overrides address detection;
# KAAPANA_LAB_STANDIN_SNAP names the snap stand-in; KAAPANA_LAB_STANDIN_NOW fixes the clock;
# KAAPANA_LAB_STANDIN_EUID (fake root only) is the caller's uid for refresh-certs' root check;
# KAAPANA_LAB_STANDIN_RSA_KEYS names a folder of ready RSA keys used instead of `openssl genrsa`.
# Runs as the thin executable `microk8s` (this folder); what it shares with the other stand-ins
# (root, clock, node environment, kubeconfig, tabwriter) is in common.py.
# Python 3 standard library only.
# -----------------------------------------------------------------------------------------------
import argparse
import base64
import calendar
import fcntl
import hashlib
import io
import ipaddress
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tarfile
import time

from .common import (P, ROOT, helm_bin, kubeconfig_text, kubectl_bin, lab_env, lab_kubeconfig, node_env, now, run_main,
                     tabwrite)

STANDIN_NOTE = "kaapana lab stand-in for MicroK8s (not the real MicroK8s)"
LABEL_KEY = "kaapana.lab/standin"
LABEL = {LABEL_KEY: "microk8s"}
# Several simulated clusters (e.g. Molecule scenarios running side by side) share the one lab API:
# every object carries the id of the cluster it belongs to (the name of the node that formed it).
CLUSTER_LABEL = "kaapana.lab/standin-cluster"
STATE_LABEL = "kaapana.lab/standin-state"
NS = "kube-system"
CLUSTER_CM = "microk8s-standin-cluster"
TOKENS_SECRET = "microk8s-standin-join-tokens"
CLUSTER_AGENT_PORT = "25000"
DQLITE_PORT = "19001"
NOT_RUNNING = "microk8s is not running. Use microk8s inspect for a deeper inspection."
TOKEN_MIN_LEN = 32
FINGERPRINT_MIN_LEN = 12

SNAP = P("/snap/microk8s/current")
SNAP_DATA = P("/var/snap/microk8s/current")
SNAP_COMMON = P("/var/snap/microk8s/common")


class Exit(Exception):
    def __init__(self, code, message=None, stderr=False):
        super().__init__(message)
        self.code, self.message, self.stderr = code, message, stderr


def out(text=""):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text=""):
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# ---- MicroK8s 1.33 default args (microk8s-resources/default-args) ------------------------------
# (verbatim file contents of branch 1.33; ${SNAP_DATA} etc. stay literal as in the real files)
DEFAULT_ARGS = {
    'kube-apiserver': (
        '--cert-dir=${SNAP_DATA}/certs\n'
        '--service-cluster-ip-range=10.152.183.0/24\n'
        '--authorization-mode=AlwaysAllow\n'
        '--service-account-key-file=${SNAP_DATA}/certs/serviceaccount.key\n'
        '--client-ca-file=${SNAP_DATA}/certs/ca.crt\n'
        '--tls-cert-file=${SNAP_DATA}/certs/server.crt\n'
        '--tls-private-key-file=${SNAP_DATA}/certs/server.key\n'
        '--tls-cipher-suites=TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,TLS_CHACHA20_POLY1305_SHA256,'
        'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,'
        'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,'
        'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,'
        'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,'
        'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,'
        'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,TLS_RSA_WITH_3DES_EDE_CBC_SHA,TLS_RSA_WITH_AES_128_CBC_SHA,'
        'TLS_RSA_WITH_AES_128_GCM_SHA256,TLS_RSA_WITH_AES_256_CBC_SHA,TLS_RSA_WITH_AES_256_GCM_SHA384\n'
        '--kubelet-client-certificate=${SNAP_DATA}/certs/apiserver-kubelet-client.crt\n'
        '--kubelet-client-key=${SNAP_DATA}/certs/apiserver-kubelet-client.key\n'
        '--secure-port=16443\n'
        '--etcd-servers="unix://${SNAP_DATA}/var/kubernetes/backend/kine.sock:12379"\n'
        '--allow-privileged=true\n'
        "--service-account-issuer='https://kubernetes.default.svc'\n"
        '--service-account-signing-key-file=${SNAP_DATA}/certs/serviceaccount.key\n'
        '--event-ttl=5m\n'
        '--profiling=false\n'
        '\n'
        '# Enable the aggregation layer\n'
        '--requestheader-client-ca-file=${SNAP_DATA}/certs/front-proxy-ca.crt\n'
        '--requestheader-allowed-names=front-proxy-client\n'
        '--requestheader-extra-headers-prefix=X-Remote-Extra-\n'
        '--requestheader-group-headers=X-Remote-Group\n'
        '--requestheader-username-headers=X-Remote-User\n'
        '--proxy-client-cert-file=${SNAP_DATA}/certs/front-proxy-client.crt\n'
        '--proxy-client-key-file=${SNAP_DATA}/certs/front-proxy-client.key\n'
        '#~Enable the aggregation layer\n'
        '--enable-admission-plugins=EventRateLimit\n'
        '--admission-control-config-file=${SNAP_DATA}/args/admission-control-config-file.yaml\n'
        '--kubelet-certificate-authority=${SNAP_DATA}/certs/ca.crt\n'
        '--kubelet-preferred-address-types=InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP\n'
    ),
    'kube-controller-manager': (
        '--kubeconfig=${SNAP_DATA}/credentials/controller.config\n'
        '--service-account-private-key-file=${SNAP_DATA}/certs/serviceaccount.key\n'
        '--root-ca-file=${SNAP_DATA}/certs/ca.crt\n'
        '--cluster-signing-cert-file=${SNAP_DATA}/certs/ca.crt\n'
        '--cluster-signing-key-file=${SNAP_DATA}/certs/ca.key\n'
        '--use-service-account-credentials\n'
        '--leader-elect-lease-duration=60s\n'
        '--leader-elect-renew-deadline=30s\n'
        '--profiling=false\n'
    ),
    'kube-scheduler': (
        '--kubeconfig=${SNAP_DATA}/credentials/scheduler.config\n'
        '--leader-elect-lease-duration=60s\n'
        '--leader-elect-renew-deadline=30s\n'
        '--profiling=false\n'
    ),
    'kubelet': (
        '--kubeconfig=${SNAP_DATA}/credentials/kubelet.config\n'
        '--cert-dir=${SNAP_DATA}/certs\n'
        '--client-ca-file=${SNAP_DATA}/certs/ca.crt\n'
        '--anonymous-auth=false\n'
        '--root-dir=${SNAP_COMMON}/var/lib/kubelet\n'
        '--fail-swap-on=false\n'
        '--eviction-hard="memory.available<100Mi,nodefs.available<1Gi,imagefs.available<1Gi"\n'
        '--container-runtime-endpoint=${SNAP_COMMON}/run/containerd.sock\n'
        '--containerd=${SNAP_COMMON}/run/containerd.sock\n'
        '--node-labels="microk8s.io/cluster=true,node.kubernetes.io/microk8s-controlplane=microk8s-controlplane"\n'
        '--authentication-token-webhook=true\n'
        '--read-only-port=0\n'
        '--tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,'
        'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,'
        'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_RSA_WITH_AES_256_GCM_SHA384,'
        'TLS_RSA_WITH_AES_128_GCM_SHA256\n'
        '--serialize-image-pulls=false\n'
    ),
    'kube-proxy': (
        '--kubeconfig=${SNAP_DATA}/credentials/proxy.config\n'
        '--cluster-cidr=10.1.0.0/16\n'
        '--healthz-bind-address=127.0.0.1\n'
        '--profiling=false\n'
    ),
    'kubelite': (
        '--scheduler-args-file=$SNAP_DATA/args/kube-scheduler\n'
        '--controller-manager-args-file=$SNAP_DATA/args/kube-controller-manager\n'
        '--proxy-args-file=$SNAP_DATA/args/kube-proxy\n'
        '--kubelet-args-file=$SNAP_DATA/args/kubelet\n'
        '--apiserver-args-file=$SNAP_DATA/args/kube-apiserver\n'
        '--kubeconfig-file=$SNAP_DATA/credentials/client.config\n'
        '--start-control-plane=true\n'
    ),
    'containerd': (
        '--config ${SNAP_DATA}/args/containerd.toml\n'
        '--root ${SNAP_COMMON}/var/lib/containerd\n'
        '--state ${SNAP_COMMON}/run/containerd\n'
        '--address ${SNAP_COMMON}/run/containerd.sock\n'
    ),
    'containerd-env': (
        '# Remember to restart MicroK8s after editing this file:\n'
        '#\n'
        '# sudo microk8s stop; sudo microk8s start\n'
        '#\n'
        '\n'
        '# To start containerd behind a proxy you need to add an HTTPS_PROXY\n'
        '# environment variable in this file. HTTPS_PROXY is of the following form:\n'
        '# HTTPS_PROXY=http://username:password@proxy:port/\n'
        '# where username: and password@ are optional. eg:\n'
        '#\n'
        '# HTTPS_PROXY=https://squid.internal:3128\n'
        '#\n'
        '# You may also want to set NO_PROXY to include the cluster-cidr and the services-cidr\n'
        '# as specified in /var/snap/microk8s/current/args/kube-proxy and\n'
        '# /var/snap/microk8s/current/args/kube-apiserver\n'
        '#\n'
        '# NO_PROXY=10.1.0.0/16,10.152.183.0/24\n'
        '#\n'
        '\n'
        '# You can set the of the kata containers runtime here.\n'
        '#\n'
        '# KATA_PATH=\n'
        '#\n'
        'PATH=$PATH:$KATA_PATH\n'
        '\n'
        '# Attempt to change the maximum number of open file descriptors\n'
        '# this get inherited to the running containers\n'
        '#\n'
        'ulimit -n 65536 || true\n'
        '\n'
        '# Attempt to change the maximum locked memory limit\n'
        '# this get inherited to the running containers\n'
        '#\n'
        'ulimit -l 16384 || true\n'
        '\n'
    ),
    'containerd-template.toml': (
        '# Use config version 2 to enable new configuration fields.\n'
        'version = 2\n'
        'oom_score = 0\n'
        '\n'
        '[grpc]\n'
        '  uid = 0\n'
        '  gid = 0\n'
        '  max_recv_message_size = 16777216\n'
        '  max_send_message_size = 16777216\n'
        '\n'
        '[debug]\n'
        '  address = ""\n'
        '  uid = 0\n'
        '  gid = 0\n'
        '\n'
        '[metrics]\n'
        '  address = "127.0.0.1:1338"\n'
        '  grpc_histogram = false\n'
        '\n'
        '[cgroup]\n'
        '  path = ""\n'
        '\n'
        '\n'
        '# The \'plugins."io.containerd.grpc.v1.cri"\' table contains all of the server options.\n'
        '[plugins."io.containerd.grpc.v1.cri"]\n'
        '\n'
        '  stream_server_address = "127.0.0.1"\n'
        '  stream_server_port = "0"\n'
        '  enable_selinux = false\n'
        '  sandbox_image = "registry.k8s.io/pause:3.10"\n'
        '  stats_collect_period = 10\n'
        '  enable_tls_streaming = false\n'
        '  max_container_log_line_size = 16384\n'
        '\n'
        '  # \'plugins."io.containerd.grpc.v1.cri".containerd\' contains config related to containerd\n'
        '  [plugins."io.containerd.grpc.v1.cri".containerd]\n'
        '\n'
        '    # snapshotter is the snapshotter used by containerd.\n'
        '    snapshotter = "${SNAPSHOTTER}"\n'
        '\n'
        '    # no_pivot disables pivot-root (linux only), required when running a container in a RamDisk with runc.\n'
        '    # This only works for runtime type "io.containerd.runtime.v1.linux".\n'
        '    no_pivot = false\n'
        '\n'
        '    # default_runtime_name is the default runtime name to use.\n'
        '    default_runtime_name = "${RUNTIME}"\n'
        '\n'
        '    # \'plugins."io.containerd.grpc.v1.cri".containerd.runtimes\' is a map from CRI RuntimeHandler strings, which specify types\n'
        '    # of runtime configurations, to the matching configurations.\n'
        "    # In this example, 'runc' is the RuntimeHandler string to match.\n"
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '      # runtime_type is the runtime type to use in containerd e.g. io.containerd.runtime.v1.linux\n'
        '      runtime_type = "${RUNTIME_TYPE}"\n'
        '\n'
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia-container-runtime]\n'
        '      # runtime_type is the runtime type to use in containerd e.g. io.containerd.runtime.v1.linux\n'
        '      runtime_type = "${RUNTIME_TYPE}"\n'
        '\n'
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia-container-runtime.options]\n'
        '        BinaryName = "nvidia-container-runtime"\n'
        '\n'
        '   [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata]\n'
        '      runtime_type = "io.containerd.kata.v2"\n'
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.kata.options]\n'
        '        BinaryName = "kata-runtime"\n'
        '\n'
        '  # \'plugins."io.containerd.grpc.v1.cri".cni\' contains config related to cni\n'
        '  [plugins."io.containerd.grpc.v1.cri".cni]\n'
        '    # bin_dir is the directory in which the binaries for the plugin is kept.\n'
        '    bin_dir = "${SNAP_DATA}/opt/cni/bin"\n'
        '\n'
        '    # conf_dir is the directory in which the admin places a CNI conf.\n'
        '    conf_dir = "${SNAP_DATA}/args/cni-network"\n'
        '\n'
        '  # \'plugins."io.containerd.grpc.v1.cri".registry\' contains config related to the registry\n'
        '  [plugins."io.containerd.grpc.v1.cri".registry]\n'
        '    config_path = "${SNAP_DATA}/args/certs.d"\n'
    ),
    'ctr': (
        '--address=${SNAP_COMMON}/run/containerd.sock\n'
        '--namespace k8s.io\n'
    ),
    'kubectl': "",
    'kubectl-env': (
        'export KUBECONFIG=$SNAP_DATA/credentials/client.config'
    ),
    'cni-env': (
        "# Choose CNI to deploy. Only 'calico' is supported at the moment\n"
        'CNI=calico\n'
        '\n'
        '# IPv4 configuration\n'
        'IPv4_SUPPORT=true\n'
        'IPv4_CLUSTER_CIDR=10.1.0.0/16\n'
        'IPv4_SERVICE_CIDR=10.152.183.0/24\n'
        '\n'
        '# IPv6 configuration\n'
        'IPv6_SUPPORT=false\n'
        '# IPv6_CLUSTER_CIDR=fd01::/64\n'
        '# IPv6_SERVICE_CIDR=fd98::/108\n'
        '\n'
        '# Calico-specific configuration settings\n'
        '# CALICO_VETH_MTU=1450\n'
    ),
    'k8s-dqlite': (
        '--storage-dir=${SNAP_DATA}/var/kubernetes/backend/\n'
        '--listen=unix://${SNAP_DATA}/var/kubernetes/backend/kine.sock:12379\n'
    ),
    'k8s-dqlite-env': (
        '# Environment variables k8s-dqlite will run with\n'
        '#\n'
        '# Enable dqlite debugging flags\n'
        '# LIBRAFT_TRACE="1"\n'
        '# LIBDQLITE_TRACE="1"\n'
    ),
    'cluster-agent': (
        '--bind 0.0.0.0:25000\n'
        '--keyfile "${SNAP_DATA}/certs/server.key"\n'
        '--certfile "${SNAP_DATA}/certs/server.crt"\n'
        '--timeout 240\n'
    ),
    'apiserver-proxy': (
        '--traefik-config ${SNAP_DATA}/args/traefik/traefik.yaml\n'
        '--kubeconfig ${SNAP_DATA}/credentials/kubelet.config\n'
        '--refresh-interval 30s\n'
    ),
    'etcd': (
        '--data-dir=${SNAP_COMMON}/var/run/etcd\n'
        '--advertise-client-urls=https://${DEFAULT_INTERFACE_IP_ADDR}:12379\n'
        '--listen-client-urls=https://0.0.0.0:12379\n'
        '--client-cert-auth\n'
        '--trusted-ca-file=${SNAP_DATA}/certs/ca.crt\n'
        '--cert-file=${SNAP_DATA}/certs/server.crt\n'
        '--key-file=${SNAP_DATA}/certs/server.key\n'
        '--enable-v2=true\n'
    ),
    'flanneld': (
        '--iface=""\n'
        '--etcd-endpoints=https://127.0.0.1:12379\n'
        '--etcd-cafile=${SNAP_DATA}/certs/ca.crt\n'
        '--etcd-certfile=${SNAP_DATA}/certs/server.crt\n'
        '--etcd-keyfile=${SNAP_DATA}/certs/server.key\n'
        '--subnet-file=${SNAP_COMMON}/run/flannel/subnet.env\n'
        '--ip-masq=true\n'
    ),
    'ha-conf': (
        'failure-domain=1\n'
    ),
    'admission-control-config-file.yaml': (
        'apiVersion: apiserver.config.k8s.io/v1\n'
        'kind: AdmissionConfiguration\n'
        'plugins:\n'
        '  - name: EventRateLimit\n'
        '    path: eventconfig.yaml\n'
    ),
    'eventconfig.yaml': (
        'apiVersion: eventratelimit.admission.k8s.io/v1alpha1\n'
        'kind: Configuration\n'
        'limits:\n'
        '  - type: Server\n'
        '    qps: 5000\n'
        '    burst: 20000\n'
    ),
    'flannel-network-mgr-config': (
        '{"Network": "10.1.0.0/16", "Backend": {"Type": "vxlan"}}'
    ),
    'flannel-template.conflist': (
        '{\n'
        '    "name": "microk8s-flannel-network",\n'
        '    "cniVersion": "0.3.1",\n'
        '    "plugins": [\n'
        '      {\n'
        '        "type": "flannel",\n'
        '        "name": "flannel-plugin",\n'
        '        "subnetFile": "${SNAP_COMMON}/run/flannel/subnet.env",\n'
        '        "dataDir": "${SNAP_COMMON}/var/lib/cni/flannel",\n'
        '        "delegate": {\n'
        '          "hairpinMode": true,\n'
        '          "isDefaultGateway": true\n'
        '        }\n'
        '      },\n'
        '      {\n'
        '        "type": "portmap",\n'
        '        "capabilities": {"portMappings": true},\n'
        '        "snat": true\n'
        '      }\n'
        '    ]\n'
        '}\n'
    ),
    'certs.d/docker.io/hosts.toml': (
        'server = "https://docker.io"\n'
        '\n'
        '[host."https://registry-1.docker.io"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        '\n'
    ),
    'certs.d/localhost__32000/hosts.toml': (
        'server = "http://localhost:32000"\n'
        '\n'
        '[host."http://localhost:32000"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        '\n'
    ),
    'traefik/traefik-template.yaml': (
        'entryPoints:\n'
        '  apiserver:\n'
        '    address: ":16443"\n'
        'providers:\n'
        '  file:\n'
        '    filename: ${SNAP_DATA}/args/traefik/provider.yaml\n'
        '    watch: true\n'
    ),
    'traefik/provider-template.yaml': (
        'tcp:\n'
        '  routers:\n'
        '    Router-1:\n'
        '      rule: "HostSNI(`*`)"\n'
        '      service: "kube-apiserver"\n'
        '      tls:\n'
        '        passthrough: true\n'
        '  services:\n'
        '    kube-apiserver:\n'
        '      loadBalancer:\n'
        '        servers:\n'
        '# APISERVERS\n'
        '#      - address: "10.130.0.2:16443"\n'
        '#      - address: "10.130.0.3:16443"\n'
        '#      - address: "10.130.0.4:16443"\n'
    ),
    'git/.gitconfig': (
        '[safe]\n'
        '        directory = /snap/microk8s/current/addons/community/.git\n'
        '        directory = /snap/microk8s/current/addons/core/.git\n'
    ),
}

# MicroK8s 1.33 writes cni-network/cni.yaml from its bundled Calico manifest; the lab has no CNI,
# so the stand-in's cni.yaml only carries Calico's config map (it applies cleanly to the lab API).
CNI_YAML = """# kaapana lab stand-in for MicroK8s' Calico manifest (args/cni-network/cni.yaml).
# The lab has no pod network; applying this only creates Calico's config map.
apiVersion: v1
kind: ConfigMap
metadata:
  name: calico-config
  namespace: kube-system
  labels:
    kaapana.lab/standin: microk8s
data:
  typha_service_name: "none"
  calico_backend: "vxlan"
  veth_mtu: "0"
  cni_network_config: |-
    {
      "name": "k8s-pod-network",
      "cniVersion": "0.3.1",
      "plugins": [
        {
          "type": "calico",
          "log_level": "info",
          "datastore_type": "kubernetes",
          "nodename": "__KUBERNETES_NODE_NAME__",
          "mtu": __CNI_MTU__,
          "ipam": {
              "assign_ipv4": "true",
              "type": "calico-ipam"
          },
          "policy": {
              "type": "k8s"
          },
          "kubernetes": {
              "kubeconfig": "__KUBECONFIG_FILEPATH__"
          }
        },
        {
          "type": "portmap",
          "snat": true,
          "capabilities": {"portMappings": true}
        },
        {
          "type": "bandwidth",
          "capabilities": {"bandwidth": true}
        }
      ]
    }
"""

# MicroK8s' bundled default launch configuration (microk8s-resources/microk8s.default.yaml, 1.33)
DEFAULT_LAUNCH_CONFIG = {
    "version": "0.1.0",
    "extraKubeletArgs": {"--cluster-domain": "cluster.local", "--cluster-dns": "10.152.183.10"},
    "addons": [{"name": "dns"}],
}

# canonical/microk8s-core-addons branch 1.33, addons.yaml (amd64 entries)
CORE_ADDONS = [
    ("dns", "CoreDNS", "1.12.1", "pod/coredns", None),
    ("rbac", "Role-Based Access Control for authorisation", "", "clusterrole.rbac.authorization.k8s.io/cluster-admin", None),
    ("dashboard", "The Kubernetes dashboard", "7.11.1", "pod/kubernetes-dashboard", None),
    ("ingress", "Ingress controller for external access", "1.12.1", "pod/nginx-ingress-microk8s-controller", None),
    ("hostpath-storage", "Storage class; allocates storage from host directory", "1.4.2", "deployment.apps/hostpath-provisioner", None),
    ("storage", "Alias to hostpath-storage add-on, deprecated", "1.4.0", "deployment.apps/hostpath-provisioner", None),
    ("registry", "Private image registry exposed on localhost:32000", "2.8.3", "deployment.apps/registry", None),
    ("metrics-server", "K8s Metrics Server for API access to service metrics", "0.7.2", "pod/metrics-server", None),
    ("nvidia", "NVIDIA hardware (GPU and network) support", "gpu=25.3.0/network=25.1.0/microk8s-1", "operator-node-feature-discovery", "classic"),
    ("gpu", "Alias to nvidia add-on", "25.3.0", "operator-node-feature-discovery", "classic"),
    ("helm", "Helm - the package manager for Kubernetes", "3.9.1", "${SNAP}/bin/helm", None),
    ("helm3", "Helm 3 - the package manager for Kubernetes", "3.9.1", "${SNAP}/bin/helm", None),
    ("metallb", "Loadbalancer for your Kubernetes cluster", "0.14.9", "pod/speaker", None),
    ("host-access", "Allow Pods connecting to Host services smoothly", "1.0.0", "${SNAP_DATA}/var/lock/host-access-enabled", None),
    ("ha-cluster", "Configure high availability on the current node", "0.1.0", "${SNAP_DATA}/var/lock/ha-cluster", None),
    ("mayastor", "OpenEBS MayaStor", "2.0.0-microk8s-1", "daemonset.apps/mayastor", None),
    ("prometheus", "Prometheus operator for monitoring and logging", "v0.8.0", "pod/prometheus-k8s-0", None),
    ("observability", "A lightweight observability stack for logs, traces and metrics", "0.70.4",
     "statefulset.apps/prometheus-kube-prom-stack-kube-prome-prometheus", None),
    ("community", "The community addons repository", "", "${SNAP_COMMON}/addons/community/addons.yaml", None),
    ("cert-manager", "Cloud native certificate management", "1.17.1", "deployment.apps/cert-manager", None),
    ("kube-ovn", "An advanced network fabric for Kubernetes", "1.13.8", "deployment.apps/kube-ovn-controller", "classic"),
    ("minio", "MinIO object storage", "v6.0.4", "deployment.apps/minio-operator", None),
    ("cis-hardening", "Apply CIS K8s hardening", "1.0.0", "${SNAP_DATA}/var/lock/cis-hardening", None),
    ("rook-ceph", "Distributed Ceph storage using Rook", "1.16.6", "deployment.apps/rook-ceph-operator", None),
]
# canonical/microk8s-community-addons branch 1.33 (names only: for the "enable community" hint)
COMMUNITY_ADDONS = [
    "microcks", "dashboard-ingress", "istio", "knative", "fluentd", "jaeger", "linkerd", "cilium", "multus", "nfs",
    "portainer", "traefik", "keda", "openfaas", "openebs", "kata", "inaccel", "trivy", "argocd", "osm-edge",
    "sosivio", "kwasm", "gopaddle", "parking", "easyhaproxy", "shifu", "kubearmor", "falco", "cloudnative-pg",
    "ngrok", "stunner", "sriov-device-plugin",
]
# addons whose enable/disable the stand-in implements against the lab API
IMPLEMENTED_ADDONS = {"dns", "rbac", "hostpath-storage", "storage", "nvidia", "gpu", "helm", "helm3",
                      "ha-cluster", "host-access", "cis-hardening"}


# ---- environment of the node ----------------------------------------------------------------------
def node_name():
    """The Node name, as MicroK8s' join.py has it: socket.gethostname().lower(), the whole FQDN on an FQDN-named
    host (no --hostname-override). KAAPANA_LAB_NODE_NAME stands in for the host name only where the stand-in runs
    outside a node container (the rig's tests); the lab's nodes do not set it."""
    return (os.environ.get("KAAPANA_LAB_NODE_NAME") or socket.gethostname()).lower()


def is_primary():
    return (node_env("KAAPANA_LAB_PRIMARY") or "").lower() == "true"


def node_ips():
    override = os.environ.get("KAAPANA_LAB_STANDIN_IPS")
    if override:
        return override.split()
    default = None
    api = lab_env().get("LAB_API_SERVER", "")
    match = re.match(r"https?://\[?([^\]/]+?)\]?(?::\d+)?(?:/|$)", api)
    target = match.group(1) if match else "10.89.0.1"
    try:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.connect((target, 9))
        default = probe.getsockname()[0]
        probe.close()
    except OSError:
        default = None
    ips = []
    try:
        listing = subprocess.run(["ip", "-o", "-4", "addr", "list"], capture_output=True, text=True, check=False).stdout
        for line in listing.splitlines():
            fields = line.split()
            if len(fields) >= 4 and fields[1] != "lo" and fields[1] not in ("vxlan.calico", "flannel.1", "cni0", "ovn0"):
                ip = fields[3].split("/")[0]
                if not ip.startswith("169.254.") and not ip.startswith("127."):
                    ips.append(ip)
    except OSError:
        pass
    if default and default in ips:
        ips.remove(default)
    return ([default] if default else []) + ips or ["127.0.0.1"]


def default_ip():
    return node_ips()[0]


# ---- local files --------------------------------------------------------------------------------
def lock(name):
    return os.path.join(SNAP_DATA, "var", "lock", name)


def has_lock(name):
    return os.path.exists(lock(name))


def set_lock(name, present=True):
    path = lock(name)
    if present:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    elif os.path.exists(path):
        os.remove(path)


def args_path(service):
    return os.path.join(SNAP_DATA, "args", service)


RUNNING_ARGS_DIR = os.path.join(SNAP_DATA, "var", "kaapana-lab-running-args")


def record_running_args():
    """The args files as the services last (re)started read them: a real service reads its args file only when it
    starts, so a changed file without a restart changes nothing. Tests compare this copy with the files."""
    os.makedirs(RUNNING_ARGS_DIR, exist_ok=True)
    for service in os.listdir(os.path.join(SNAP_DATA, "args")):
        source = args_path(service)
        if os.path.isfile(source):
            shutil.copyfile(source, os.path.join(RUNNING_ARGS_DIR, service))


def read_args(service):
    try:
        with open(args_path(service)) as handle:
            return handle.read()
    except OSError:
        return ""


def write_args(service, text):
    path = args_path(service)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def refresh_opt_in_local_config(opt, value, service):
    """utils.sh refresh_opt_in_local_config: replace `--opt=...` in place or insert it as line 1."""
    text = read_args(service)
    lines = text.split("\n")
    key = "--" + opt
    replaced = False
    for i, line in enumerate(lines):
        if line.startswith(key + "="):
            lines[i] = "%s=%s" % (key, value)
            replaced = True
    if not replaced:
        lines.insert(0, "%s=%s" % (key, value))
    write_args(service, "\n".join(lines))


def skip_opt_in_local_config(opt, service):
    """utils.sh skip_opt_in_local_config: delete lines matching `--opt[= ]`."""
    text = read_args(service)
    pattern = re.compile(r"--%s[= ]" % re.escape(opt))
    write_args(service, "".join(line for line in text.splitlines(True) if not pattern.search(line)))


def get_arg(key, service):
    for line in read_args(service).splitlines():
        line = line.strip()
        if line.startswith(key + "=") or line.startswith(key + " "):
            return line[len(key) + 1:].strip()
        if line == key:
            return ""
    return None


def set_arg(key, value, service):
    """common/cluster/utils.py set_arg: replace, append, or (value None) remove an argument."""
    lines = read_args(service).splitlines()
    new, found = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(key + "=") or stripped.startswith(key + " ") or stripped == key:
            found = True
            if value is not None:
                new.append("%s=%s" % (key, value))
        else:
            new.append(line)
    if not found and value is not None:
        new.append("%s=%s" % (key, value))
    write_args(service, "\n".join(new) + "\n")


def update_service_arguments(service, updates):
    """cluster-agent's snap.UpdateServiceArguments, as applied by the launch configuration."""
    if not updates:
        return
    lines = [line.strip() for line in read_args(service).split("\n") if line.strip()]
    seen = set()
    new = []
    for line in lines:
        key = re.split(r"[= ]", line, 1)[0]
        seen.add(key)
        if key in updates:
            if updates[key] is not None:
                new.append("%s=%s" % (key, updates[key]))
        else:
            new.append(line)
    for key, value in updates.items():
        if key not in seen and value is not None:
            new.append("%s=%s" % (key, value))
    write_args(service, "\n".join(new) + "\n")


def local_state():
    try:
        with open(os.path.join(SNAP_DATA, "var", "kaapana-lab-standin.json")) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def save_local_state(data):
    path = os.path.join(SNAP_DATA, "var", "kaapana-lab-standin.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


def snap_record():
    try:
        with open(P("/var/lib/snapd/state.kaapana-lab-standin.json")) as handle:
            return json.load(handle).get("snaps", {}).get("microk8s") or {}
    except (OSError, ValueError):
        return {}


def snap_version():
    return snap_record().get("version") or "v1.33.5"


def snap_revision():
    record = snap_record()
    if record.get("revision"):
        return str(record["revision"])
    try:
        return os.readlink(P("/var/snap/microk8s/current"))
    except OSError:
        return "(unknown)"


def real_snap_data():
    """$SNAP_DATA as MicroK8s prints it (the revision folder, not `current`)."""
    return "/var/snap/microk8s/%s" % snap_revision()


def client_config():
    return os.path.join(SNAP_DATA, "credentials", "client.config")


# ---- the lab API ---------------------------------------------------------------------------------
class ApiError(Exception):
    pass


def api_kubeconfig():
    """The node's own admin kubeconfig (credentials/client.config, readable by the microk8s group)
    when it is usable, else one built from /etc/kaapana-lab (root only)."""
    if os.environ.get("KAAPANA_LAB_STANDIN_KUBECONFIG"):
        return os.environ["KAAPANA_LAB_STANDIN_KUBECONFIG"]
    try:
        with open(client_config()) as handle:
            if "client-key-data: ''" not in handle.read():
                return client_config()
    except OSError:
        pass
    try:
        return lab_kubeconfig()
    except OSError as error:
        raise ApiError("cannot write the lab kubeconfig: %s" % error)


def kubectl(*args, stdin=None, check=True, kubeconfig=None):
    cmd = [kubectl_bin(), "--kubeconfig=%s" % (kubeconfig or api_kubeconfig()), "--request-timeout=30s"]
    cmd += list(args)
    try:
        proc = subprocess.run(cmd, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, check=False)
    except OSError as error:
        raise ApiError("cannot run kubectl (%s): %s" % (cmd[0], error))
    if check and proc.returncode != 0:
        raise ApiError((proc.stderr or proc.stdout).strip() or "kubectl %s failed" % " ".join(args))
    return proc


def api_get(kind, name, namespace=None):
    args = ["get", kind, name, "-o", "json", "--ignore-not-found"]
    if namespace:
        args += ["-n", namespace]
    proc = kubectl(*args)
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def api_apply(objects):
    return kubectl("apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})).stdout


def api_update(kind, name, namespace, mutate, create):
    """Optimistic read-modify-write (resourceVersion conflicts are retried), so that parallel
    add-node/join runs from several nodes cannot lose each other's changes."""
    for _attempt in range(30):
        obj = api_get(kind, name, namespace)
        if obj is None:
            obj = create()
            result = mutate(obj)
            proc = kubectl("create", "-f", "-", stdin=json.dumps(obj), check=False)
        else:
            result = mutate(obj)
            proc = kubectl("replace", "-f", "-", stdin=json.dumps(obj), check=False)
        if proc.returncode == 0:
            return result
        message = proc.stderr + proc.stdout
        if "Conflict" in message or "AlreadyExists" in message or "the object has been modified" in message:
            time.sleep(0.2)
            continue
        raise ApiError(message.strip())
    raise ApiError("too many conflicting updates of %s/%s" % (kind, name))


def _new_cluster_cm():
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": CLUSTER_CM, "namespace": NS, "labels": dict(LABEL)}, "data": {}}


def _new_tokens_secret():
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": TOKENS_SECRET, "namespace": NS, "labels": dict(LABEL)}, "data": {}}


def my_cluster_id():
    """The cluster this node belongs to: the one it joined, else the one it forms itself."""
    return local_state().get("cluster") or node_name()


def cluster_selector(cid=None):
    return "%s=microk8s,%s=%s" % (LABEL_KEY, CLUSTER_LABEL, cid or my_cluster_id())


def all_clusters():
    obj = api_get("configmap", CLUSTER_CM, NS)
    clusters = {}
    for key, value in ((obj or {}).get("data") or {}).items():
        if key.endswith(".json"):
            try:
                clusters[key[:-5]] = json.loads(value)
            except ValueError:
                pass
    return clusters


def cluster_info(cid=None):
    return all_clusters().get(cid or my_cluster_id())


def cluster_by_ip(ip):
    for cid, info in sorted(all_clusters().items()):
        if any(m.get("ip") == ip and m.get("dqlite") for m in info.get("members", [])):
            return cid, info
    return None, None


def update_cluster(change, cid=None):
    key = "%s.json" % (cid or my_cluster_id())

    def mutate(obj):
        data = obj.get("data") or {}
        obj["data"] = data
        info = json.loads(data.get(key, "{}") or "{}")
        result = change(info)
        data[key] = json.dumps(info, sort_keys=True)
        return result
    return api_update("configmap", CLUSTER_CM, NS, mutate, _new_cluster_cm)


def forget_cluster(cid):
    key = "%s.json" % cid

    def drop_record(obj):
        obj["data"] = {k: v for k, v in (obj.get("data") or {}).items() if k != key}
    api_update("configmap", CLUSTER_CM, NS, drop_record, _new_cluster_cm)
    update_tokens(lambda tokens: tokens.__setitem__(slice(None), [t for t in tokens if t.get("cluster") != cid]))


def update_tokens(change):
    def mutate(obj):
        data = obj.setdefault("data", {}) or {}
        obj["data"] = data
        raw = data.get("tokens.json")
        tokens = json.loads(base64.b64decode(raw).decode()) if raw else []
        result = change(tokens)
        data["tokens.json"] = base64.b64encode(json.dumps(tokens).encode()).decode()
        return result
    return api_update("secret", TOKENS_SECRET, NS, mutate, _new_tokens_secret)


def kubelet_version():
    return snap_version()


def gpu_facts():
    try:
        count = int(node_env("KAAPANA_LAB_GPU_COUNT", "0") or 0)
    except ValueError:
        count = 0
    return {"count": count, "name": node_env("KAAPANA_LAB_GPU_NAME", "NVIDIA A100-SXM4-80GB"),
            "memory": node_env("KAAPANA_LAB_GPU_MEMORY_MIB", "81920")}


def register_node(name, ip, worker, cid):
    role_label = ("node.kubernetes.io/microk8s-worker", "microk8s-worker") if worker else \
        ("node.kubernetes.io/microk8s-controlplane", "microk8s-controlplane")
    labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "microk8s.io/cluster": "true",
              role_label[0]: role_label[1], LABEL_KEY: "microk8s", CLUSTER_LABEL: cid}
    gpus = gpu_facts()
    annotations = {"node.alpha.kubernetes.io/ttl": "0",
                   "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                   "kaapana.lab/gpu-count": str(gpus["count"])}
    # A new Node turns Ready KAAPANA_LAB_NODE_READY_DELAY seconds after it registered (KWOK's stage
    # lab-node-initialize-after), as a real node does once Calico runs on it.
    ready_delay = node_env("KAAPANA_LAB_NODE_READY_DELAY", "0") or "0"
    if float(ready_delay) > 0:
        annotations["kwok.test/ready-after"] = ready_delay
    if gpus["count"]:
        annotations["kaapana.lab/gpu-product"] = gpus["name"]
        annotations["kaapana.lab/gpu-memory-mib"] = str(gpus["memory"])
    existing = api_get("node", name)
    if existing:
        other_role = "node.kubernetes.io/microk8s-controlplane" if worker else "node.kubernetes.io/microk8s-worker"
        patch = {"metadata": {"labels": dict(labels, **{other_role: None, STATE_LABEL: None}),
                              "annotations": annotations}}
        kubectl("patch", "node", name, "--type=merge", "-p", json.dumps(patch))
        settle_node_network(name)
        return
    osname = "Debian GNU/Linux 12 (bookworm)"
    try:
        with open(P("/etc/os-release")) as handle:
            match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', handle.read(), re.M)
            if match:
                osname = match.group(1)
    except OSError:
        pass
    node = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"architecture": "amd64", "bootID": "", "containerRuntimeVersion": "containerd://1.7.29",
                         "kernelVersion": os.uname().release, "kubeProxyVersion": kubelet_version(),
                         "kubeletVersion": kubelet_version(), "machineID": "", "operatingSystem": "linux",
                         "osImage": osname, "systemUUID": ""},
        },
    }
    kubectl("create", "-f", "-", stdin=json.dumps(node))
    settle_node_network(name)


# The stand-in of Calico's CNI image (docker.io/calico/cni), which `lab up` pushes to the lab registry.
CNI_IMAGE = ("kaapana-lab/calico-cni", "v3.29.3")
CNI_STATE = "cni-image-not-pulled"


def containerd_env():
    """The variables MicroK8s' containerd got from args/containerd-env when it last started (the snap's
    run-containerd-with-args sources the file; comments and commands such as `ulimit` are not variables)."""
    running = os.path.join(RUNNING_ARGS_DIR, "containerd-env")
    values = {}
    try:
        with open(running if os.path.exists(running) else args_path("containerd-env")) as handle:
            for line in handle:
                match = re.match(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line.rstrip("\n"))
                if match:
                    values[match.group(1)] = match.group(2).strip().strip('"').strip("'")
    except OSError:
        pass
    return values


def _no_proxy_matches(host, port, no_proxy):
    """Go's net/http NO_PROXY rules (what containerd uses): "*", IP addresses, CIDRs, domain suffixes, host:port."""
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, _sep, entry_port = entry.rpartition(":") if re.search(r":\d+$", entry) and \
            entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port != str(port):
            continue
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry_host, strict=False):
                return True
            continue
        except ValueError:
            pass
        suffix = entry_host.lstrip("*").lstrip(".")
        if host == suffix or host.endswith("." + suffix):
            return True
    return False


def pull_cni_image():
    """Pull the CNI image from the lab registry as containerd would: with exactly the proxy settings of its
    containerd-env (HTTP_PROXY for this plain-HTTP registry, NO_PROXY honoured), a real HTTP client, every blob
    checked against its digest. Returns None, or the reason in containerd's words."""
    import urllib.error
    import urllib.request

    registry = lab_env().get("LAB_REGISTRY", "")
    credential = P("/etc/kaapana-lab/registry-pull")
    if not registry or not os.path.exists(credential):
        return None  # not a lab node container (the stand-in's own tests): no registry to pull from
    repo, tag = CNI_IMAGE
    ref = "%s/%s:%s" % (registry, repo, tag)
    env = containerd_env()
    proxy = env.get("HTTP_PROXY") or env.get("http_proxy") or ""
    host, _sep, port = registry.partition(":")
    if proxy and _no_proxy_matches(host, port or "80", env.get("NO_PROXY") or env.get("no_proxy") or ""):
        proxy = ""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy} if proxy else {}))
    with open(credential) as handle:
        headers = {"Authorization": "Basic " + base64.b64encode(handle.read().strip().encode()).decode()}
    base = "http://%s/v2/%s" % (registry, repo)

    def get(url, accept=None):
        request = urllib.request.Request(url, headers=dict(headers, **({"Accept": accept} if accept else {})))
        with opener.open(request, timeout=5) as resp:
            return resp.read()

    url = "%s/manifests/%s" % (base, tag)
    try:
        manifest = json.loads(get(url, "application/vnd.oci.image.manifest.v1+json"))
        for blob in [manifest["config"]] + manifest["layers"]:
            url = "%s/blobs/%s" % (base, blob["digest"])
            data = get(url)
            if "sha256:" + hashlib.sha256(data).hexdigest() != blob["digest"]:
                return 'failed to pull and unpack image "%s": digest mismatch for %s' % (ref, blob["digest"])
    except urllib.error.HTTPError as error:
        return 'failed to pull and unpack image "%s": failed to resolve reference: unexpected status from GET ' \
               'request to %s: %s %s' % (ref, url, error.code, error.reason)
    except (OSError, ValueError, KeyError) as error:
        reason = getattr(error, "reason", error)
        return 'failed to pull and unpack image "%s": failed to do request: Get "%s"%s: %s' \
               % (ref, url, " (proxy %s)" % re.sub(r"://[^/@]*@", "://***@", proxy) if proxy else "", reason)
    return None


def settle_node_network(name):
    """After containerd (re)started: a real node stays NotReady until Calico runs, and Calico's images come through
    containerd. The stand-in pulls its CNI image; a failed pull keeps the Node NotReady with the reason (and in
    SNAP_COMMON/var/log/kaapana-lab-cni-pull.log), a pull that works lets it turn Ready."""
    if not name:
        return
    error = pull_cni_image()
    log_dir = os.path.join(SNAP_COMMON, "var", "log")
    try:
        os.makedirs(log_dir, exist_ok=True)
        with open(os.path.join(log_dir, "kaapana-lab-cni-pull.log"), "a") as handle:
            handle.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now())), error or "pulled"))
    except OSError:
        pass
    if error:
        mark_node_state(name, CNI_STATE, "container runtime network not ready: NetworkReady=false "
                        "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not "
                        "initialized (calico: %s)" % error)
    else:
        mark_node_state(name, None)


def shorten_ready_delay(name):
    """A restarted kubelet (snap refresh, refresh-certs, snap restart) finds Calico's image and containers in place:
    its Node is Ready again sooner than after the first registration, which waits for Calico to be pulled and
    started. KWOK's lab-node-initialize-after stage then waits KAAPANA_LAB_NODE_RESTART_READY_DELAY seconds
    (default 5), never longer than the registration's delay; register_node sets the latter again."""
    try:
        restart = float(node_env("KAAPANA_LAB_NODE_RESTART_READY_DELAY", "5") or 0)
        node = api_get("node", name)
        current = ((node or {}).get("metadata", {}).get("annotations") or {}).get("kwok.test/ready-after")
        if current is not None and float(current) > restart:
            patch = {"metadata": {"annotations": {"kwok.test/ready-after": "%g" % restart}}}
            kubectl("patch", "node", name, "--type=merge", "-p", json.dumps(patch))
    except (ApiError, ValueError) as error:
        err("kaapana lab stand-in: could not update Node %s: %s" % (name, error))


def report_kubelet_version(name):
    """A kubelet posts its own version in the Node's nodeInfo when it starts: after a snap refresh the Node
    reports the new revision's Kubernetes version (what `kubectl get nodes` shows in VERSION)."""
    try:
        node = api_get("node", name)
        if not node:
            return
        info = node.get("status", {}).get("nodeInfo", {})
        if info.get("kubeletVersion") == kubelet_version() and info.get("kubeProxyVersion") == kubelet_version():
            return
        patch = {"status": {"nodeInfo": {"kubeletVersion": kubelet_version(), "kubeProxyVersion": kubelet_version()}}}
        kubectl("patch", "node", name, "--subresource=status", "--type=strategic", "-p", json.dumps(patch),
                check=False)
    except ApiError as error:
        err("kaapana lab stand-in: could not update Node %s: %s" % (name, error))


def mark_node_state(name, state, reason=None):
    """Label the Node (left/stopped) and post a NotReady condition, as a kubelet that stopped
    posting status would leave it. (A KWOK stage that re-initialises non-Ready nodes may flip
    it back; the lab can select on the label to keep such nodes NotReady.)"""
    if not name:
        return
    try:
        if not api_get("node", name):
            return
        kubectl("label", "node", name, "--overwrite", "%s=%s" % (STATE_LABEL, state) if state else STATE_LABEL + "-")
        if state:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now()))
            patch = {"status": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
                                                "message": reason or "Kubelet stopped posting node status.",
                                                "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}}
            kubectl("patch", "node", name, "--subresource=status", "--type=strategic", "-p", json.dumps(patch),
                    check=False)
    except ApiError as error:
        err("kaapana lab stand-in: could not update Node %s: %s" % (name, error))


def teardown_cluster(cid):
    """A fresh MicroK8s install (or the removal of the node that formed the cluster) starts from
    an empty cluster: remove what an earlier incarnation of this cluster left in the shared lab
    API (objects labelled with its cluster id only; other simulated clusters are left alone)."""
    namespace = api_get("namespace", "gpu-operator-resources") or {}
    owned = ((namespace.get("metadata") or {}).get("labels") or {}).get(CLUSTER_LABEL) == cid
    proc = subprocess.run([helm_bin(), "--kubeconfig", api_kubeconfig(), "status", "gpu-operator", "-n",
                           "gpu-operator-resources"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False) if owned and os.path.exists(helm_bin()) else None
    if proc is not None and proc.returncode == 0:
        subprocess.run([helm_bin(), "--kubeconfig", api_kubeconfig(), "uninstall", "gpu-operator", "-n",
                        "gpu-operator-resources", "--wait", "--timeout", "60s"], capture_output=True, text=True,
                       check=False)
    kinds = ("deployments.apps,daemonsets.apps,services,configmaps,secrets,serviceaccounts,"
             "clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io,"
             "storageclasses.storage.k8s.io")
    kubectl("delete", kinds, "-A", "-l", cluster_selector(cid), "--ignore-not-found", "--wait=false")
    kubectl("delete", "namespaces", "-l", cluster_selector(cid), "--ignore-not-found", "--wait=false")
    kubectl("delete", "nodes", "-l", cluster_selector(cid), "--ignore-not-found", "--wait=false")
    forget_cluster(cid)


# ---- install / remove hooks (run by the snap stand-in) -------------------------------------------
def launch_config():
    """The first launch configuration found (install hook order), else the bundled default."""
    for candidate in ("/etc/microk8s.yaml", "/root/snap/microk8s/common/.microk8s.yaml",
                      "/var/snap/microk8s/common/.microk8s.yaml"):
        path = P(candidate)
        if os.path.isfile(path):
            try:
                import yaml  # python3-yaml is in the node image; optional elsewhere
                with open(path) as handle:
                    data = yaml.safe_load(handle) or {}
                return candidate, data
            except Exception as error:  # noqa: BLE001 - reported like cluster-agent would
                raise Exit(1, "Failed to parse launch configuration %s: %s" % (candidate, error))
    return "/snap/microk8s/current/microk8s.default.yaml", DEFAULT_LAUNCH_CONFIG


def hook_install():
    for sub in ("args", "credentials", "certs", "var/lock", "var/kubernetes/backend", "var/tmp", "opt/cni/bin"):
        os.makedirs(os.path.join(SNAP_DATA, sub), exist_ok=True)
    for sub in ("addons/core", "hooks", "var/lib/containerd", "run", "etc/launcher", "etc/sideload",
                "var/lib/kubelet", "plugins"):
        os.makedirs(os.path.join(SNAP_COMMON, sub), exist_ok=True)
    if os.path.exists(lock("installed.lock")):
        return
    for rel, content in DEFAULT_ARGS.items():
        rel = rel.replace("localhost__32000", "localhost:32000")
        path = os.path.join(SNAP_DATA, "args", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content)
        os.chmod(path, 0o660)
    os.makedirs(os.path.join(SNAP_DATA, "args", "cni-network"), exist_ok=True)
    with open(os.path.join(SNAP_DATA, "args", "cni-network", "cni.yaml"), "w") as handle:
        handle.write(CNI_YAML)
    render_containerd_toml()
    ca = P("/etc/kaapana-lab/ca.crt")
    if os.path.exists(ca):
        shutil.copy(ca, os.path.join(SNAP_DATA, "certs", "ca.crt"))
    produce_certs()
    chmod_like_install_hook(CERTS_DIR)
    write_client_config()
    with open(os.path.join(SNAP_COMMON, "addons", "core", "addons.yaml"), "w") as handle:
        handle.write(core_addons_yaml())
    with open(os.path.join(SNAP_COMMON, "addons", ".auto-add"), "w") as handle:
        handle.write("core\n")
    # the helm/helm3 addons are "enabled" by the presence of ${SNAP}/bin/helm
    os.makedirs(os.path.join(SNAP, "bin"), exist_ok=True)
    helm_link = os.path.join(SNAP, "bin", "helm")
    if not os.path.lexists(helm_link):
        os.symlink(helm_bin(), helm_link)
    with open(os.path.join(SNAP_DATA, "var", "kubernetes", "backend", "init.yaml"), "w") as handle:
        handle.write("Address: 127.0.0.1:%s\n" % DQLITE_PORT)
    for name in ("no-etcd", "no-flanneld", "no-apiserver-proxy", "ha-cluster", "lite.lock"):
        set_lock(name)
    state = {"check": fingerprint_of_ca(), "role": "standalone", "node": node_name(), "cluster": node_name()}
    save_local_state(state)
    source, config = launch_config()
    os.makedirs(os.path.join(SNAP_COMMON, "etc", "launcher"), exist_ok=True)
    with open(os.path.join(SNAP_COMMON, "etc", "launcher", "install.yaml"), "w") as handle:
        handle.write("# launch configuration applied by the kaapana lab stand-in, from %s\n%s\n"
                     % (source, json.dumps(config, indent=2, sort_keys=True)))
    for key, service in (("extraKubeletArgs", "kubelet"), ("extraKubeAPIServerArgs", "kube-apiserver"),
                         ("extraKubeControllerManagerArgs", "kube-controller-manager"),
                         ("extraKubeSchedulerArgs", "kube-scheduler"), ("extraKubeProxyArgs", "kube-proxy"),
                         ("extraContainerdArgs", "containerd"), ("extraKubeliteArgs", "kubelite")):
        values = config.get(key) or {}
        update_service_arguments(service, {k: (None if v is None else str(v)) for k, v in values.items()})
    for key, value in (config.get("extraContainerdEnv") or {}).items():
        with open(args_path("containerd-env"), "a") as handle:
            handle.write("%s=%s\n" % (key, value))
    set_lock("installed.lock")
    record_running_args()
    addons = [a for a in (config.get("addons") or []) if isinstance(a, dict) and a.get("name")]
    if is_primary():
        ip = default_ip()
        name = node_name()
        teardown_cluster(name)
        record = {"primary": {"name": name, "ip": ip}, "check": state["check"], "created": now(),
                  "members": [{"name": name, "ip": ip, "role": "control-plane", "dqlite": True}],
                  "kubelet-args": read_args("kubelet"), "authorization-mode": get_arg("--authorization-mode",
                                                                                      "kube-apiserver")}
        state.update({"role": "primary", "cluster": name})
        save_local_state(state)
        update_cluster(lambda info: info.update(record), name)
        register_node(name, ip, worker=False, cid=name)
        kubectl("apply", "-f", os.path.join(SNAP_DATA, "args", "cni-network", "cni.yaml"))
    # MicroK8s' cluster agent applies the launch configuration's addons (dns by default) in the background some
    # seconds after the start: right after `status --wait-ready`, `status` may still list dns as disabled.
    delay = float(node_env("KAAPANA_LAB_MICROK8S_ADDON_DELAY", "0") or 0)
    if delay > 0 and addons:
        state = local_state()
        state["launch-addons"] = {"at": now() + delay, "addons": addons, "api": is_primary()}
        save_local_state(state)
        start_launch_agent(delay)
    else:
        apply_launch_addons(addons, is_primary())


def start_launch_agent(delay):
    """The cluster agent's background step: `--kaapana-lab-hook launch-addons` in `delay` seconds, as a transient
    systemd timer in a node container (a detached process elsewhere), so it runs whether or not anything else runs."""
    argv = [sys.executable, os.path.realpath(sys.argv[0]), "--kaapana-lab-hook", "launch-addons"]
    if ROOT in ("", "/") and shutil.which("systemd-run") and os.path.isdir("/run/systemd/system"):
        subprocess.run(["systemd-run", "--quiet", "--collect", "--on-active=%ds" % max(1, round(delay)),
                        "--unit", "kaapana-lab-microk8s-launch-%d" % int(now() * 1000)] + argv,
                       capture_output=True, check=False)
        return
    subprocess.Popen(["sh", "-c", 'sleep "$0"; exec "$@"', str(delay)] + argv,  # pylint: disable=consider-using-with
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


def apply_launch_addons(addons, api):
    for addon in addons:
        args = addon.get("args") or []
        action = "disable" if addon.get("disable") else "enable"
        with quiet_output() as captured:
            try:
                run_addon(action, addon["name"], [str(a) for a in args], api=api)
            except Exit as exit_:
                if exit_.code:
                    err("kaapana lab stand-in: launch configuration addon %s failed:\n%s%s"
                        % (addon["name"], captured.getvalue(), exit_.message or ""))


def apply_pending_launch_addons():
    """The launch configuration's addons once their moment has come (start_launch_agent's timer; a command run after
    that moment but before the timer fired applies them first, as the agent would have by then)."""
    with open(os.path.join(SNAP_DATA, "var", "kaapana-lab-standin.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = local_state()
        pending = state.get("launch-addons")
        if not pending or now() < pending["at"]:
            return
        state.pop("launch-addons")
        save_local_state(state)
    apply_launch_addons(pending["addons"], pending.get("api", False))


class quiet_output:
    """Capture stdout while the launch configuration enables addons (MicroK8s does that in the
    background, nothing is printed by `snap install`)."""

    def __enter__(self):
        self.buffer = io.StringIO()
        self.saved = sys.stdout
        sys.stdout = self.buffer
        return self.buffer

    def __exit__(self, *exc):
        sys.stdout = self.saved
        return False


def hook_remove():
    state = local_state()
    if state.get("role") == "primary":
        try:
            teardown_cluster(state.get("cluster") or node_name())
        except ApiError as error:
            err("kaapana lab stand-in: could not clean the lab API: %s" % error)
    elif state.get("role") in ("worker", "control-plane"):
        mark_node_state(node_name(), "removed", "MicroK8s was removed from this node.")


def render_containerd_toml():
    template = read_args("containerd-template.toml")
    rev = snap_revision()
    text = (template.replace("${SNAP}", "/snap/microk8s/%s" % rev)
            .replace("${SNAP_DATA}", "/var/snap/microk8s/%s" % rev)
            .replace("${SNAPSHOTTER}", "overlayfs").replace("${RUNTIME}", "runc")
            .replace("${RUNTIME_TYPE}", "io.containerd.runc.v2"))
    write_args("containerd.toml", text)


def write_client_config():
    path = client_config()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(kubeconfig_text())
    os.chmod(path, 0o660)
    if ROOT in ("", "/"):
        try:
            shutil.chown(path, group="microk8s")
        except (LookupError, OSError):
            pass


def fingerprint_of_ca():
    """The join URL's check: the first 12 hex digits of the server certificate's sha256 (here
    the lab CA's, since every stand-in node shares it)."""
    try:
        with open(P("/etc/kaapana-lab/ca.crt")) as handle:
            pem = handle.read()
        der = ssl.PEM_cert_to_DER_cert(pem)
        return hashlib.sha256(der).hexdigest()[:12]
    except (OSError, ValueError):
        return hashlib.sha256(("kaapana-lab-" + node_name()).encode()).hexdigest()[:12]


def core_addons_yaml():
    lines = ["microk8s-addons:", '  description: "List of all addons included in Microk8s."', "  addons:"]
    for name, desc, version, check, confinement in CORE_ADDONS:
        lines += ['    - name: "%s"' % name, '      description: "%s"' % desc, '      version: "%s"' % version,
                  '      check_status: "%s"' % check]
        if confinement:
            lines.append('      confinement: "%s"' % confinement)
        lines += ["      supported_architectures:", "        - amd64", ""]
    return "\n".join(lines)


# ---- MicroK8s' own certificates (actions/common/utils.sh: produce_certs, render_csr_conf, gen_server_cert,
# gen_proxy_client_cert; certs/csr.conf.template) ------------------------------------------------------
# The snap makes them with its own openssl ($SNAP/openssl.wrapper runs $SNAP/usr/bin/openssl); the stand-in runs
# the node image's `openssl` (Debian's package) with the same arguments. Nothing in the lab serves or checks these
# certificates (a stand-in node's API is the lab's kube-apiserver): what matters is their paths, dates and names,
# and that refresh-certs replaces them. Where the stand-in departs from MicroK8s, forced by the lab CA's key never
# reaching the nodes:
#   * certs/ca.crt is a copy of the lab's CA (its fingerprint is the join check) and there is no certs/ca.key;
#   * so server.crt, which MicroK8s signs with ca.crt/ca.key, is signed by a CA of the stand-in's own,
#     certs/kaapana-lab-standin-ca.{key,crt} (made at install, 3650 days like MicroK8s' CAs).
# front-proxy-ca.{key,crt} and front-proxy-client.{key,crt} are made as MicroK8s makes them.
CERTS_DIR = os.path.join(SNAP_DATA, "certs")
STANDIN_CA = "kaapana-lab-standin-ca"
STANDIN_CA_SUBJECT = "/CN=kaapana-lab-standin-ca"
CERT_KEYS = (STANDIN_CA + ".key", "server.key", "front-proxy-ca.key", "front-proxy-client.key")
CSR_DN = (("C", "GB"), ("ST", "Canonical"), ("L", "Canonical"), ("O", "Canonical"), ("OU", "Canonical"),
          ("CN", "127.0.0.1"))
CSR_DNS = ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster",
           "kubernetes.default.svc.cluster.local")
CSR_IPS = ("127.0.0.1", "10.152.183.1")
OPENSSL_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def cert_path(name):
    return os.path.join(CERTS_DIR, name)


def real_snap():
    """$SNAP as MicroK8s prints it (the revision folder, not `current`)."""
    return "/snap/microk8s/%s" % snap_revision()


def csr_conf_template():
    """MicroK8s' certs/csr.conf.template: the subject of server.crt and its alternative names; render_csr_conf puts
    the node's addresses where #MOREIPS is."""
    lines = ["[ req ]", "default_bits = 2048", "prompt = no", "default_md = sha256", "req_extensions = req_ext",
             "distinguished_name = dn", "", "[ dn ]"]
    lines += ["%s = %s" % pair for pair in CSR_DN]
    lines += ["", "[ req_ext ]", "subjectAltName = @alt_names", "", "[ alt_names ]"]
    lines += ["DNS.%d = %s" % (number, name) for number, name in enumerate(CSR_DNS, 1)]
    lines += ["IP.%d = %s" % (number, ip) for number, ip in enumerate(CSR_IPS, 1)]
    lines += ["#MOREIPS", "", "[ v3_ext ]", "authorityKeyIdentifier=keyid,issuer:always", "basicConstraints=CA:FALSE",
              "keyUsage=keyEncipherment,dataEncipherment,digitalSignature", "extendedKeyUsage=serverAuth,clientAuth",
              "subjectAltName=@alt_names"]
    return "\n".join(lines) + "\n"


def openssl_tool():
    tool = shutil.which("openssl", path=os.environ.get("PATH", "") + os.pathsep + "/usr/bin" + os.pathsep + "/bin")
    if not tool:
        raise Exit(1, "kaapana lab stand-in: no `openssl` found (the real snap runs its own $SNAP/usr/bin/openssl; "
                      "the lab's node image installs Debian's openssl)", stderr=True)
    return tool


def openssl(*args, quiet=False, stdin=None, stdout=None):
    """One `openssl` run. quiet: its output is kept (the install hook's output goes to snapd's log, not to the caller
    of `snap install`); otherwise it reaches the caller's terminal, as in MicroK8s' wrappers."""
    sys.stdout.flush()
    capture = subprocess.PIPE if quiet else None
    return subprocess.run([openssl_tool()] + list(args), input=stdin, stdout=capture if stdout is None else stdout,
                          stderr=capture, stdin=None if stdin is not None else subprocess.DEVNULL, text=True,
                          check=False)


def _produced(proc, what):
    if proc.returncode != 0:
        raise Exit(1, "kaapana lab stand-in: openssl failed to produce %s: %s" % (what, (proc.stderr or "").strip()),
                   stderr=True)


def render_csr_conf():
    """utils.sh render_csr_conf: csr.conf.template -> csr.conf.rendered, with the node's addresses (get_ips: the
    host's addresses less link-local and CNI ones) as IP.3, IP.4, ... unless loopback is all there is."""
    with open(cert_path("csr.conf.template")) as handle:
        template = handle.read()
    ips = node_ips()
    entries = []
    if ips and ips != ["127.0.0.1"]:
        taken = set(re.findall(r"^(IP\.\d+)", template, re.M))
        number = 3
        for ip in ips:
            while "IP.%d" % number in taken:
                number += 1
            entries.append("IP.%d = %s" % (number, ip))
            number += 1
    with open(cert_path("csr.conf.rendered"), "w") as handle:
        handle.write(template.replace("#MOREIPS", "\n".join(entries)))


def refresh_csr_conf():
    render_csr_conf()
    shutil.copyfile(cert_path("csr.conf.rendered"), cert_path("csr.conf"))


def gen_server_cert(quiet=False):
    """utils.sh gen_server_cert: a new request from the existing server.key (the key is kept) and csr.conf, signed
    for 365 days with csr.conf's v3_ext extensions -- by the stand-in's CA where MicroK8s uses ca.crt/ca.key. Like
    the shell function (no `set -e`), the status is that of the signing step."""
    openssl("req", "-new", "-sha256", "-key", cert_path("server.key"), "-out", cert_path("server.csr"),
            "-config", cert_path("csr.conf"), quiet=quiet)
    return openssl("x509", "-req", "-sha256", "-in", cert_path("server.csr"), "-CA", cert_path(STANDIN_CA + ".crt"),
                   "-CAkey", cert_path(STANDIN_CA + ".key"), "-CAcreateserial", "-out", cert_path("server.crt"),
                   "-days", "365", "-extensions", "v3_ext", "-extfile", cert_path("csr.conf"), quiet=quiet)


def gen_proxy_client_cert(quiet=False):
    """utils.sh gen_proxy_client_cert: CN=front-proxy-client from the existing front-proxy-client.key (csr.conf
    without `prompt = no`), signed by front-proxy-ca for 365 days with csr.conf's v3_ext extensions."""
    with open(cert_path("csr.conf")) as handle:
        config = "".join(line for line in handle.readlines() if not line.startswith("prompt = no"))
    openssl("req", "-new", "-sha256", "-key", cert_path("front-proxy-client.key"),
            "-out", cert_path("front-proxy-client.csr"), "-config", "/dev/stdin", "-subj", "/CN=front-proxy-client",
            stdin=config, quiet=quiet)
    return openssl("x509", "-req", "-sha256", "-in", cert_path("front-proxy-client.csr"),
                   "-CA", cert_path("front-proxy-ca.crt"), "-CAkey", cert_path("front-proxy-ca.key"), "-CAcreateserial",
                   "-out", cert_path("front-proxy-client.crt"), "-days", "365", "-extensions", "v3_ext",
                   "-extfile", cert_path("csr.conf"), quiet=quiet)


def produce_certs():
    """utils.sh produce_certs as the install hook runs it: RSA 2048 keys that are missing (made side by side), the
    CAs that are missing (3650 days), csr.conf rendered and, when it changed, server.crt and front-proxy-client.crt
    made anew (each also when it is missing). Without MicroK8s' ca.key/ca.crt (ca.crt is the lab CA's copy) and
    serviceaccount.key: the stand-in CA takes ca.key's place as server.crt's signer."""
    os.makedirs(CERTS_DIR, exist_ok=True)
    if not os.path.exists(cert_path("csr.conf.template")):
        with open(cert_path("csr.conf.template"), "w") as handle:
            handle.write(csr_conf_template())
    tool = openssl_tool()
    keys = [key for key in CERT_KEYS if not os.path.exists(cert_path(key))]
    pool = os.environ.get("KAAPANA_LAB_STANDIN_RSA_KEYS")  # tests: ready keys instead of ~0.5 s of genrsa
    for key in [key for key in keys if pool and os.path.isfile(os.path.join(pool, key))]:
        shutil.copyfile(os.path.join(pool, key), cert_path(key))
        os.chmod(cert_path(key), 0o600)
        keys.remove(key)
    procs = [(key, subprocess.Popen([tool, "genrsa", "-out", cert_path(key), "2048"], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)) for key in keys]
    for key, proc in procs:
        _stdout, stderr = proc.communicate()
        _produced(subprocess.CompletedProcess(proc.args, proc.returncode, "", stderr), key)
    for name, subject in ((STANDIN_CA, STANDIN_CA_SUBJECT), ("front-proxy-ca", "/CN=front-proxy-ca")):
        if not os.path.exists(cert_path(name + ".crt")):
            _produced(openssl("req", "-x509", "-new", "-sha256", "-nodes", "-days", "3650",
                              "-key", cert_path(name + ".key"), "-subj", subject, "-out", cert_path(name + ".crt"),
                              quiet=True), name + ".crt")
    render_csr_conf()
    try:
        with open(cert_path("csr.conf")) as current, open(cert_path("csr.conf.rendered")) as rendered:
            changed = current.read() != rendered.read()
    except OSError:
        changed = True
    if changed:
        shutil.copyfile(cert_path("csr.conf.rendered"), cert_path("csr.conf"))
    if changed or not os.path.exists(cert_path("server.crt")):
        _produced(gen_server_cert(quiet=True), "server.crt")
    if changed or not os.path.exists(cert_path("front-proxy-client.crt")):
        _produced(gen_proxy_client_cert(quiet=True), "front-proxy-client.crt")


def chmod_like_install_hook(top):
    """The install hook's `chmod -R ug+rwX` and `chmod -R o-rwX` (files 0660, folders 0770)."""
    for dirpath, _dirnames, filenames in os.walk(top):
        for path in [dirpath] + [os.path.join(dirpath, name) for name in filenames]:
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                continue
            bits = stat.S_IMODE(mode) | 0o660
            if stat.S_ISDIR(mode) or bits & 0o111:
                bits |= 0o110
            os.chmod(path, bits & ~0o007)


def ensure_certs():
    """A node installed before the stand-in kept MicroK8s' certificates has only certs/ca.crt: make the rest once,
    as the install hook now does."""
    if has_lock("installed.lock") and not all(os.path.exists(cert_path(name)) for name in
                                              ("csr.conf.template", STANDIN_CA + ".crt", "front-proxy-ca.crt")):
        produce_certs()
        chmod_like_install_hook(CERTS_DIR)


def openssl_time(text):
    """Epoch seconds of openssl's `notAfter=Mmm DD HH:MM:SS YYYY GMT` value."""
    month, day, clock, year = text.split()[:4]
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return calendar.timegm((int(year), OPENSSL_MONTHS.index(month) + 1, int(day), hours, minutes, seconds))


# ---- status (scripts/wrappers/status.py) ---------------------------------------------------------
def available_addons():
    addons = []
    if os.path.isdir(os.path.join(SNAP_COMMON, "addons", "core")):
        for name, desc, version, check, confinement in CORE_ADDONS:
            addons.append({"name": name, "description": desc, "version": version, "check_status": check,
                           "repository": "core"})
    return sorted(addons, key=lambda a: (a["repository"], a["name"]))


def kubectl_get(what):
    """common/utils.py kubectl_get: the text output, or '' when the API cannot be asked."""
    try:
        return kubectl("get", what, "--all-namespaces", check=False).stdout
    except ApiError:
        return ""


def is_cluster_ready(with_ready_node=True):
    if has_lock("stopped.lock"):
        return False
    if "service/kubernetes" not in kubectl_get("all"):
        return False
    return not with_ready_node or " Ready " in kubectl_get("nodes")


def wait_for_ready(timeout, with_ready_node=True):
    end = time.time() + timeout
    while True:
        if is_cluster_ready(with_ready_node):
            return True
        if timeout and time.time() > end:
            return False
        time.sleep(2)


def expand(text):
    return (text.replace("${SNAP_DATA}", SNAP_DATA).replace("${SNAP_COMMON}", SNAP_COMMON)
            .replace("${SNAP}", SNAP))


def rbac_enabled():
    mode = get_arg("--authorization-mode", "kube-apiserver") or ""
    return "RBAC" in mode.split(",")


def get_status(addons, ready):
    enabled, disabled = [], []
    if not ready:
        return enabled, disabled
    output = kubectl_get("all,ingress")
    try:
        output += kubectl("get", "clusterroles", "--show-kind", "--no-headers", check=False).stdout
    except ApiError:
        pass
    rows = output.split("\n")
    for addon in addons:
        check = addon["check_status"]
        if addon["name"] == "rbac":
            # the lab API always runs RBAC; MicroK8s' rbac addon is the apiserver argument
            found = rbac_enabled()
        elif check.startswith("${"):
            found = os.path.isfile(expand(check)) or os.path.islink(expand(check))
        else:
            found = any(check in row for row in rows)
        (enabled if found else disabled).append(addon)
    return enabled, disabled


def dqlite_info():
    state = local_state()
    if state.get("role") in ("primary", "control-plane"):
        try:
            info = cluster_info()
        except ApiError:
            info = None
        if info and any(m.get("ip") == state.get("ip", default_ip()) or m.get("name") == node_name()
                        for m in info.get("members", [])):
            return dqlite_roles(info)
    return [("127.0.0.1:%s" % DQLITE_PORT, "voter")]


def dqlite_roles(info):
    members = [m for m in info.get("members", []) if m.get("dqlite")]
    if len(members) == 1:
        return [("127.0.0.1:%s" % DQLITE_PORT, "voter")]
    roles = []
    for index, member in enumerate(members):
        role = "voter" if index < 3 else ("standby" if index < 6 else "spare")
        roles.append(("%s:%s" % (member["ip"], DQLITE_PORT), role))
    return roles


def print_pretty(ready, enabled, disabled):
    fmt = "{:>3} {:<20} # ({}) {}"
    if not ready:
        out(NOT_RUNNING)
        return
    out("microk8s is running")
    if not has_lock("ha-cluster"):
        out("high-availability: no")
    else:
        info = dqlite_info()
        voters = [a for a, r in info if r == "voter"]
        standby = [a for a, r in info if r == "standby"]
        out("high-availability: %s" % ("yes" if len(voters) > 2 else "no"))
        out("{:>2}{} {}".format("", "datastore master nodes:", " ".join(voters) or "none"))
        out("{:>2}{} {}".format("", "datastore standby nodes:", " ".join(standby) or "none"))
    out("addons:")
    if enabled:
        out("{:>2}{}".format("", "enabled:"))
        for addon in enabled:
            out(fmt.format("", addon["name"], addon["repository"], addon["description"]))
    if disabled:
        out("{:>2}{}".format("", "disabled:"))
        for addon in disabled:
            out(fmt.format("", addon["name"], addon["repository"], addon["description"]))


def print_short(ready, enabled, disabled):
    if not ready:
        out(NOT_RUNNING)
        return
    out("microk8s is running")
    out("addons:")
    for addon in enabled:
        out("{}/{}: enabled".format(addon["repository"], addon["name"]))
    for addon in disabled:
        out("{}/{}: disabled".format(addon["repository"], addon["name"]))


def print_short_yaml(ready, enabled, disabled):
    out("microk8s:")
    out("{:>2}{} {}".format("", "running:", ready))
    if ready:
        out("addons:")
        for addon in enabled:
            out("  {}/{}: enabled".format(addon["repository"], addon["name"]))
        for addon in disabled:
            out("  {}/{}: disabled".format(addon["repository"], addon["name"]))
    else:
        out("{:>2}{} {}".format("", "message:", NOT_RUNNING))


def print_yaml(ready, enabled, disabled):
    out("microk8s:")
    out("{:>2}{} {}".format("", "running:", ready))
    out("{:>2}".format("high-availability:"))
    ha = has_lock("ha-cluster")
    out("{:>2}{} {}".format("", "enabled:", ha))
    if ha:
        out("{:>2}{}".format("", "nodes:"))
        for address, role in dqlite_info():
            out("{:>6}address: {:<1}".format("- ", address))
            out("{:>6}role: {:<1}".format("", role))
    if ready:
        out("{:>2}".format("addons:"))
        for addon, status in [(a, "enabled") for a in enabled] + [(a, "disabled") for a in disabled]:
            out("{:>4}name: {:<1}".format("- ", addon["name"]))
            out("{:>4}repository: {:<1}".format("", addon["repository"]))
            out("{:>4}description: {:<1}".format("", addon["description"]))
            out("{:>4}version: {:<1}".format("", addon["version"]))
            out("{:>4}status: {}".format("", status))
    else:
        out("{:>2}{} {}".format("", "message:", NOT_RUNNING))


def exit_if_no_permissions():
    if not os.access(client_config(), os.R_OK):
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "root"
        raise Exit(1, "Insufficient permissions to access MicroK8s.\n"
                      "You can either try again with sudo or add the user %s to the 'microk8s' group:\n\n"
                      "    sudo usermod -a -G microk8s %s\n    sudo chown -R %s ~/.kube\n\n"
                      "After this, reload the user groups either via a reboot or by running 'newgrp microk8s'."
                   % (user, user, user), stderr=True)


def exit_if_stopped_bash():
    """utils.sh exit_if_stopped (wrappers): stderr, exit 1."""
    if has_lock("stopped.lock"):
        raise Exit(1, "microk8s is not running, try microk8s start", stderr=True)


def cmd_status(argv):
    exit_if_no_permissions()
    if has_lock("clustered.lock"):
        raise Exit(0, "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the control plane node.")
    if has_lock("stopped.lock"):
        # status.py exit_if_stopped(): stdout, exit 0
        raise Exit(0, "microk8s is not running, try microk8s start")
    parser = argparse.ArgumentParser(description="Microk8s cluster status check.", prog="microk8s status")
    parser.add_argument("--format", default="pretty", choices={"pretty", "yaml", "short"},
                        help="print cluster and addon status, output can be in yaml, pretty or short")
    parser.add_argument("-w", "--wait-ready", action="store_true", help="wait until the cluster is in ready state")
    parser.add_argument("-t", "--timeout", type=int, default=0,
                        help="specify a timeout in seconds when waiting for the cluster to be ready.")
    parser.add_argument("-a", "--addon", default="all", help="check the status of an addon.")
    parser.add_argument("--yaml", action="store_true", help="DEPRECATED, use '--format yaml' instead")
    parser.epilog = STANDIN_NOTE
    args = parser.parse_args(argv)
    ready = wait_for_ready(args.timeout) if args.wait_ready else is_cluster_ready()
    addons = available_addons()
    if args.addon != "all":
        repo, dummy, name = args.addon.rpartition("/")
        addons = [a for a in addons if a["name"] == name and (not repo or a["repository"] == repo)]
    enabled, disabled = get_status(addons, ready)
    if args.addon != "all":
        out("enabled" if enabled else "disabled")
    elif args.format == "yaml":
        print_yaml(ready, enabled, disabled)
    elif args.format == "short":
        print_short(ready, enabled, disabled)
    elif args.yaml:
        print_short_yaml(ready, enabled, disabled)
    else:
        print_pretty(ready, enabled, disabled)
    if not ready:
        raise Exit(1)


# ---- enable / disable (common/utils.py xable + the core addons' scripts) --------------------------
def cmd_xable(action, argv):
    if not argv:
        raise Exit(2, "Usage: microk8s %s [OPTIONS] ADDONS...\nTry 'microk8s %s -h' for help.\n\n"
                      "Error: Missing argument 'ADDONS...'." % (action, action), stderr=True)
    if argv[0] in ("-h", "--help"):
        out("Usage: microk8s %s [OPTIONS] ADDONS...\n" % action)
        out("  %s one or more MicroK8s addons.\n" % ("Enable" if action == "enable" else "Disable"))
        out("  For a list of available addons, run `microk8s status`.\n\n  (%s)" % STANDIN_NOTE)
        return
    if any(h in argv for h in ("-h", "--help")):
        out("Addon %s does not yet have a help message." % argv[0])
        out("For more information about it, visit https://microk8s.io/docs/addons")
        return
    if has_lock("clustered.lock"):
        raise Exit(1, "This MicroK8s deployment is acting as a node in a cluster.\nPlease use the master node.")
    exit_if_no_permissions()
    if has_lock("stopped.lock"):
        raise Exit(1, "microk8s is not running, try microk8s start", stderr=True)
    lock_path = os.path.join(SNAP_DATA, "var", "lock", ".microk8s-addon-lock")
    os.makedirs(os.path.dirname(lock_path), exist_ok=True)
    with open(lock_path, "w") as handle:
        if os.environ.get("MICROK8S_ADDONS_SKIP_LOCK") != "1":
            fcntl.lockf(handle, fcntl.LOCK_EX)
        os.environ["MICROK8S_ADDONS_SKIP_LOCK"] = "1"
        xable(action, argv)


def parse_single(arg, available):
    name, *args = arg.split(":")
    parts = name.split("/")
    if len(parts) == 2:
        return parts[0], parts[1], args
    if len(parts) != 1:
        raise Exit(1, "Invalid addon name %s" % name)
    repos = [repo for repo, addon in available if addon == name]
    if not repos:
        err("Addon %s was not found in any repository" % name)
        if name in COMMUNITY_ADDONS:
            out("To use the community maintained flavor enable the respective repository:")
            out("")
            out("    microk8s enable community")
            out("")
        raise Exit(1)
    if len(repos) > 1:
        err("Addon %s exists in more than repository. Please explicitly specify\nthe repository using any of:\n" % name)
        for repo in repos:
            err("    %s/%s" % (repo, name))
        err("")
        raise Exit(1)
    err("Infer repository %s for addon %s" % (repos[0], name))
    return repos[0], name, args


def xable(action, argv):
    addons_info = available_addons()
    enabled, disabled = get_status(addons_info, True)
    available = [(a["repository"], a["name"]) for a in addons_info]
    done = [(a["repository"], a["name"]) for a in (enabled if action == "enable" else disabled)]
    names = [arg.split(":")[0] for arg in argv]
    known = set(n for _r, n in available) | set("%s/%s" % pair for pair in available)
    if set(names) < known and all(n in known for n in names):
        parsed = [parse_single(arg, available) for arg in argv]
    else:
        repo, name, args = parse_single(argv[0], available)
        if args and argv[1:]:
            out("Can't pass string arguments and flag arguments simultaneously!\n"
                "Enable or disable addons with only one argument style at a time:\n\n"
                "    microk8s enable foo:'bar'\nor\n    microk8s enable foo --bar\n")
            raise Exit(1)
        parsed = [(repo, name, argv[1:])]
    if len(parsed) > 1:
        out("WARNING: Do not enable or disable multiple addons in one command.\n"
            "         This form of chained operations on addons will be DEPRECATED in the future.\n"
            "         Please, %s one addon at a time: 'microk8s %s <addon>'" % (action, action))
    for repo, name, args in parsed:
        if (repo, name) not in available:
            out("Addon %s/%s not found" % (repo, name))
            continue
        if (repo, name) in done:
            out("Addon %s/%s is already %sd" % (repo, name, action))
            continue
        run_addon(action, name, args, api=True)


def run_addon(action, name, args, api=True):
    handlers = {
        ("enable", "dns"): enable_dns, ("disable", "dns"): disable_dns,
        ("enable", "rbac"): enable_rbac, ("disable", "rbac"): disable_rbac,
        ("enable", "hostpath-storage"): enable_hostpath, ("disable", "hostpath-storage"): disable_hostpath,
        ("enable", "storage"): enable_storage_alias, ("disable", "storage"): disable_hostpath,
        ("enable", "nvidia"): enable_nvidia, ("disable", "nvidia"): disable_nvidia,
        ("enable", "gpu"): enable_nvidia, ("disable", "gpu"): disable_nvidia,
        ("enable", "host-access"): lambda a, api: _lock_addon("host-access-enabled", True, "Host-access"),
        ("disable", "host-access"): lambda a, api: _lock_addon("host-access-enabled", False, "Host-access"),
        ("enable", "cis-hardening"): lambda a, api: _lock_addon("cis-hardening", True, "CIS hardening"),
        ("disable", "cis-hardening"): lambda a, api: _lock_addon("cis-hardening", False, "CIS hardening"),
        ("enable", "ha-cluster"): lambda a, api: out("Addon ha-cluster is already enabled"),
        ("disable", "ha-cluster"): lambda a, api: _unsupported(action, name),
        ("enable", "helm"): lambda a, api: out("Addon helm is already enabled"),
        ("enable", "helm3"): lambda a, api: out("Addon helm3 is already enabled"),
        ("disable", "helm"): lambda a, api: _unsupported(action, name),
        ("disable", "helm3"): lambda a, api: _unsupported(action, name),
    }
    handler = handlers.get((action, name))
    if handler is None:
        _unsupported(action, name)
    handler(args, api)


def _unsupported(action, name):
    raise Exit(1, "kaapana lab stand-in: `microk8s %s %s` is not implemented by the stand-in "
                  "(implemented: %s)" % (action, name, ", ".join(sorted(IMPLEMENTED_ADDONS))), stderr=True)


def _lock_addon(lock_name, present, title):
    set_lock(lock_name, present)
    out("%s is %s" % (title, "enabled" if present else "disabled"))


def labelled(obj):
    obj.setdefault("metadata", {}).setdefault("labels", {}).update(LABEL)
    obj["metadata"]["labels"][CLUSTER_LABEL] = my_cluster_id()
    return obj


def find_resolv_conf():
    """scripts/find-resolv-conf.py: the first resolv.conf whose nameservers are all non-loopback."""
    for candidate in ("/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"):
        try:
            with open(P(candidate)) as handle:
                servers = re.findall(r"^\s*nameserver\s+(\S*)\s*$", handle.read(), re.M)
        except OSError:
            continue

        def non_loopback(address):
            try:
                return not ipaddress.ip_address(address.split("%")[0]).is_loopback
            except ValueError:
                return False
        if servers and all(non_loopback(s) for s in servers):
            return candidate
    return None


def enable_dns(args, api=True):
    out("Enabling DNS")
    arguments = args[0].split() if args else []
    if not arguments or arguments == ["/etc/resolv.conf"]:
        resolv = get_arg("--resolv-conf", "kubelet")
        if resolv:
            out("Using host configuration from %s" % resolv)
            nameservers = "/etc/resolv.conf"
        else:
            host_resolv = find_resolv_conf()
            if host_resolv:
                out("Using host configuration from %s" % host_resolv)
                refresh_opt_in_local_config("resolv-conf", host_resolv, "kubelet")
                nameservers = "/etc/resolv.conf"
            else:
                out("No valid resolv.conf file could be found")
                out("Falling back to 8.8.8.8 8.8.4.4 as upstream nameservers")
                nameservers = "8.8.8.8 8.8.4.4"
    else:
        nameservers = ""
        for server in " ".join(arguments).replace(",", " ").split():
            try:
                ipaddress.ip_address(server)
            except ValueError:
                raise Exit(1, "Your input value (%s) is not a valid and reachable IP address" % server)
            nameservers = "%s %s" % (nameservers, server)
        out("Will use %s as upstream nameservers" % nameservers)
    dns_ip = args[1] if len(args) > 1 else ""
    if not dns_ip and re.search(r"^--service-cluster-ip-range=10\.152\.183\.0/24", read_args("kube-apiserver"), re.M):
        dns_ip = "10.152.183.10"
    domain = args[2] if len(args) > 2 and args[2] else "cluster.local"
    out("Applying manifest")
    if api:
        output = api_apply(coredns_manifest(nameservers, dns_ip, domain))
        sys.stdout.write(output)
        sys.stdout.flush()
        svc = api_get("service", "kube-dns", NS) or {}
        dns_ip = svc.get("spec", {}).get("clusterIP", dns_ip)
    out("CoreDNS service deployed with IP address %s" % dns_ip)
    kubelet = read_args("kubelet")
    needs_restart = ("--cluster-domain=%s" % domain) not in kubelet or ("--cluster-dns=%s" % dns_ip) not in kubelet
    refresh_opt_in_local_config("cluster-domain", domain, "kubelet")
    refresh_opt_in_local_config("cluster-dns", dns_ip, "kubelet")
    if has_lock("clustered.lock") or needs_restart:
        out("Restarting kubelet")
    out("DNS is enabled")


def coredns_manifest(nameservers, dns_ip, domain):
    corefile = "\n".join([
        ".:53 {", "    errors", "    health {", "      lameduck 5s", "    }", "    ready", "    log . {",
        "      class error", "    }", "    kubernetes %s in-addr.arpa ip6.arpa {" % domain, "      pods insecure",
        "      fallthrough in-addr.arpa ip6.arpa", "    }", "    prometheus :9153",
        "    forward . %s" % nameservers, "    cache 30", "    loop", "    reload", "    loadbalance", "}", ""])
    base_labels = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                   "addonmanager.kubernetes.io/mode": "Reconcile"}
    service_spec = {"selector": {"k8s-app": "kube-dns"},
                    "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                              {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                              {"name": "metrics", "port": 9153, "protocol": "TCP"}]}
    if dns_ip:
        service_spec["clusterIP"] = dns_ip
    return [labelled(o) for o in [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "coredns", "namespace": NS, "labels": dict(base_labels)}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "coredns", "namespace": NS,
                      "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists", "k8s-app": "kube-dns"}},
         "data": {"Corefile": corefile}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "coredns", "namespace": NS,
                      "labels": dict(base_labels, **{"kubernetes.io/name": "CoreDNS"})},
         "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%", "maxUnavailable": 0}},
                  "selector": {"matchLabels": {"k8s-app": "kube-dns"}},
                  "template": {"metadata": {"labels": {"k8s-app": "kube-dns"},
                                            "annotations": {"priorityClassName": "system-cluster-critical"}},
                               "spec": {"priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
                                        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}],
                                        "volumes": [{"name": "config-volume", "configMap": {
                                            "name": "coredns", "items": [{"key": "Corefile", "path": "Corefile"}]}}],
                                        "containers": [{
                                            "name": "coredns", "image": "coredns/coredns:1.12.1",
                                            "imagePullPolicy": "IfNotPresent",
                                            "resources": {"limits": {"memory": "170Mi"},
                                                          "requests": {"cpu": "100m", "memory": "70Mi"}},
                                            "args": ["-conf", "/etc/coredns/Corefile"],
                                            "volumeMounts": [{"name": "config-volume", "mountPath": "/etc/coredns",
                                                              "readOnly": True}],
                                            "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                                      {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                                      {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}],
                                            "securityContext": {"allowPrivilegeEscalation": False,
                                                                "capabilities": {"add": ["NET_BIND_SERVICE"],
                                                                                 "drop": ["all"]},
                                                                "readOnlyRootFilesystem": True},
                                            "livenessProbe": {"httpGet": {"path": "/health", "port": 8080,
                                                                          "scheme": "HTTP"},
                                                              "initialDelaySeconds": 60, "timeoutSeconds": 5,
                                                              "successThreshold": 1, "failureThreshold": 5},
                                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181,
                                                                           "scheme": "HTTP"}}}],
                                        "dnsPolicy": "Default"}}}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": NS,
                      "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
                      "labels": dict(base_labels, **{"kubernetes.io/name": "CoreDNS"})},
         "spec": service_spec},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "coredns"},
         "rules": [{"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"]},
                   {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "coredns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "coredns"},
         "subjects": [{"kind": "ServiceAccount", "name": "coredns", "namespace": NS}]},
    ]]


def disable_dns(args, api=True):
    out("Disabling DNS")
    out("Reconfiguring kubelet")
    out("Removing DNS manifest")
    if api:
        proc = kubectl("delete", "deployment", "coredns", "-n", NS, "--ignore-not-found", "--wait")
        sys.stdout.write(proc.stdout)
        proc = kubectl("delete", "serviceaccount/coredns", "configmap/coredns", "service/kube-dns", "-n", NS,
                       "--ignore-not-found")
        sys.stdout.write(proc.stdout)
        proc = kubectl("delete", "clusterrole.rbac.authorization.k8s.io/coredns",
                       "clusterrolebinding.rbac.authorization.k8s.io/coredns", "--ignore-not-found")
        sys.stdout.write(proc.stdout)
    skip_opt_in_local_config("cluster-domain", "kubelet")
    skip_opt_in_local_config("cluster-dns", "kubelet")
    out("DNS is disabled")


def enable_rbac(args, api=True):
    out("Enabling RBAC")
    out("Reconfiguring apiserver")
    needs_restart = "--authorization-mode=RBAC,Node" not in read_args("kube-apiserver")
    refresh_opt_in_local_config("authorization-mode", "RBAC,Node", "kube-apiserver")
    _share_authorization_mode(api)
    if has_lock("clustered.lock") or needs_restart:
        out("Restarting apiserver")
    out("RBAC is enabled")


def disable_rbac(args, api=True):
    out("Disabling RBAC")
    out("Reconfiguring apiserver")
    refresh_opt_in_local_config("authorization-mode", "AlwaysAllow", "kube-apiserver")
    _share_authorization_mode(api)
    out("Removing default RBAC resources")
    # the lab API keeps its bootstrap RBAC objects: deleting them would break the shared lab
    out("RBAC is disabled")


def _share_authorization_mode(api):
    if not api or local_state().get("role") not in ("primary", "control-plane"):
        return
    mode = get_arg("--authorization-mode", "kube-apiserver")
    try:
        update_cluster(lambda info: info.update({"authorization-mode": mode}))
    except ApiError:
        pass


def hostpath_manifest(reclaim, default_class):
    pv_dir = "/var/snap/microk8s/common/default-storage"
    return [labelled(o) for o in [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "hostpath-provisioner", "labels": {"k8s-app": "hostpath-provisioner"}, "namespace": NS},
         "spec": {"replicas": 1, "revisionHistoryLimit": 0,
                  "selector": {"matchLabels": {"k8s-app": "hostpath-provisioner"}},
                  "template": {"metadata": {"labels": {"k8s-app": "hostpath-provisioner"}},
                               "spec": {"serviceAccountName": "microk8s-hostpath",
                                        "containers": [{
                                            "name": "hostpath-provisioner",
                                            "image": "cdkbot/hostpath-provisioner:1.5.0",
                                            "env": [{"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                                    {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                                                    {"name": "PV_DIR", "value": pv_dir},
                                                    {"name": "BUSYBOX_IMAGE", "value": "busybox:1.28.4"}],
                                            "volumeMounts": [{"name": "pv-volume", "mountPath": pv_dir}]}],
                                        "volumes": [{"name": "pv-volume", "hostPath": {"path": pv_dir}}]}}}},
        {"kind": "StorageClass", "apiVersion": "storage.k8s.io/v1",
         "metadata": {"name": "microk8s-hostpath",
                      "annotations": {"storageclass.kubernetes.io/is-default-class": default_class}},
         "provisioner": "microk8s.io/hostpath", "reclaimPolicy": reclaim, "volumeBindingMode": "WaitForFirstConsumer"},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "microk8s-hostpath", "namespace": NS}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "microk8s-hostpath"},
         "rules": [{"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["list", "get", "watch", "update"]},
                   {"apiGroups": [""], "resources": ["persistentvolumes"],
                    "verbs": ["list", "get", "update", "watch", "create", "delete"]},
                   {"apiGroups": [""], "resources": ["endpoints"],
                    "verbs": ["list", "get", "update", "watch", "create", "delete"]},
                   {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "list", "patch"]},
                   {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["list", "watch"]},
                   {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "create", "delete"]},
                   {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]},
                   {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                    "verbs": ["get", "create", "update", "patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "microk8s-hostpath"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "microk8s-hostpath"},
         "subjects": [{"kind": "ServiceAccount", "name": "microk8s-hostpath", "namespace": NS}]},
    ]]


def _hostpath_options(args):
    reclaim, default_class = "Delete", "true"
    i = 0
    while i < len(args):
        arg = args[i]
        key, has_value, value = arg.partition("=")
        if key in ("-h", "--help"):
            out("Options:")
            out(" -h, --help            Show this help")
            out(" -r, --reclaim-policy  Set the reclaim policy. Available options are Delete (default) and Retain.")
            out(" -d, --default-class   Set the storage class as default. Available options are true (default) and false.")
            raise Exit(0)
        if key in ("-r", "--reclaim-policy", "-d", "--default-class"):
            if not has_value:
                i += 1
                if i >= len(args):
                    raise Exit(1, "getopt: option requires an argument -- '%s'" % key.lstrip("-"), stderr=True)
                value = args[i]
            if key in ("-r", "--reclaim-policy"):
                reclaim = value
            else:
                default_class = value
        elif arg.startswith("-"):
            raise Exit(1, "invalid option -- %s" % arg)
        i += 1
    if reclaim not in ("Delete", "Retain"):
        raise Exit(1, "\nPlease check submitted arguments.\n"
                      "You can use '--reclaim-policy' to set the reclaim policy. Allowed values: Delete Retain. "
                      "Defaults to 'Delete'.\n   microk8s enable hostpath-storage --reclaim-policy=Retain")
    if default_class not in ("true", "false"):
        raise Exit(1, "\nPlease check submitted arguments.\n"
                      "You can use '--default-class' to set the storage class as default. Allowed values: true false. "
                      "Defaults to 'true'.\n   microk8s enable hostpath-storage --default-class=true")
    return reclaim, default_class


def enable_hostpath(args, api=True):
    reclaim, default_class = _hostpath_options(args)
    out("Enabling default storage class.")
    out("WARNING: Hostpath storage is not suitable for production environments.")
    out("         A hostpath volume can grow beyond the size limit set in the volume claim manifest.")
    out("")
    os.makedirs(os.path.join(SNAP_COMMON, "default-storage"), exist_ok=True)
    if api:
        sys.stdout.write(api_apply(hostpath_manifest(reclaim, default_class)))
    out("Storage will be available soon.")
    if has_lock("clustered.lock"):
        out("")
        out("WARNING: The storage class enabled does not persist volumes across nodes.")
        out("")


def enable_storage_alias(args, api=True):
    out("The storage addon is deprecated and will soon be removed.")
    out("Please use the hostpath-storage addon instead.")
    enable_hostpath(args, api)


def disable_hostpath(args, api=True):
    out("Disabling hostpath storage.")
    if api:
        refs = ["deployment.apps/hostpath-provisioner", "serviceaccount/microk8s-hostpath"]
        sys.stdout.write(kubectl("delete", *refs, "-n", NS, "--ignore-not-found").stdout)
        sys.stdout.write(kubectl("delete", "storageclass.storage.k8s.io/microk8s-hostpath",
                                 "clusterrole.rbac.authorization.k8s.io/microk8s-hostpath",
                                 "clusterrolebinding.rbac.authorization.k8s.io/microk8s-hostpath",
                                 "--ignore-not-found").stdout)
    out("Storage removed.")
    if args and " ".join(args) == "destroy-storage":
        shutil.rmtree(os.path.join(SNAP_COMMON, "default-storage"), ignore_errors=True)
        out("Storage space reclaimed.")
        return
    sys.stdout.write("Remove PVC storage at /var/snap/microk8s/common/default-storage ? (Y/N): ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    if not answer or answer.strip().lower() not in ("y", "yes"):
        raise Exit(1)
    shutil.rmtree(os.path.join(SNAP_COMMON, "default-storage"), ignore_errors=True)
    out("Storage space reclaimed.")


def _nvidia_options(args):
    parser = argparse.ArgumentParser(prog="microk8s enable nvidia", add_help=True)
    parser.add_argument("driver_type", nargs="?", default="",
                        choices=["", "force-operator-driver", "force-system-driver"])
    parser.add_argument("--requires", action="append")
    parser.add_argument("--version")
    parser.add_argument("--gpu-operator-version")
    parser.add_argument("--driver", choices=["auto", "operator", "host"])
    parser.add_argument("--gpu-operator-driver", choices=["auto", "operator", "host"])
    parser.add_argument("--set", dest="helm_set", action="append", default=[])
    parser.add_argument("--gpu-operator-set", action="append", default=[])
    parser.add_argument("-f", "--values", dest="helm_values", action="append", default=[])
    parser.add_argument("--gpu-operator-values", action="append", default=[])
    parser.add_argument("--gpu-operator", dest="gpu_operator", action="store_true", default=True)
    parser.add_argument("--no-gpu-operator", dest="gpu_operator", action="store_false")
    parser.add_argument("--toolkit-version")
    parser.add_argument("--gpu-operator-toolkit-version")
    parser.add_argument("--set-as-default-runtime", dest="set_default", action="store_true", default=None)
    parser.add_argument("--no-set-as-default-runtime", dest="set_default", action="store_false")
    parser.add_argument("--gpu-operator-set-as-default-runtime", dest="gpu_set_default", action="store_true",
                        default=True)
    parser.add_argument("--gpu-operator-no-set-as-default-runtime", dest="gpu_set_default", action="store_false")
    parser.add_argument("--network-operator", dest="network_operator", action="store_true", default=False)
    parser.add_argument("--no-network-operator", dest="network_operator", action="store_false")
    parser.add_argument("--network-operator-version", default="25.1.0")
    parser.add_argument("--network-operator-set", action="append", default=[])
    parser.add_argument("--network-operator-values", action="append", default=[])
    try:
        return parser.parse_args(args)
    except SystemExit as exit_:
        raise Exit(exit_.code or 0)


def enable_nvidia(args, api=True):
    opts = _nvidia_options(args)
    if not opts.gpu_operator and not opts.network_operator:
        raise Exit(1, "ERROR: At least one of --gpu-operator or --network-operator is required")
    for required in (opts.requires or ["core/dns", "core/helm3"]):
        try:
            xable("enable", [required])
        except Exit as exit_:
            if exit_.message:
                (err if exit_.stderr else out)(exit_.message)
    driver = opts.gpu_operator_driver
    if opts.driver:
        if driver:
            raise Exit(1, "ERROR: Please use --gpu-operator-driver instead of --driver")
        out("WARNING: --driver is deprecated, please use --gpu-operator-driver instead")
        driver = opts.driver
    if opts.driver_type == "force-operator-driver":
        driver = "operator"
        out("WARNING: force-operator-driver is deprecated. Please use --gpu-operator-driver=operator")
    elif opts.driver_type == "force-system-driver":
        driver = "host"
        out("WARNING: force-system-driver is deprecated. Please use --gpu-operator-driver=host")
    elif driver in ("auto", None):
        out("Checking if NVIDIA driver is already installed")
        smi = shutil.which("nvidia-smi")
        if smi:
            sys.stdout.flush()
            subprocess.run([smi, "-L"], check=False)
            driver = "host"
        else:
            driver = "operator"
    gpu_set = opts.gpu_operator_set
    if opts.helm_set:
        if gpu_set:
            raise Exit(1, "ERROR: Please use --gpu-operator-set instead of --set")
        out("WARNING: --set is deprecated, please use --gpu-operator-set instead")
        gpu_set = opts.helm_set
    values = opts.gpu_operator_values
    if opts.helm_values:
        if values:
            raise Exit(1, "ERROR: Please use --gpu-operator-values instead of -f/--values")
        out("WARNING: -f/--values is deprecated, please use --gpu-operator-values instead")
        values = opts.helm_values
    version = opts.gpu_operator_version
    if opts.version:
        if version:
            raise Exit(1, "ERROR: Please use --gpu-operator-version instead of --version")
        out("WARNING: --version is deprecated, please use --gpu-operator-version instead")
        version = opts.version
    toolkit = opts.gpu_operator_toolkit_version
    if opts.toolkit_version:
        if toolkit:
            raise Exit(1, "ERROR: Please use --gpu-operator-toolkit-version instead of --toolkit-version")
        out("WARNING: --toolkit-version is deprecated, please use --gpu-operator-toolkit-version instead")
        toolkit = opts.toolkit_version
    set_default = opts.gpu_set_default
    if opts.set_default is not None:
        out("WARNING: --set-as-default-runtime is deprecated, please use --gpu-operator-set-as-default-runtime instead")
        set_default = opts.set_default
    version = version or "v25.3.0"
    # `helm repo add/update nvidia`: the lab has no internet; the fixture chart stands in for the repo
    out('"nvidia" has been added to your repositories')
    out("Hang tight while we grab the latest from your chart repositories...")
    out('...Successfully got an update from the "nvidia" chart repository')
    out("Update Complete. \u2388Happy Helming!\u2388")
    if opts.gpu_operator:
        deploy_gpu_operator(version, gpu_set, values, toolkit, driver, set_default, api)
    if opts.network_operator:
        out("Deploy NVIDIA Network operator")
        out("kaapana lab stand-in: the network operator is not simulated")
        out("Deployed NVIDIA Network operator")


def gpu_operator_chart(version):
    """The chart `helm install nvidia/gpu-operator --version=VERSION` would fetch from NVIDIA's repository, which
    /etc/kaapana-lab/charts stands in for: that version or nothing (helm never substitutes another version)."""
    folder = P("/etc/kaapana-lab/charts")
    for name in ("gpu-operator-%s.tgz" % version, "gpu-operator-v%s.tgz" % version.lstrip("v"),
                 "gpu-operator-%s.tgz" % version.lstrip("v")):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def deploy_gpu_operator(version, helm_set, helm_values, toolkit, driver, set_default, api):
    out("Deploy NVIDIA GPU operator")
    out("Using %s GPU driver" % driver)
    config = {
        "operator": {"defaultRuntime": "containerd"},
        "driver": {"enabled": "true" if driver == "operator" else "false"},
        "toolkit": {"enabled": "true", "env": [
            {"name": "CONTAINERD_CONFIG", "value": "/var/snap/microk8s/current/args/containerd-template.toml"},
            {"name": "CONTAINERD_SOCKET", "value": "/var/snap/microk8s/common/run/containerd.sock"},
            {"name": "CONTAINERD_SET_AS_DEFAULT", "value": "1" if set_default else "0"}]},
    }
    if toolkit is not None:
        config["toolkit"]["version"] = toolkit
    if not api:
        out("Deployed NVIDIA GPU operator")
        return
    chart = gpu_operator_chart(version)
    if chart:
        cmd = [helm_bin(), "--kubeconfig=%s" % client_config(), "install", "gpu-operator", chart,
               "--version=%s" % version, "--create-namespace", "--namespace=gpu-operator-resources", "-f", "-"]
        for item in helm_set:
            cmd += ["--set", item]
        for item in helm_values:
            cmd += ["--values", item]
        sys.stdout.flush()
        subprocess.run(cmd, input=json.dumps(config).encode(), check=False)
        kubectl("label", "namespace", "gpu-operator-resources", "--overwrite", "%s=%s" % (CLUSTER_LABEL, my_cluster_id()),
                check=False)
        label_gpu_nodes()
    else:
        # helm's own failure for a version the repository lacks; like the real addon (which runs helm without
        # checking its exit status), enable goes on and exits 0 with nothing installed.
        err('Error: INSTALLATION FAILED: chart "gpu-operator" matching %s not found in nvidia index. '
            "(try 'helm repo update'): no chart version found for gpu-operator-%s" % (version, version))
    out("Deployed NVIDIA GPU operator")


def label_gpu_nodes():
    """What the operator's feature discovery and device plugin would publish for GPU nodes."""
    try:
        nodes = json.loads(kubectl("get", "nodes", "-l", cluster_selector(), "-o", "json").stdout)["items"]
    except (ApiError, ValueError, KeyError):
        return
    for node in nodes:
        ann = node["metadata"].get("annotations", {})
        try:
            count = int(ann.get("kaapana.lab/gpu-count", "0"))
        except ValueError:
            count = 0
        if count <= 0:
            continue
        name = node["metadata"]["name"]
        product = ann.get("kaapana.lab/gpu-product", "NVIDIA-GPU").replace(" ", "-")
        kubectl("label", "node", name, "--overwrite", "nvidia.com/gpu.present=true", "nvidia.com/gpu.count=%d" % count,
                "nvidia.com/gpu.product=%s" % product, "nvidia.com/gpu.deploy.operands=true", check=False)
        patch = {"status": {"capacity": {"nvidia.com/gpu": str(count)}, "allocatable": {"nvidia.com/gpu": str(count)}}}
        kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(patch), check=False)


def disable_nvidia(args, api=True):
    out("Disabling NVIDIA support")
    if api:
        proc = subprocess.run([helm_bin(), "--kubeconfig=%s" % client_config(), "ls", "-A", "-o", "json"],
                              capture_output=True, text=True, check=False)
        try:
            charts = json.loads(proc.stdout or "[]")
        except ValueError:
            err("ERROR: Failed to retrieve installed charts")
            charts = []
        for chart in charts:
            if chart.get("name") in ("gpu-operator", "network-operator"):
                sys.stdout.flush()
                subprocess.run([helm_bin(), "--kubeconfig=%s" % client_config(), "uninstall", chart["name"], "-n",
                                chart.get("namespace") or "default"], check=False)
        kubectl("delete", "deployments.apps", "-n", "gpu-operator-resources", "-l", cluster_selector(),
                "--ignore-not-found", check=False)
        for crd in ("clusterpolicies.nvidia.com", "nvidiadrivers.nvidia.com", "hostdevicenetworks.mellanox.com",
                    "ipoibnetworks.mellanox.com", "macvlannetworks.mellanox.com", "nicclusterpolicies.mellanox.com"):
            proc = kubectl("delete", "crd", crd, check=False)
            sys.stdout.write(proc.stdout)
            sys.stderr.write(proc.stderr)
    out("NVIDIA support disabled")


# ---- clustering (add_token.py, join.py, leave.py, remove_node.py) --------------------------------
def cmd_add_node(argv):
    if has_lock("clustered.lock"):
        raise Exit(1, "This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s add-node on the master.")
    parser = argparse.ArgumentParser(description="Produce a connection string for a node to join the cluster.",
                                     prog="microk8s add-node", epilog=STANDIN_NOTE)
    parser.add_argument("--token-ttl", "-l", type=int, default="-1",
                        help='Specify how long the token is valid, before it expires. Value of "-1" indicates that '
                             "the token is usable only once (i.e. after joining a node, the token becomes invalid)")
    parser.add_argument("--token", "-t", help="Specify the bootstrap token to add, must be 32 characters long. "
                                              "Auto generates when empty.")
    parser.add_argument("--format", default="pretty", choices={"pretty", "short", "token", "token-check", "json", "yaml"},
                        help="Format the output of the token in pretty, short, token, or token-check")
    if any("help" in a for a in argv):
        parser.print_help()
        return
    exit_if_no_permissions()
    exit_if_stopped_bash()
    args = parser.parse_args(argv)
    token = args.token if args.token is not None else secrets.token_hex(16)
    if len(token) < TOKEN_MIN_LEN:
        raise Exit(1, "Invalid token size.  It must be 32 characters long.")
    expiry = None if args.token_ttl == -1 else int(round(now())) + args.token_ttl
    tokens_file = os.path.join(SNAP_DATA, "credentials", "cluster-tokens.txt")
    os.makedirs(os.path.dirname(tokens_file), exist_ok=True)
    with open(tokens_file, "a+") as handle:
        handle.write("%s|%d\n" % (token, expiry) if expiry is not None else "%s\n" % token)
    check = local_state().get("check") or fingerprint_of_ca()
    ips = node_ips()
    ensure_own_cluster(ips[0], check)
    default = ips[0]
    record = {"token": token, "expiry": expiry, "ip": default, "ips": ips, "port": CLUSTER_AGENT_PORT,
              "cluster": my_cluster_id(),
              "check": check, "node": node_name(), "created": now()}
    update_tokens(lambda tokens: tokens.append(record))
    if local_state().get("role") in ("primary", "control-plane"):
        kubelet = read_args("kubelet")
        update_cluster(lambda info: info.update({"kubelet-args": kubelet})
                       if info.get("primary", {}).get("name") == node_name() else None)
    if args.format == "pretty":
        out("From the node you wish to join to this cluster, run the following:")
        out("microk8s join %s:%s/%s/%s\n" % (default, CLUSTER_AGENT_PORT, token, check))
        if has_lock("ha-cluster"):
            out("Use the '--worker' flag to join a node as a worker not running the control plane, eg:")
            out("microk8s join %s:%s/%s/%s --worker\n" % (default, CLUSTER_AGENT_PORT, token, check))
        out("If the node you are adding is not reachable through the default interface you can use one of the following:")
        for ip in ips:
            out("microk8s join %s:%s/%s/%s" % (ip, CLUSTER_AGENT_PORT, token, check))
    elif args.format == "short":
        out("microk8s join %s:%s/%s/%s" % (default, CLUSTER_AGENT_PORT, token, check))
        for ip in ips:
            if ip != default:
                out("microk8s join %s:%s/%s/%s" % (ip, CLUSTER_AGENT_PORT, token, check))
    elif args.format == "token-check":
        out("%s/%s" % (token, check))
    elif args.format == "json":
        info = {"token": "%s/%s" % (token, check), "urls": ["%s:%s/%s/%s" % (ip, CLUSTER_AGENT_PORT, token, check)
                                                            for ip in ips]}
        out(json.dumps(info, indent=2))
    elif args.format == "yaml":
        lines = ["token: %s" % yaml_scalar("%s/%s" % (token, check)), "urls:"]
        lines += ["- %s" % yaml_scalar("%s:%s/%s/%s" % (ip, CLUSTER_AGENT_PORT, token, check)) for ip in ips]
        out("\n".join(lines) + "\n")
    else:
        out(token)


def ensure_own_cluster(ip, check):
    """Every MicroK8s install is a cluster of its own. The lab registers the primary node's one at
    install time; a node that was not marked primary but is asked for a join token becomes the
    seed of a cluster here (recorded and registered as a Node)."""
    state = local_state()
    if state.get("role") != "standalone":
        return
    name = node_name()
    record = {"primary": {"name": name, "ip": ip}, "check": check, "created": now(),
              "members": [{"name": name, "ip": ip, "role": "control-plane", "dqlite": True}],
              "kubelet-args": read_args("kubelet"),
              "authorization-mode": get_arg("--authorization-mode", "kube-apiserver")}
    update_cluster(lambda info: info.update(record) if not info.get("members") else None, name)
    register_node(name, ip, worker=False, cid=name)
    state.update({"role": "primary", "cluster": name})
    save_local_state(state)


def yaml_scalar(text):
    """PyYAML's choice for the plain strings add-node prints (quoted only if they would not
    read back as the same string)."""
    if re.fullmatch(r"[A-Za-z0-9._/-]+(?::[A-Za-z0-9._/-]+)*", text) and not re.fullmatch(
            r"[-+]?(?:[0-9][0-9_]*)?\.?[0-9.]*(?:[eE][-+][0-9]+)?|true|false|yes|no|on|off|null|~", text, re.I):
        return text
    return "'%s'" % text.replace("'", "''")


def _connection_refused(master_ip, master_port):
    err("Traceback (most recent call last):")
    err('  File "/snap/microk8s/current/scripts/wrappers/join.py", line 1000, in <module>')
    err("    join(prog_name=\"microk8s join\")")
    err("ConnectionRefusedError: [Errno 111] Connection refused")
    raise Exit(1)


def cmd_join(argv):
    parser = argparse.ArgumentParser(prog="microk8s join", description="Join the node to a cluster",
                                     epilog=STANDIN_NOTE)
    parser.add_argument("connection", help="the cluster connection endpoint in format <master>:<port>/<token>")
    parser.add_argument("--worker", dest="worker", action="store_const", const="as-worker", default=False)
    parser.add_argument("--controlplane", dest="worker", action="store_const", const="as-master")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--disable-low-memory-guard", action="store_true")
    args, _unknown = parser.parse_known_args(argv)
    worker = args.worker == "as-worker"
    if os.path.isdir(os.path.join(SNAP_COMMON, "default-storage")):
        out("WARNING: Hostpath storage is enabled and is not suitable for multi node clusters.")
        out("")
    exit_if_no_permissions()
    parts = args.connection.split("/")
    problem = None
    if len(parts) not in (2, 3) or len(parts[0].split(":")) != 2:
        problem = "Expected format: <master_IP>:<master_PORT>/<token>[/<fingerprint>]"
    else:
        master_ip, master_port = parts[0].split(":")
        try:
            ipaddress.ip_address(master_ip)
        except ValueError:
            problem = "Invalid master IP"
        if problem is None and not master_port.isdigit():
            problem = "Invalid master port"
        if problem is None and len(parts[1]) < TOKEN_MIN_LEN:
            problem = "Cluster token size should be at least %d bytes" % TOKEN_MIN_LEN
        if problem is None and len(parts) == 3 and len(parts[2]) < FINGERPRINT_MIN_LEN:
            problem = "Fingerprint should be at least %d bytes" % FINGERPRINT_MIN_LEN
    if problem:
        raise Exit(1, "Invalid connection: %s" % problem)
    token = parts[1]
    fingerprint = parts[2] if len(parts) == 3 else None
    verify = not args.skip_verify and fingerprint is not None
    set_lock("join-in-progress")
    try:
        out("Contacting cluster at %s" % master_ip)
        cid, info = cluster_by_ip(master_ip)
        my_ip = default_ip()
        members = (info or {}).get("members", [])
        agents = [m for m in members if m.get("dqlite")]
        if not info or master_port != CLUSTER_AGENT_PORT or not any(
                master_ip == m.get("ip") for m in agents):
            _connection_refused(master_ip, master_port)
        if verify and info.get("check") and not info["check"].startswith(fingerprint):
            raise Exit(4, "Joining cluster failed. Could not verify the identity of %s. Use '--skip-verify' to skip "
                          "server certificate check." % master_ip)

        def consume(tokens):
            for record in list(tokens):
                if record["token"] != token.strip():
                    continue
                if master_ip not in record.get("ips", [record.get("ip")]) or record.get("cluster", cid) != cid:
                    continue
                if record.get("expiry") is None:
                    tokens.remove(record)
                    return True
                return now() < record["expiry"]
            return False

        if not update_tokens(consume):
            raise Exit(6, "Connection failed. Invalid token (500).")
        if master_ip == my_ip:
            raise Exit(6, "Connection failed. The joining node has the same IP (%s) as the node we contact (503)."
                       % master_ip)
        name = node_name()
        if not worker and any(m.get("ip") == my_ip and m.get("dqlite") for m in members):
            raise Exit(6, "Connection failed. Failed to retrieve dqlite cluster nodes: the joining node (%s) is "
                          "already known to dqlite (500)." % my_ip)

        def add_member(cluster):
            # the contacted node creates its no-cert-reissue lock (cluster-agent Join handler)
            cluster["joined-ever"] = True
            kept = [m for m in cluster.get("members", []) if m.get("name") != name and m.get("ip") != my_ip]
            kept.append({"name": name, "ip": my_ip, "role": "worker" if worker else "control-plane",
                         "dqlite": not worker})
            cluster["members"] = kept
            return cluster

        cluster = update_cluster(add_member, cid)
        kubelet_args = cluster.get("kubelet-args") or read_args("kubelet")
        write_args("kubelet", kubelet_args)
        state = local_state()
        state.update({"role": "worker" if worker else "control-plane", "joined": master_ip, "ip": my_ip, "cluster": cid,
                      "check": cluster.get("check", state.get("check"))})
        if worker:
            set_arg("--client-ca-file", "${SNAP_DATA}/certs/ca.remote.crt", "kubelet")
            set_arg("--node-labels", "microk8s.io/cluster=true,node.kubernetes.io/microk8s-worker=microk8s-worker",
                    "kubelet")
            if os.path.exists(os.path.join(SNAP_DATA, "certs", "ca.crt")):
                shutil.copy(os.path.join(SNAP_DATA, "certs", "ca.crt"), os.path.join(SNAP_DATA, "certs", "ca.remote.crt"))
            for name_ in ("clustered.lock", "no-k8s-dqlite", "no-cert-reissue"):
                set_lock(name_)
            set_lock("no-apiserver-proxy", False)
            with open(os.path.join(SNAP_DATA, "credentials", "callback-token.txt"), "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            save_local_state(state)
            register_node(name, my_ip, worker=True, cid=cid)
            out("")
            out("The node has joined the cluster and will appear in the nodes list in a few seconds.")
            out("")
            out("This worker node gets automatically configured with the API server endpoints.")
            out("If the API servers are behind a loadbalancer please set the '--refresh-interval' to '0s' in:")
            out("    /var/snap/microk8s/current/args/apiserver-proxy")
            out("and replace the API server endpoints with the one provided by the loadbalancer in:")
            out("    /var/snap/microk8s/current/args/traefik/provider.yaml")
            out("")
        else:
            mode = cluster.get("authorization-mode")
            if mode:
                set_arg("--authorization-mode", mode, "kube-apiserver")
            set_lock("no-cert-reissue")
            save_local_state(state)
            register_node(name, my_ip, worker=False, cid=cid)
            sys.stdout.write("Waiting for this node to finish joining the cluster. ")
            sys.stdout.write(".. ")
            out(" ")
        record_running_args()  # join restarts the node's services with the args it wrote
        # the node we contacted stops re-issuing certificates once a node joined
        out("Successfully joined the cluster.")
    finally:
        set_lock("join-in-progress", False)


def cmd_leave(argv):
    parser = argparse.ArgumentParser(prog="microk8s leave", description="The node will depart from the cluster it is in.")
    parser.parse_args(argv)
    exit_if_stopped_bash()
    exit_if_no_permissions()
    state = local_state()
    no_cert_reissue = has_lock("no-cert-reissue")
    if not no_cert_reissue and state.get("role") == "primary":
        try:
            no_cert_reissue = bool((cluster_info() or {}).get("joined-ever"))
        except ApiError:
            pass
    if not no_cert_reissue or (not has_lock("clustered.lock") and not os.path.exists(args_path("k8s-dqlite"))):
        raise Exit(1, "This MicroK8s deployment is not acting as a node in a cluster.")
    name = node_name()
    if has_lock("clustered.lock"):
        out("Configuring services.")
        out("Generating new cluster certificates.")
        for lock_name in ("clustered.lock", "no-k8s-dqlite", "no-cert-reissue"):
            set_lock(lock_name, False)
        set_lock("no-apiserver-proxy")
        write_args("kubelet", DEFAULT_ARGS["kubelet"])
        write_args("kube-proxy", DEFAULT_ARGS["kube-proxy"])
        _forget_member(name)
        mark_node_state(name, "left", "The node left the cluster (microk8s leave).")
        sys.stdout.write("Waiting for node to start. ")
        out(" ")
    else:
        info = cluster_info() or {}
        voters = [m for m in info.get("members", []) if m.get("dqlite")]
        me = [m for m in voters if m.get("name") == name]
        if me and len(voters) == 1 and len(info.get("members", [])) > 1:
            raise Exit(3, "This node currently holds the only copy of the Kubernetes database so it cannot leave "
                          "the cluster.\nTo remove this node you can either first remove all other nodes with "
                          "'microk8s remove-node' or\nform a highly available cluster by adding at least three nodes.")
        out("Generating new cluster certificates.")
        set_lock("no-cert-reissue", False)
        _forget_member(name)
        mark_node_state(name, "left", "The node left the cluster (microk8s leave).")
        sys.stdout.write("Waiting for node to start. ")
        out(" ")
    if state.get("role") == "primary":
        state.update({"role": "standalone"})
    else:
        state.update({"role": "standalone", "joined": None, "cluster": node_name()})
    save_local_state(state)


def _forget_member(name):
    try:
        update_cluster(lambda info: info.update(
            {"members": [m for m in info.get("members", []) if m.get("name") != name]}))
    except ApiError as error:
        err("kaapana lab stand-in: could not update the cluster record: %s" % error)


def cmd_remove_node(argv):
    if not argv:
        raise Exit(1, "Please provide the node you want to remove.")
    if has_lock("ha-cluster") and len(argv) == 2 and argv[1] != "--force":
        raise Exit(1, "Please provide the node and the optional --force flag.")
    force = "--force" in argv
    node = [a for a in argv if a != "--force"][0]
    try:
        ipaddress.ip_address(node)
        is_ip = True
    except ValueError:
        is_ip = False
    if is_ip:
        nodes = json.loads(kubectl("get", "no", "-o", "json").stdout).get("items", [])
        for item in nodes:
            if any(a["type"] == "InternalIP" and a["address"] == node for a in item["status"].get("addresses", [])):
                node = item["metadata"]["name"]
                break
    existing = api_get("node", node)
    info = cluster_info() or {}
    if existing is None:
        out("Node %s does not exist in Kubernetes." % node)
        if force:
            out("Attempting to remove %s from dqlite." % node)
            if any(m.get("dqlite") and (m.get("ip") == node or m.get("name") == node) for m in info.get("members", [])):
                out("Removing node entry found in dqlite.")
                _forget_member_where(lambda m: m.get("ip") == node or m.get("name") == node)
        raise Exit(1)
    address = next((a["address"] for a in existing.get("status", {}).get("addresses", []) if a["type"] == "InternalIP"), None)
    if not address:
        raise Exit(1, "Node %s is not part of the cluster." % node)
    in_dqlite = any(m.get("dqlite") and m.get("ip") == address for m in info.get("members", [])
                    if m.get("name") != node_name())
    if in_dqlite and not force:
        raise Exit(1, "Removal failed. Node %s is registered with dqlite. Please, run first 'microk8s leave' on the "
                      "departing node. \nIf the node is not available anymore and will never attempt to join the "
                      "cluster in the future use the '--force' flag \nto unregister the node while removing it." % node)
    _forget_member_where(lambda m: m.get("name") == node or m.get("ip") == address)
    kubectl("delete", "no", node)


def _forget_member_where(predicate):
    try:
        update_cluster(lambda info: info.update(
            {"members": [m for m in info.get("members", []) if not predicate(m)]}))
    except ApiError as error:
        err("kaapana lab stand-in: could not update the cluster record: %s" % error)


# ---- config, kubectl, helm, start/stop, version, inspect ---------------------------------------------
def cmd_config(argv):
    if has_lock("clustered.lock"):
        raise Exit(0, "This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s config on the master.")
    loopback = False
    for arg in argv:
        if arg in ("-l", "--use-loopback"):
            loopback = True
        elif arg in ("-h", "--help"):
            out("Usage: microk8s config [OPTIONS]\n\nRetrieve the client config, similar to microk8s kubectl config view --raw\n")
            out("Options:\n -h, --help          Show this help\n -l, --use-loopback  Report the cluster address using "
                "the loopback address\n                     (127.0.0.1) rather than the default interface address")
            out("\n(%s; the server is the lab API server)" % STANDIN_NOTE)
            return
        else:
            raise Exit(1, "microk8s config: invalid option -- %s" % arg)
    exit_if_no_permissions()
    with open(client_config()) as handle:
        text = handle.read()
    if not loopback:
        text = text.replace("127.0.0.1", default_ip(), 1)
    sys.stdout.write(text + "\n")


def _exec(cmd, env=None):
    sys.stdout.flush()
    try:
        os.execve(cmd[0], cmd, env or os.environ.copy())
    except OSError as error:
        raise Exit(127, "%s: %s" % (cmd[0], error.strerror), stderr=True)


def cmd_kubectl(argv):
    if has_lock("clustered.lock"):
        raise Exit(0, "This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s kubectl on the master.")
    exit_if_stopped_bash()
    if not any("--kubeconfig" in a for a in argv):
        exit_if_no_permissions()
    env = os.environ.copy()
    env["KUBECONFIG"] = os.path.join(SNAP_DATA, "credentials", "client.config")
    extra = read_args("kubectl").split()
    _exec([kubectl_bin()] + extra + list(argv), env)


def cmd_helm(argv):
    if has_lock("clustered.lock"):
        raise Exit(0, "This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s helm on the master.")
    exit_if_stopped_bash()
    _exec([helm_bin(), "--kubeconfig=%s" % client_config()] + list(argv))


def snap_tool():
    for candidate in (os.environ.get("KAAPANA_LAB_STANDIN_SNAP"),
                      os.path.join(os.path.dirname(os.path.realpath(__file__)), "snap"), "/usr/bin/snap"):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def _snap(*args, quiet=False):
    """Run the snap stand-in; its exit status (127 when there is none)."""
    tool = snap_tool()
    if not tool:
        return 127
    sys.stdout.flush()
    return subprocess.run([sys.executable, tool] + list(args),
                          stdout=subprocess.DEVNULL if quiet else None, check=False).returncode


def cmd_stop(argv):
    if has_lock("clustered.lock"):
        raise Exit(0, "This MicroK8s deployment is acting as a node in a cluster.\n"
                      "Use 'snap stop microk8s' to stop services on this node.")
    for arg in argv:
        if arg in ("-h", "--help"):
            out("Usage: microk8s stop [OPTIONS]\n\nStop Kubernetes services\n\nOptions:\n -h, --help          Show this help")
            return
        if arg != "--force":
            raise Exit(1, "microk8s stop: invalid option -- %s" % arg)
    exit_if_no_permissions()
    _snap("stop", "microk8s.daemon-kubelite", "--disable")
    _snap("stop", "microk8s", "--disable")
    set_lock("stopped.lock")
    mark_node_state(node_name() if local_state().get("role") != "standalone" or is_primary() else None, "stopped",
                    "MicroK8s was stopped (microk8s stop).")


def cmd_start(argv):
    if has_lock("clustered.lock"):
        raise Exit(0, "This MicroK8s deployment is acting as a node in a cluster.\n"
                      "Use 'snap start microk8s' to start services on this node.")
    for arg in argv:
        if arg in ("-h", "--help"):
            out("Usage: microk8s start [OPTIONS]\n\nStart Kubernetes services\n\nOptions:\n"
                " -h, --help                   Show this help\n"
                " --disable-low-memory-guard   Start MicroK8s in machines with RAM < 512MB")
            return
        if arg != "--disable-low-memory-guard":
            raise Exit(1, "microk8s start: invalid option -- %s" % arg)
    exit_if_no_permissions()
    _snap("start", "microk8s", "--enable", quiet=True)
    set_lock("stopped.lock", False)
    render_containerd_toml()
    record_running_args()
    if local_state().get("role") != "standalone" or is_primary():
        settle_node_network(node_name())


def cmd_version(argv):
    out("MicroK8s %s revision %s" % (snap_version(), snap_revision()))
    if argv and argv[0] in ("-h", "--help", "-v", "--verbose"):
        out("(%s)" % STANDIN_NOTE)


def cmd_inspect(argv):
    if argv and argv[0] in ("-h", "--help"):
        out("This script will inspect your microk8s installation. It will report any issue it finds,")
        out("and create a tarball of logs and traces which can be attached to an issue filed against")
        out("the microk8s project.\n\n(%s)" % STANDIN_NOTE)
        return
    report = os.path.join(SNAP_DATA, "inspection-report")
    shutil.rmtree(report, ignore_errors=True)
    os.makedirs(report)
    out("Inspecting system")
    out("Inspecting Certificates")
    out("Inspecting services")
    services = ["snap.microk8s.daemon-cluster-agent", "snap.microk8s.daemon-containerd",
                "snap.microk8s.daemon-kubelite", "snap.microk8s.daemon-k8s-dqlite",
                "snap.microk8s.daemon-apiserver-kicker"]
    stopped = has_lock("stopped.lock")
    for service in services:
        if stopped:
            out("\033[31m FAIL: \033[0m Service %s is not running" % service)
            out("For more details look at: sudo journalctl -u %s" % service)
        else:
            out("  Service %s is running" % service)
        os.makedirs(os.path.join(report, service), exist_ok=True)
        with open(os.path.join(report, service, "systemctl.log"), "w") as handle:
            handle.write("%s - kaapana lab stand-in\n   Active: %s\n" % (service, "inactive (dead)" if stopped
                                                                         else "active (running)"))
    out("  Copy service arguments to the final report tarball")
    shutil.copytree(os.path.join(SNAP_DATA, "args"), os.path.join(report, "args"), dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("*.sock"))
    out("  Copy processes list to the final report tarball")
    # inspect.sh store_sys: `ps -ef > $INSPECT_DUMP/sys/ps` (full command lines of every process)
    os.makedirs(os.path.join(report, "sys"), exist_ok=True)
    with open(os.path.join(report, "sys", "ps"), "w") as handle:
        handle.write(subprocess.run(["ps", "-ef"], capture_output=True, text=True, check=False).stdout if shutil.which("ps") else "")
    out("  Copy disk usage information to the final report tarball")
    out("  Copy memory usage information to the final report tarball")
    out("  Copy server uptime to the final report tarball")
    out("  Copy openSSL information to the final report tarball")
    out("  Copy snap list to the final report tarball")
    out("  Copy VM name (or none) to the final report tarball")
    out("  Copy current linux distribution to the final report tarball")
    out("  Copy asnycio usage and limits to the final report tarball")
    out("  Copy inotify max_user_instances and max_user_watches to the final report tarball")
    out("  Copy network configuration to the final report tarball")
    out("Inspecting kubernetes cluster")
    out("  Inspect kubernetes cluster")
    os.makedirs(os.path.join(report, "k8s"), exist_ok=True)
    if not stopped:
        for name, args in (("cluster-info", ["cluster-info"]), ("get-all", ["get", "all", "--all-namespaces", "-o", "wide"]),
                           ("get-nodes", ["get", "nodes", "-o", "wide"])):
            try:
                text = kubectl(*args, check=False).stdout
            except ApiError as error:
                text = str(error)
            with open(os.path.join(report, "k8s", name), "w") as handle:
                handle.write(text)
        # inspect.sh store_kubernetes_info: `kubectl cluster-info dump -A` -> k8s/cluster-info-dump: the JSON of
        # nodes, then per namespace events, replication controllers, services, daemon sets, deployments, replica
        # sets and pods (their specs with literal env values), then container logs. Same objects here; no logs
        # (KWOK pods have none, and asking the lab's fake kubelets for them only waits on timeouts).
        with open(os.path.join(report, "k8s", "cluster-info-dump"), "w") as handle:
            for args in (["get", "nodes", "-o", "json"],
                         ["get", "events,replicationcontrollers,services,daemonsets,deployments,replicasets,pods",
                          "--all-namespaces", "-o", "json"]):
                try:
                    proc = kubectl(*args, check=False)
                    handle.write(proc.stdout or proc.stderr)
                except ApiError as error:
                    handle.write(str(error) + "\n")
    out("Inspecting dqlite")
    out("  Inspect dqlite")
    with open(os.path.join(report, "kaapana-lab-standin.txt"), "w") as handle:
        handle.write(STANDIN_NOTE + "\n")
    out("")
    out("Building the report tarball")
    stamp = time.strftime("%Y%m%d_%H%M%S", time.localtime(now()))
    tarball = os.path.join(SNAP_DATA, "inspection-report-%s.tar.gz" % stamp)
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(report, arcname="inspection-report")
    out("  Report tarball is at %s/inspection-report-%s.tar.gz" % (real_snap_data(), stamp))


# ---- ctr (containerd 1.7 `ctr images import|ls|rm`) -------------------------------------------------
def images_file():
    return os.path.join(SNAP_COMMON, "var", "lib", "containerd", "kaapana-lab-standin-images.json")


def load_images():
    try:
        with open(images_file()) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def save_images(images):
    os.makedirs(os.path.dirname(images_file()), exist_ok=True)
    # written whole and renamed: the kube-helm stand-in records pulls while a playbook lists or removes images
    tmp = images_file() + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(images, handle, indent=1, sort_keys=True)
    os.replace(tmp, images_file())


class images_locked:  # pylint: disable=invalid-name
    """The image store, read under an exclusive lock and written back on leaving: one change at a time, whoever
    makes it (ctr import/rm on the node, the recorded kubelet pulls from the host)."""

    def __enter__(self):
        os.makedirs(os.path.dirname(images_file()), exist_ok=True)
        self.lock = open(images_file() + ".lock", "a")  # pylint: disable=consider-using-with
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.images = load_images()
        return self.images

    def __exit__(self, kind, value, traceback):
        try:
            if kind is None:
                save_images(self.images)
        finally:
            self.lock.close()


# STAND-IN of the kubelet's image pulls (`ctr images kaapana-lab-pull`, hidden; the kube-helm stand-in runs it with
# podman exec for the pods KWOK runs on this node). A real pull through CRI records three refs in containerd's k8s.io
# namespace, all naming one manifest (index) digest: the tag ref, the repo digest ref (NAME@sha256:...) and the image
# ID (sha256:<config digest>). Here the digest is sha256 of the normalised ref (or the ref's own digest), the size a
# number of MiB from that hash: deterministic, so tests can compute what the store holds.
PULL_TYPE = "application/vnd.oci.image.index.v1+json"
PULL_MIN_MIB, PULL_MAX_MIB = 5, 300


def pulled_refs(ref):
    """{ref: record} that a kubelet pull of ref leaves in the store."""
    name = normalize_ref(ref)
    repo, digest = (name.split("@", 1) + [None])[:2]
    if not digest:
        digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    else:
        repo = name.split("@", 1)[0]
    # a tag before the digest is not part of the repository name (name:tag@digest)
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:
        repo = repo[:len(repo) - len(last)] + last.split(":", 1)[0]
    mib = PULL_MIN_MIB + int(digest.split(":", 1)[1][:8], 16) % (PULL_MAX_MIB - PULL_MIN_MIB + 1)
    record = {"type": PULL_TYPE, "digest": digest, "size": mib * 1024 * 1024, "platforms": "linux/amd64",
              "labels": {"io.cri-containerd.image": "managed"}}
    image_id = "sha256:" + hashlib.sha256(("config:" + digest).encode()).hexdigest()
    return {ref_: dict(record) for ref_ in (name, repo + "@" + digest, image_id)}


def sandbox_image():
    """containerd's sandbox_image (the pod sandbox every pod runs in), from the containerd template."""
    match = re.search(r'^\s*sandbox_image\s*=\s*"([^"]+)"', read_args("containerd-template.toml"), re.M)
    return match.group(1) if match else "registry.k8s.io/pause:3.10"


def record_pulls(refs, sandbox=False):
    """Record what the kubelet's pulls of refs (and, with sandbox, of the sandbox image) leave in the store; refs
    already there are kept as they are (the kubelet does not pull an image present, policy IfNotPresent)."""
    wanted = list(refs) + ([sandbox_image()] if sandbox else [])
    with images_locked() as images:
        for ref in wanted:
            if normalize_ref(ref) in images:
                continue
            for name, record in pulled_refs(ref).items():
                if name not in images:
                    images[name] = record
                    out("pulled %s (%s)" % (name, record["digest"]))


def normalize_ref(ref):
    """docker reference normalisation (docker.io/library/..., :latest)."""
    name, digest = (ref.split("@", 1) + [None])[:2]
    first = name.split("/")[0]
    if "/" not in name or ("." not in first and ":" not in first and first != "localhost"):
        name = ("docker.io/library/" + name) if "/" not in name else "docker.io/" + name
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    return name + ("@" + digest if digest else "")


def progress_bytes(size):
    """containerd's progress.Bytes (go-units CustomSize "%02.1f %s", base 1024)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    value, i = float(size), 0
    while value >= 1024 and i < len(units) - 1:
        value /= 1024
        i += 1
    return "%.1f %s" % (value, units[i])


def _tar_json(archive, name):
    try:
        member = archive.getmember(name)
    except KeyError:
        return None, 0
    data = archive.extractfile(member).read()
    return json.loads(data.decode()), len(data)


def import_archive(path, base_name=None):
    try:
        archive = tarfile.open(path if path != "-" else None, fileobj=sys.stdin.buffer if path == "-" else None)
    except (OSError, tarfile.TarError) as error:
        raise Exit(1, "ctr: %s" % error, stderr=True)
    found = []
    with archive:
        index, dummy = _tar_json(archive, "index.json")
        manifest, dummy = _tar_json(archive, "manifest.json")
        sizes = {m.name: m.size for m in archive.getmembers()}
        if manifest:
            for entry in manifest:
                raw = json.dumps(entry, sort_keys=True).encode()
                digest = "sha256:" + hashlib.sha256(raw).hexdigest()
                config, dummy = _tar_json(archive, entry.get("Config", ""))
                platform = "%s/%s" % ((config or {}).get("os", "linux"), (config or {}).get("architecture", "amd64"))
                size = sum(sizes.get(layer, 0) for layer in entry.get("Layers", [])) + sizes.get(entry.get("Config", ""), 0)
                for tag in entry.get("RepoTags") or []:
                    found.append((normalize_ref(tag), "application/vnd.docker.distribution.manifest.v2+json",
                                  digest, size, platform))
        elif index:
            for desc in index.get("manifests", []):
                ann = desc.get("annotations") or {}
                name = ann.get("io.containerd.image.name")
                ref = ann.get("org.opencontainers.image.ref.name")
                if not name and ref:
                    name = normalize_ref(ref) if ("/" in ref or ":" in ref) else \
                        "%s:%s" % (base_name or "import-%s" % time.strftime("%Y-%m-%d", time.localtime(now())), ref)
                if not name:
                    continue
                blob = "blobs/" + desc.get("digest", "").replace(":", "/")
                size = desc.get("size", 0) + sizes.get(blob, 0)
                plat = desc.get("platform") or {}
                platform = "%s/%s" % (plat.get("os", "linux"), plat.get("architecture", "amd64"))
                found.append((name, desc.get("mediaType", "application/vnd.oci.image.manifest.v1+json"),
                              desc.get("digest", ""), size, platform))
        else:
            raise Exit(1, "ctr: unrecognized image format", stderr=True)
    with images_locked() as images:
        for name, media, digest, size, platform in found:
            if base_name and not name.startswith(base_name):
                continue
            images[name] = {"type": media, "digest": digest, "size": size, "platforms": platform,
                            "labels": {"io.cri-containerd.image": "managed"}}
            sys.stdout.write("unpacking %s (%s)..." % (name, digest))
            out("done")


def cmd_ctr(argv):
    exit_if_no_permissions()
    args = list(argv)
    # drop global flags (the stand-in has a single k8s.io namespace)
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag in ("-n", "--namespace", "-a", "--address") and args:
            args.pop(0)
        elif flag in ("-h", "--help"):
            out("NAME:\n   ctr - \n        __\n  _____/ /______\n / ___/ __/ ___/\n/ /__/ /_/ /\n\\___/\\__/_/\n\n"
                "containerd CLI\n\n(%s: supports `images import|ls|rm`, `version`)" % STANDIN_NOTE)
            return
    if not args:
        raise Exit(1, "ctr: no command given (kaapana lab stand-in supports images import|ls|rm, version)", stderr=True)
    if args[0] == "version":
        out("Client:\n  Version:  v1.7.29\n  Revision: kaapana-lab-standin\n  Go version: go1.24.4\n")
        out("Server:\n  Version:  v1.7.29\n  Revision: kaapana-lab-standin\n  UUID: kaapana-lab-standin")
        return
    if args[0] not in ("images", "image", "i"):
        raise Exit(1, "ctr: kaapana lab stand-in does not implement `ctr %s`" % args[0], stderr=True)
    sub = args[1] if len(args) > 1 else "ls"
    rest = args[2:]
    if sub == "import":
        base_name, files = None, []
        i = 0
        while i < len(rest):
            arg = rest[i]
            if arg.startswith("--base-name"):
                if "=" in arg:
                    base_name = arg.split("=", 1)[1]
                else:
                    i += 1
                    base_name = rest[i] if i < len(rest) else None
            elif arg in ("--platform", "--index-name", "--snapshotter"):
                i += 1
            elif not arg.startswith("-") or arg == "-":
                files.append(arg)
            i += 1
        if not files:
            raise Exit(1, "ctr: please provide an input file", stderr=True)
        import_archive(files[0], base_name)
    elif sub in ("ls", "list"):
        images = load_images()
        quiet = "-q" in rest or "--quiet" in rest
        filters = [a for a in rest if not a.startswith("-")]
        names = sorted(n for n in images if not filters or any(_ctr_filter(n, f) for f in filters))
        if quiet:
            for name in names:
                out(name)
            return
        rows = ["REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS\t"]
        for name in names:
            image = images[name]
            labels = ",".join("%s=%s" % kv for kv in sorted(image.get("labels", {}).items())) or "-"
            rows.append("%s\t%s\t%s\t%s\t%s\t%s\t" % (name, image["type"], image["digest"], progress_bytes(image["size"]),
                                                      image.get("platforms") or "-", labels))
        for line in tabwrite(rows, 1, 1):
            out(line)
    elif sub in ("rm", "remove"):
        with images_locked() as images:
            for ref in [a for a in rest if not a.startswith("-")]:
                if ref in images:
                    del images[ref]
                    out(ref)
                else:
                    # containerd 1.7: a ref not found is a warning, not an error (exit 0)
                    err('time="%s" level=warning msg="%s: image not found"'
                        % (time.strftime("%Y-%m-%dT%H:%M:%S"), ref))
    elif sub == "kaapana-lab-pull":
        # hidden: the kube-helm stand-in's record of the kubelet's pulls (see record_pulls)
        record_pulls([a for a in rest if not a.startswith("-")], sandbox="--sandbox" in rest)
    else:
        raise Exit(1, "ctr: kaapana lab stand-in does not implement `ctr images %s`" % sub, stderr=True)


def _ctr_filter(name, filt):
    match = re.match(r"name(==|~=|!=)(.*)", filt)
    if not match:
        return name == filt
    op, value = match.groups()
    value = value.strip('"')
    if op == "==":
        return name == value
    if op == "!=":
        return name != value
    return re.search(value, name) is not None


# ---- refresh-certs (scripts/wrappers/refresh_certs.py, wrappers/microk8s-refresh-certs.wrapper) ---------
REFRESH_CERTS = (("ca.crt", "CA"), ("server.crt", "server"), ("front-proxy-client.crt", "front proxy client"))
REFRESH_CERTS_PROG = "refresh_certs.py"  # click's program name: the script's file name
NO_CA_REFRESH = ("kaapana lab stand-in: `microk8s refresh-certs` does not implement replacing the CA (ca.crt): on "
                 "the lab's nodes certs/ca.crt is the lab CA, whose key is not on the nodes. "
                 "server.crt and front-proxy-client.crt can be refreshed.")


def is_root():
    """Root as the snap stand-in judges it: the effective uid, and a fake root always counts as root --
    unless KAAPANA_LAB_STANDIN_EUID (tests, fake root only) names another uid."""
    if ROOT in ("", "/"):
        return os.geteuid() == 0
    return (os.environ.get("KAAPANA_LAB_STANDIN_EUID") or "0").strip() == "0"


def exit_if_no_root():
    """common/utils.py exit_if_no_root (click.echo, stdout)."""
    if not is_root():
        raise Exit(50, "Elevated permissions is needed for this operation. Please run this command with sudo.")


class ClickUsage(Exception):
    """A click 7.0 usage error (the snap's python3-click, Ubuntu 20.04): usage line, blank line, `Error: ...` on
    stderr, exit 2."""


def parse_refresh_certs(argv):
    """click 7.0's parser for refresh_certs.py: flags -u/--undo, -c/--check, -h/--help (the command's own, so click
    adds no --help and prints no "Try ... for help" hint), -e/--cert CHOICE, optional argument CA_DIR
    (click.Path(exists=True)); options and the argument may be mixed, `--` ends the options."""
    flags = {"-u": "undo", "--undo": "undo", "-c": "check", "--check": "check", "-h": "help", "--help": "help"}
    longs = ("--undo", "--check", "--cert", "--help")
    opts = {"undo": False, "check": False, "cert": None, "help": False}
    positional = []
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            positional += rest
            break
        if arg[:1] != "-" or len(arg) < 2:
            positional.append(arg)
            continue
        name, equals, value = arg.partition("=")
        if name in longs or arg.startswith("--"):
            if name not in longs:
                matches = sorted(word for word in longs if word.startswith(name))
                hint = ("  Did you mean %s?" % matches[0] if len(matches) == 1 else
                        "  (Possible options: %s)" % ", ".join(matches) if matches else "")
                raise ClickUsage("no such option: %s%s" % (name, hint))
            if name == "--cert":
                if not equals:
                    if not rest:
                        raise ClickUsage("%s option requires an argument" % name)
                    value = rest.pop(0)
                opts["cert"] = value
            elif equals:
                raise ClickUsage("%s option does not take a value" % name)
            else:
                opts[flags[name]] = True
            continue
        for index in range(1, len(arg)):
            opt = "-" + arg[index]
            if opt in flags:
                opts[flags[opt]] = True
            elif opt == "-e":
                value = arg[index + 1:]
                if not value:
                    if not rest:
                        raise ClickUsage("-e option requires an argument")
                    value = rest.pop(0)
                opts["cert"] = value
                break
            else:
                raise ClickUsage("no such option: %s" % opt)
    names = [name for name, _title in REFRESH_CERTS]
    if opts["cert"] is not None and opts["cert"] not in names:
        raise ClickUsage('Invalid value for "-e" / "--cert": invalid choice: %s. (choose from %s)'
                         % (opts["cert"], ", ".join(names)))
    ca_dir = positional.pop(0) if positional else None
    if ca_dir is not None and not os.path.exists(ca_dir):  # the caller's path, as `ctr images import` takes it
        raise ClickUsage('Invalid value for "[CA_DIR]": Path "%s" does not exist.' % ca_dir)
    if positional:
        raise ClickUsage("Got unexpected extra argument%s (%s)" % ("s" if len(positional) != 1 else "",
                                                                   " ".join(positional)))
    return ca_dir, opts


def refresh_certs_help():
    return ("Usage: microk8s refresh-certs [OPTIONS] [CA_DIR]\n\n"
            "  Replace the CA certificates with the ca.crt and ca.key found in CA_DIR.\n"
            "  Omit the CA_DIR argument and use the '--cert' flag to auto-generate a new CA\n"
            "  or any other certificate.\n\n"
            "Options:\n"
            "  -c, --check  Check the expiration time of the installed certificates\n"
            "  -e, --cert   The certificate to be autogenerated, must be one of %s\n"
            "  -u, --undo   Revert the last refresh performed\n"
            "  -h, --help       Show this message and exit." % [name for name, _title in REFRESH_CERTS])


def backup_dir():
    return os.path.join(SNAP_DATA, "certs-backup") + "/"


def shown_backup_dir():
    return "%s/certs-backup/" % real_snap_data()


def check_certificates():
    """refresh_certs.py check_certificate: `openssl.wrapper x509 -enddate -noout -in certs/<file>` for each file;
    the days are (notAfter - now).days on the stand-in's clock. A failing openssl (missing or unreadable file) ends
    the list with the CalledProcessError's text, exit 4."""
    for name, title in REFRESH_CERTS:
        proc = openssl("x509", "-enddate", "-noout", "-in", cert_path(name), stdout=subprocess.PIPE)
        if proc.returncode != 0:
            shown = ["%s/openssl.wrapper" % real_snap(), "x509", "-enddate", "-noout", "-in",
                     "%s/certs/%s" % (real_snap_data(), name)]
            raise Exit(4, "Failed to get certificate info. %s" % subprocess.CalledProcessError(proc.returncode, shown))
        days = int((openssl_time(proc.stdout.split("=", 1)[1]) - now()) // 86400)
        out("The %s certificate will expire in %d days." % (title, days))


def _cp_r(source, target, shown):
    proc = subprocess.run(["cp", "-r", source, target], stdin=subprocess.DEVNULL, check=False)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, ["cp", "-r"] + shown)


def take_backup():
    """refresh_certs.py take_backup: certs/ and credentials/ copied into certs-backup/ (`cp -r`, so a second backup
    is copied over the first)."""
    data = real_snap_data()
    try:
        os.makedirs(backup_dir(), exist_ok=True)
        _cp_r(CERTS_DIR, backup_dir(), ["%s/certs" % data, shown_backup_dir()])
        _cp_r(os.path.join(SNAP_DATA, "credentials"), backup_dir(), ["%s/credentials" % data, shown_backup_dir()])
    except (subprocess.CalledProcessError, OSError) as error:
        raise Exit(10, "Failed to backup the current CA. %s" % error) from error


def restart_daemon(service):
    """refresh_certs.py restart(service): `snapctl restart microk8s.daemon-<service>`, here `snap restart` of the
    snap stand-in (quiet: snapctl prints nothing), which runs the services-started hook as every (re)start does
    (args files re-read, CNI image pulled, Node settled). A restarted kubelite stops posting the Node's status for a
    moment: like `microk8s stop`, the stand-in labels the Node kaapana.lab/standin-state=restarting and posts
    Ready=Unknown right before the restart; the services-started hook removes the label and KWOK makes the Node
    Ready again (after its kwok.test/ready-after delay)."""
    out("Restarting service %s." % service)
    if service == "kubelite" and (local_state().get("role") != "standalone" or is_primary()):
        mark_node_state(node_name(), "restarting", "Kubelet stopped posting node status.")
    if _snap("restart", "microk8s.daemon-%s" % service, quiet=True) != 0:
        raise Exit(4, "Failed to restart service microk8s.daemon-%s." % service)


def restart_all():
    """refresh_certs.py restart(): the stop wrapper (its failure ignored), then the start wrapper."""
    out("Restarting, please wait.")
    for command in (cmd_stop, cmd_start):
        try:
            command([])
        except Exit as exit_:
            if exit_.message:
                (err if exit_.stderr else out)(exit_.message)
            if exit_.code and command is cmd_start:
                raise Exit(4, "Failed to start MicroK8s after reverting the certificates") from exit_


def undo_refresh():
    """refresh_certs.py undo_refresh: the backup's certs/ and credentials/ copied back over the current ones, then
    MicroK8s restarted."""
    if not os.path.exists(backup_dir()):
        raise Exit(1, "No previous backup found")
    try:
        _cp_r(os.path.join(backup_dir(), "certs"), SNAP_DATA + "/", [])
        _cp_r(os.path.join(backup_dir(), "credentials"), SNAP_DATA, [])
    except subprocess.CalledProcessError as error:
        raise Exit(4, "Failed to recover certificates") from error
    restart_all()


def refresh_cert(cert):
    """refresh_certs.py refresh_cert for server.crt and front-proxy-client.crt: backup, `rm` of the certificate,
    refresh_csr_conf (the node's current addresses) and gen_server_cert/gen_proxy_client_cert (their keys are kept),
    then the restarts; a failed openssl reverts to the backup (exit 20)."""
    out("Taking a backup of the current certificates under %s" % shown_backup_dir())
    take_backup()
    out("Creating new certificates")
    target = cert_path(cert)
    if os.path.exists(target):
        os.remove(target)
    refresh_csr_conf()
    proc = gen_server_cert() if cert == "server.crt" else gen_proxy_client_cert()
    if proc.returncode != 0:
        out("Failed to produce new certificates. Reverting.")
        undo_refresh()
        raise Exit(20)
    restart_daemon("kubelite")
    if cert == "server.crt":
        restart_daemon("cluster-agent")


def cmd_refresh_certs(argv):
    if has_lock("clustered.lock"):
        raise Exit(0, "This MicroK8s deployment is acting as a node in a cluster. Please use the microk8s "
                      "refresh-certs command on the master\nand then return to this node to perform a microk8s "
                      "leave and re-join.")
    try:
        ca_dir, opts = parse_refresh_certs(argv)
    except ClickUsage as error:
        raise Exit(2, "Usage: %s [OPTIONS] [CA_DIR]\n\nError: %s" % (REFRESH_CERTS_PROG, error), stderr=True) from error
    if opts["help"]:
        raise Exit(0, refresh_certs_help())
    if ca_dir is not None and (opts["undo"] or opts["check"] or opts["cert"]):
        raise Exit(1, "Please do not set any options in combination with the CA_DIR.")
    if sum(1 for op in (opts["undo"], opts["check"], opts["cert"]) if op) > 1:
        raise Exit(2, "Please select only one of the options -c, -u or -e.")
    exit_if_no_root()
    ensure_certs()
    if opts["check"]:
        check_certificates()
        return
    if opts["undo"]:
        undo_refresh()
        return
    if ca_dir is None and not opts["cert"]:
        raise Exit(3, "Please use the '--cert' flag to select the certificate you need refreshed.\n\n"
                      "Available certificate options:\n"
                      "'server.crt': refreshes the server certificate\n"
                      "'front-proxy-client.crt': refreshes the front proxy client certificate\n"
                      "'ca.crt': refreshes the root CA and all certificates created from it.\n"
                      "            Warning: refreshing the root CA requires nodes to leave and re-join the cluster")
    if ca_dir is not None or opts["cert"] == "ca.crt":
        raise Exit(1, NO_CA_REFRESH, stderr=True)
    refresh_cert(opts["cert"])


# ---- dispatch ------------------------------------------------------------------------------------------
WRAPPERS = ["add-node", "addons", "config", "ctr", "dashboard-proxy", "dbctl", "disable", "enable", "helm", "helm3",
            "images", "istioctl", "join", "kubectl", "leave", "linkerd", "refresh-certs", "remove-node", "reset",
            "start", "status", "stop", "version"]


def help_text():
    lines = ["Available subcommands are:"] + ["\t%s" % w for w in WRAPPERS] + ["\tinspect"]
    lines.append("(%s)" % STANDIN_NOTE)
    return "\n".join(lines)


def dispatch(app, argv):
    commands = {
        "status": cmd_status, "enable": lambda a: cmd_xable("enable", a), "disable": lambda a: cmd_xable("disable", a),
        "add-node": cmd_add_node, "join": cmd_join, "leave": cmd_leave, "remove-node": cmd_remove_node,
        "config": cmd_config, "kubectl": cmd_kubectl, "helm": cmd_helm, "helm3": cmd_helm, "ctr": cmd_ctr,
        "start": cmd_start, "stop": cmd_stop, "version": cmd_version, "inspect": cmd_inspect,
        "refresh-certs": cmd_refresh_certs,
    }
    if app in commands:
        return commands[app](argv)
    if app in WRAPPERS:
        raise Exit(1, "kaapana lab stand-in: `microk8s %s` is not implemented by the stand-in" % app, stderr=True)
    if app in ("help", "--help", "-h"):
        out(help_text())
        return None
    raise Exit(1, "'%s' is not a valid MicroK8s subcommand.\n%s" % (app, help_text()))


def main(argv):
    path = argv[0] if argv else "microk8s"
    prog = os.path.basename(path)
    # snap aliases (e.g. /snap/bin/kubectl -> microk8s.kubectl) are symlinks to the app's command
    for _hop in range(5):
        if prog.startswith("microk8s") or not os.path.islink(path):
            break
        path = os.path.join(os.path.dirname(path), os.readlink(path))
        prog = os.path.basename(path)
    args = argv[1:]
    try:
        if args[:1] == ["--kaapana-lab-hook"]:
            hook = args[1] if len(args) > 1 else ""
            if hook == "install":
                hook_install()
            elif hook == "remove":
                hook_remove()
            elif hook == "post-refresh":
                render_containerd_toml()
                ensure_certs()
            elif hook == "launch-addons" and has_lock("installed.lock"):
                apply_pending_launch_addons()
            elif hook == "services-stopped" and has_lock("installed.lock"):
                # a snap refresh stops kubelite: the Node stops posting status until the new revision runs
                if local_state().get("role") != "standalone" or is_primary():
                    mark_node_state(node_name(), "restarting", "Kubelet stopped posting node status.")
            elif hook == "services-started" and has_lock("installed.lock"):
                record_running_args()
                if local_state().get("role") != "standalone" or is_primary():
                    report_kubelet_version(node_name())
                    shorten_ready_delay(node_name())
                    settle_node_network(node_name())
            return 0
        if has_lock("installed.lock") and os.access(os.path.join(SNAP_DATA, "var"), os.W_OK):
            apply_pending_launch_addons()
        if prog.startswith("microk8s.") and prog != "microk8s.wrapper":
            dispatch(prog.split(".", 1)[1], args)
        elif not args:
            out(help_text())
            return 1
        else:
            dispatch(args[0], args[1:])
    except Exit as exit_:
        if exit_.message:
            (err if exit_.stderr else out)(exit_.message)
        return exit_.code
    except ApiError as error:
        err("kaapana lab stand-in: the lab API call failed: %s" % error)
        return 1
    return 0


def run():
    """Entry point of the `microk8s` executable (argv[0] names the command, as snap's aliases do)."""
    run_main(main, sys.argv)
