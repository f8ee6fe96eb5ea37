{{- /*
Longhorn Node objects (nodes.longhorn.io) for the Kubernetes nodes in lab.nodes. Real Longhorn's
manager creates one per node with a default disk "default-disk-<fsid>" at the default data path;
no manager runs here (a hook cannot run code under KWOK), so the chart creates them from the
list. Entries: "name" or {name, fsid, path, tags, allowScheduling}.
*/ -}}
{{- $dataPath := include "longhorn.setting" (list .Values.defaultSettings.defaultDataPath "/var/lib/longhorn/") -}}
{{- range $n := .Values.lab.nodes }}
{{- $node := ternary (dict "name" $n) $n (kindIs "string" $n) }}
{{- $disk := printf "default-disk-%s" ($node.fsid | default "lab" | toString) }}
---
apiVersion: longhorn.io/v1beta2
kind: Node
metadata:
  name: {{ $node.name }}
  namespace: {{ $.Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" $ | nindent 4 }}
spec:
  name: {{ $node.name }}
  allowScheduling: {{ ternary true $node.allowScheduling (kindIs "invalid" $node.allowScheduling) }}
  evictionRequested: false
  instanceManagerCPURequest: 0
  tags: []
  disks:
    {{ $disk }}:
      path: {{ $node.path | default $dataPath | quote }}
      allowScheduling: true
      evictionRequested: false
      diskType: filesystem
      storageReserved: 0
      tags: {{ $node.tags | default list | toJson }}
{{- end }}
