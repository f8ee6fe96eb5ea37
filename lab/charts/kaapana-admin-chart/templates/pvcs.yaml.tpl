{{- /*
The admin namespace's PVCs: kube-helm's extensions cache (mounted by kube-helm and its init Jobs) and
cert-init-chart's tls-pv-claim (its dynamicVolumes "tls": fast class, 10Gi; mounted at /cert/tls by the
cert-init and cert-copy Jobs, where handle-secret.sh looks for an admin's tls.crt/tls.key). The
services namespace's claims are made by kaapana-platform-chart, which kube-helm installs afterwards.
*/ -}}
{{- $g := .Values.global -}}
{{ include "kaapana.pvc" (dict "root" . "name" "extensions-pv-claim" "namespace" $g.admin_namespace "class" $g.storage_class_fast "size" "10Gi" "mode" "ReadWriteOnce" "kind" "fast") }}
---
{{ include "kaapana.pvc" (dict "root" . "name" "tls-pv-claim" "namespace" $g.admin_namespace "class" $g.storage_class_fast "size" "10Gi" "mode" "ReadWriteOnce" "kind" "fast") }}
