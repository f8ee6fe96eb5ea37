{{- /*
As Kaapana's kaapana-library-chart templates/_nodeSelector.tpl (release 0.6.x): every pod that mounts
a Kaapana PVC is pinned to the node labelled kaapana.io/node=<global.storage_node> (the main node).
*/ -}}
{{- define "kaapana.nodeSelector" }}
nodeSelector:
  kaapana.io/node: {{ .Values.global.storage_node | quote }}
{{- end }}
