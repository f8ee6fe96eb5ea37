{{/* LAB FIXTURE helpers (own code). */}}
{{- define "gpu-operator.labels" -}}
app.kubernetes.io/name: gpu-operator
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
kaapana.io/lab-fixture: "true"
{{- end }}

{{/* true / "true" -> "true"; anything else -> "" (MicroK8s passes the flags as strings) */}}
{{- define "gpu-operator.on" -}}
{{- if eq (toString .) "true" }}true{{ end -}}
{{- end }}

{{/*
A workload. dict: root, kind, name, app, image (repository/image/version map), env, gpuOnly
(nodeSelector lab.gpuNodeSelector + daemonset tolerations), component
*/}}
{{- define "gpu-operator.workload" -}}
{{- $root := .root -}}
{{- $i := .image -}}
apiVersion: apps/v1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "gpu-operator.labels" $root | nindent 4 }}
    app: {{ .app | default .name }}
    app.kubernetes.io/component: {{ .component | default .name | quote }}
spec:
  {{- if eq .kind "Deployment" }}
  replicas: 1
  {{- end }}
  selector:
    matchLabels:
      app: {{ .app | default .name }}
  template:
    metadata:
      labels:
        {{- include "gpu-operator.labels" $root | nindent 8 }}
        app: {{ .app | default .name }}
        app.kubernetes.io/component: {{ .component | default .name | quote }}
      {{- with $root.Values.lab.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      {{- if .gpuOnly }}
      {{- with $root.Values.lab.gpuNodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.daemonsets.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ printf "%s/%s:%s" $i.repository $i.image ($i.version | default $root.Chart.AppVersion | toString) | quote }}
          imagePullPolicy: {{ $i.imagePullPolicy | default "IfNotPresent" }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
{{- end }}
