{{- /*
The admin namespace's PVC (kube-helm's extensions cache, mounted by kube-helm and its init Jobs). The
services namespace's claims are made by kaapana-platform-chart, which kube-helm installs afterwards.
*/ -}}
{{- $g := .Values.global -}}
{{ include "kaapana.pvc" (dict "root" . "name" "extensions-pv-claim" "namespace" $g.admin_namespace "class" $g.storage_class_fast "size" "10Gi" "mode" "ReadWriteOnce" "kind" "fast") }}
