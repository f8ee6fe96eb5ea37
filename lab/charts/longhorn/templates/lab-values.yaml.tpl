{{- /* LAB ONLY: what the chart received, for assertions. */ -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: longhorn-lab-values
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
data:
  values.json: {{ toJson .Values | quote }}
  release.name: {{ .Release.Name | quote }}
  release.namespace: {{ .Release.Namespace | quote }}
  chart.version: {{ .Chart.Version | quote }}
  kube.version: {{ .Capabilities.KubeVersion.Version | quote }}
  kubelet-root-dir: {{ include "longhorn.kubeletRootDir" . | quote }}
