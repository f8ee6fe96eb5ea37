{{- /*
Platform namespaces. As in Kaapana the chart does not compute INSTANCE_UID prefixes: kaapanactl.sh
passes services/extensions already prefixed ("<uid>-services"), admin stays shared, and the
release itself goes to "<uid>-default". Every namespace is kept on uninstall
(helm.sh/resource-policy: keep), like Kaapana's admin/services/extensions/project namespaces.
*/ -}}
{{- $g := .Values.global -}}
{{- $namespaces := list $g.admin_namespace $g.services_namespace $g.extensions_namespace .Values.lab.projectNamespace | uniq -}}
{{- range $ns := $namespaces }}
---
apiVersion: v1
kind: Namespace
metadata:
  name: {{ $ns | quote }}
  labels:
    {{- include "kaapana.labels" $ | nindent 4 }}
  annotations:
    helm.sh/resource-policy: keep
    kaapana.io/instance-uid: {{ $g.instance_uid | quote }}
{{- end }}
