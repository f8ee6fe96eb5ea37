{{- /*
The services namespace's PVCs: postgres (fast class), minio (slow class, global.volume_slow_data) and
the workflow data (workflow class, ReadWriteMany unless that is the hostpath fast class). Kept on
uninstall (helm.sh/resource-policy: keep), so data survives an undeploy.
*/ -}}
{{- $g := .Values.global -}}
{{- $claims := list
  (dict "name" "postgres-pv-claim" "namespace" $g.services_namespace "class" $g.storage_class_fast "size" "10Gi" "mode" "ReadWriteOnce" "kind" "fast")
  (dict "name" "minio-pv-claim" "namespace" $g.services_namespace "class" $g.storage_class_slow "size" $g.volume_slow_data "mode" "ReadWriteOnce" "kind" "slow")
  (dict "name" "workflow-data-pv-claim" "namespace" $g.services_namespace "class" $g.storage_class_workflow "size" "10Gi" "mode" (include "kaapana.workflowAccessMode" .) "kind" "workflow")
-}}
{{- range $c := $claims }}
---
{{ include "kaapana.pvc" (merge (dict "root" $) $c) }}
{{- end }}
