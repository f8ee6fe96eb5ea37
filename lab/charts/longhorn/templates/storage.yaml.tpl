{{- /*
Real Longhorn renders the class into ConfigMap longhorn-storageclass and its manager creates the
StorageClass from it; no manager runs here, so the chart creates the StorageClass too.
*/ -}}
{{- define "longhorn.storageclass" -}}
{{- $p := .Values.persistence -}}
kind: StorageClass
apiVersion: storage.k8s.io/v1
metadata:
  name: longhorn
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
  annotations:
    storageclass.kubernetes.io/is-default-class: {{ $p.defaultClass | toString | quote }}
provisioner: driver.longhorn.io
allowVolumeExpansion: true
reclaimPolicy: {{ $p.reclaimPolicy | quote }}
volumeBindingMode: {{ $p.volumeBindingMode | default "Immediate" }}
parameters:
  numberOfReplicas: {{ $p.defaultClassReplicaCount | toString | quote }}
  staleReplicaTimeout: "30"
  fromBackup: ""
  {{- with $p.defaultFsType }}
  fsType: {{ . | quote }}
  {{- end }}
  {{- with $p.defaultMkfsParams }}
  mkfsParams: {{ . | quote }}
  {{- end }}
  {{- if $p.migratable }}
  migratable: {{ $p.migratable | toString | quote }}
  {{- end }}
  {{- if $p.recurringJobSelector.enable }}
  {{- /* as the real chart: the value as Go prints it, so only a JSON string gives valid JSON */}}
  recurringJobSelector: '{{ $p.recurringJobSelector.jobList }}'
  {{- end }}
  dataLocality: {{ $p.defaultDataLocality | quote }}
  {{- if $p.defaultDiskSelector.enable }}
  diskSelector: {{ $p.defaultDiskSelector.selector | quote }}
  {{- end }}
  {{- if $p.defaultNodeSelector.enable }}
  nodeSelector: {{ $p.defaultNodeSelector.selector | quote }}
  {{- end }}
  {{- if $p.unmapMarkSnapChainRemoved }}
  unmapMarkSnapChainRemoved: {{ $p.unmapMarkSnapChainRemoved | quote }}
  {{- end }}
  {{- if $p.disableRevisionCounter }}
  disableRevisionCounter: {{ $p.disableRevisionCounter | toString | quote }}
  dataEngine: {{ $p.dataEngine | quote }}
  {{- end }}
  {{- if $p.backupTargetName }}
  backupTargetName: {{ $p.backupTargetName | quote }}
  {{- end }}
{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: longhorn-storageclass
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
data:
  storageclass.yaml: |
    {{- include "longhorn.storageclass" . | nindent 4 }}
---
{{ include "longhorn.storageclass" . }}
