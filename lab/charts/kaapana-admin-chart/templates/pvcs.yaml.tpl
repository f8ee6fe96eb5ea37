{{- /*
PVCs as Kaapana's dynamic volumes (kaapana-library-chart _dynamicPersistentVolumes.tpl) make them:
fast -> global.storage_class_fast; slow -> global.storage_class_slow sized global.volume_slow_data;
workflow -> global.storage_class_workflow, ReadWriteMany unless that class is the hostpath fast
class. All kept on uninstall (helm.sh/resource-policy: keep), so data survives an undeploy.
*/ -}}
{{- $g := .Values.global -}}
{{- $workflowMode := ternary "ReadWriteOnce" "ReadWriteMany" (eq $g.storage_class_workflow "kaapana-hostpath-fast-data-dir") -}}
{{- $claims := list
  (dict "name" "extensions-pv-claim" "namespace" $g.admin_namespace "class" $g.storage_class_fast "size" "10Gi" "mode" "ReadWriteOnce" "kind" "fast")
  (dict "name" "postgres-pv-claim" "namespace" $g.services_namespace "class" $g.storage_class_fast "size" "10Gi" "mode" "ReadWriteOnce" "kind" "fast")
  (dict "name" "minio-pv-claim" "namespace" $g.services_namespace "class" $g.storage_class_slow "size" $g.volume_slow_data "mode" "ReadWriteOnce" "kind" "slow")
  (dict "name" "workflow-data-pv-claim" "namespace" $g.services_namespace "class" $g.storage_class_workflow "size" "10Gi" "mode" $workflowMode "kind" "workflow")
-}}
{{- range $c := $claims }}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ $c.name }}
  namespace: {{ $c.namespace | quote }}
  labels:
    {{- include "kaapana.labels" $ | nindent 4 }}
    kaapana.io/storage: {{ $c.kind }}
  annotations:
    helm.sh/resource-policy: keep
spec:
  storageClassName: {{ $c.class | quote }}
  accessModes:
    - {{ $c.mode }}
  resources:
    requests:
      storage: {{ $c.size | quote }}
{{- end }}
