#!/usr/bin/env bash
# Builds the lab's real Kubernetes components from Go modules into a cache keyed by version.
# Each component lands in $KAAPANA_LAB_CACHE/<component>-<version>/bin; a present, complete
# folder is never rebuilt, so a second `lab up` costs nothing here.
set -euo pipefail

CACHE=${KAAPANA_LAB_CACHE:-/var/cache/kaapana-lab}
K8S_VERSION=${LAB_K8S_VERSION:-v1.34.4}
ETCD_VERSION=${LAB_ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${LAB_KWOK_VERSION:-v0.8.0}
HELM_VERSION=${LAB_HELM_VERSION:-v3.21.4}
# Helm 4 beside Helm 3: the helm snap's latest/stable is Helm 4 today, and the modules support both majors.
HELM4_VERSION=${LAB_HELM4_VERSION:-v4.3.2}

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath
# The Go build cache and module cache live beside the binaries so that a cleared
# $HOME does not force a cold rebuild.
export GOMODCACHE=${GOMODCACHE:-$CACHE/go/mod} GOCACHE=${GOCACHE:-$CACHE/go/build}
JOBS=${LAB_GO_JOBS:-2}
mkdir -p "$CACHE"

log() { printf '[lab-build] %s\n' "$*" >&2; }

# done_marker <dir>: the folder is complete only when the marker exists (a killed build leaves none).
built() { [ -f "$1/.complete" ]; }

build_k8s() {
  local out=$CACHE/kubernetes-$K8S_VERSION
  built "$out" && return 0
  log "building Kubernetes $K8S_VERSION (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl); cold builds take 15-30 min"
  local staging=v0${K8S_VERSION#v1} minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  local src=$CACHE/src/kubernetes-$K8S_VERSION
  rm -rf "$src"; mkdir -p "$src" "$out/bin"
  local gomod
  gomod=$(cd "$src" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
  (
    cd "$src"
    go mod init local/k8s-build >/dev/null 2>&1
    # Every staging module is required at v0.0.0 upstream and replaced locally; point each at its tagged twin.
    for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*#\1#p' "$gomod"); do
      go mod edit -replace="$m=$m@$staging"
    done
    go mod edit -godebug=default=go1.24
    go get "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
    go get k8s.io/kubernetes/cmd/kube-apiserver@"$K8S_VERSION" k8s.io/kubernetes/cmd/kube-controller-manager@"$K8S_VERSION" \
           k8s.io/kubernetes/cmd/kube-scheduler@"$K8S_VERSION" k8s.io/kubernetes/cmd/kubectl@"$K8S_VERSION" >/dev/null
    local d ldf="-s -w"
    d=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    # Stamp the version as hack/lib/version.sh does; Helm's kubeVersion checks read it.
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldf+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$d"
    done
    go build -p "$JOBS" -ldflags "$ldf" -o "$out/bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
  )
  "$out/bin/kube-apiserver" --version
  touch "$out/.complete"
}

build_etcd() {
  local out=$CACHE/etcd-$ETCD_VERSION
  built "$out" && return 0
  log "building etcd $ETCD_VERSION"
  local src=$CACHE/src/etcd-$ETCD_VERSION
  rm -rf "$src"; mkdir -p "$src" "$out/bin"
  (
    cd "$src"
    go mod init local/etcd-build >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/etcdctl/v3@$ETCD_VERSION" >/dev/null
    go build -p "$JOBS" -ldflags "-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
    go build -p "$JOBS" -ldflags "-s -w" -o "$out/bin/etcdctl" go.etcd.io/etcd/etcdctl/v3
  )
  "$out/bin/etcd" --version | head -1
  touch "$out/.complete"
}

build_kwok() {
  local out=$CACHE/kwok-$KWOK_VERSION
  built "$out" && return 0
  log "building kwok $KWOK_VERSION"
  mkdir -p "$out/bin"
  GOBIN=$out/bin go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # Keep the upstream default stage files beside the binary; the lab's kwok config is assembled from them.
  rm -rf "$out/stage"
  cp -r "$GOMODCACHE/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage" "$out/stage"
  chmod -R u+w "$out/stage"
  touch "$out/.complete"
}

build_helm() {
  local out=$CACHE/helm-$HELM_VERSION
  built "$out" && return 0
  log "building helm $HELM_VERSION"
  mkdir -p "$out/bin"
  local minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  GOBIN=$out/bin go install -ldflags "-s -w \
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  "$out/bin/helm" version --short
  touch "$out/.complete"
}

# Helm 4 takes its default Kubernetes version from the client-go it is built with (no -X variables for it).
build_helm4() {
  local out=$CACHE/helm-$HELM4_VERSION
  built "$out" && return 0
  log "building helm $HELM4_VERSION"
  mkdir -p "$out/bin"
  GOBIN=$out/bin go install -ldflags "-s -w \
    -X helm.sh/helm/v4/internal/version.version=$HELM4_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    "helm.sh/helm/v4/cmd/helm@$HELM4_VERSION"
  "$out/bin/helm" version --short
  touch "$out/.complete"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(etcd kwok helm helm4 k8s)
for t in "${targets[@]}"; do
  start=$(date +%s)
  "build_$t"
  log "$t ready in $(( $(date +%s) - start ))s"
done
