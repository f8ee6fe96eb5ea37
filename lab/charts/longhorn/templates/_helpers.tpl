{{/* LAB FIXTURE helpers (own code). */}}
{{- define "longhorn.labels" -}}
app.kubernetes.io/name: longhorn
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion }}
kaapana.io/lab-fixture: "true"
{{- end }}

{{/* (list $root .Values.image.longhorn.manager) */}}
{{- define "longhorn.image" -}}
{{- $root := index . 0 -}}{{- $img := index . 1 -}}
{{- $reg := coalesce $root.Values.global.imageRegistry $root.Values.privateRegistry.registryUrl "" -}}
{{- if $reg }}{{ $reg }}/{{ end }}{{ $img.repository }}:{{ $img.tag }}
{{- end }}

{{- define "longhorn.kubeletRootDir" -}}
{{- .Values.csi.kubeletRootDir | default "/var/lib/kubelet" -}}
{{- end }}

{{- define "longhorn.podAnnotations" -}}
{{- with .Values.lab.podAnnotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Setting value: the value given in defaultSettings, else Longhorn's default. (list value default) */}}
{{- define "longhorn.setting" -}}
{{- $v := index . 0 -}}
{{- if kindIs "invalid" $v }}{{ index . 1 }}{{ else }}{{ $v | toString }}{{ end -}}
{{- end }}

{{/*
A workload. dict: root, kind (Deployment|DaemonSet), name, app, image (map), replicas, env, args,
ports, volumes (list of name/hostPath path), sa
*/}}
{{- define "longhorn.workload" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: {{ .kind }}
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" $root | nindent 4 }}
    app: {{ .app | default .name }}
spec:
  {{- if eq .kind "Deployment" }}
  replicas: {{ .replicas | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      app: {{ .app | default .name }}
  template:
    metadata:
      labels:
        {{- include "longhorn.labels" $root | nindent 8 }}
        app: {{ .app | default .name }}
      {{- with (include "longhorn.podAnnotations" $root) }}{{ . | nindent 6 }}{{ end }}
    spec:
      serviceAccountName: {{ .sa | default "longhorn-service-account" }}
      {{- with $root.Values.global.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $root.Values.global.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ include "longhorn.image" (list $root .image) | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          {{- with .args }}
          args:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .volumes }}
          volumeMounts:
            {{- range . }}
            - name: {{ .name }}
              mountPath: {{ .path | quote }}
            {{- end }}
          {{- end }}
      {{- with .volumes }}
      volumes:
        {{- range . }}
        - name: {{ .name }}
          hostPath:
            path: {{ .path | quote }}
            {{- with .type }}
            type: {{ . }}
            {{- end }}
        {{- end }}
      {{- end }}
{{- end }}
