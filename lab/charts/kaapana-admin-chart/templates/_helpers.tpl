{{/* LAB FIXTURE helpers (own code; not taken from Kaapana). */}}

{{- define "kaapana.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: kaapana
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
kaapana.io/lab-fixture: "true"
{{- end }}

{{/* Image under global.registry_url, tagged with the build version: (list $root "name") */}}
{{- define "kaapana.image" -}}
{{- $root := index . 0 -}}
{{- printf "%s/%s:%s" $root.Values.global.registry_url (index . 1) $root.Values.global.kaapana_build_version -}}
{{- end }}

{{/* Pod annotations: podAnnotations merged under componentPodAnnotations[name]: (list $root "name") */}}
{{- define "kaapana.podAnnotations" -}}
{{- $root := index . 0 -}}
{{- $own := index ($root.Values.componentPodAnnotations | default dict) (index . 1) | default dict -}}
{{- $ann := merge (deepCopy $own) ($root.Values.podAnnotations | default dict) -}}
{{- with $ann }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The credentials of the --set line that must never be recorded in clear. */}}
{{- define "kaapana.secretKeys" -}}
credentials_registry_password credentials_minio_password credentials_grafana_password credentials_keycloak_admin_password kaapana_init_password oidc_client_secret smtp_password
{{- end }}

{{/*
A Deployment. Argument: dict with root, name, namespace, and optionally app (label, default
name), image (default name), replicas, ports (list of name/containerPort), env (list),
claim + mountPath (one PVC), storageNode (true: nodeSelector kaapana.io/node=<storage_node>).
*/}}
{{- define "kaapana.deployment" -}}
{{- $root := .root -}}
{{- $g := $root.Values.global -}}
{{- $app := .app | default .name -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ .namespace | quote }}
  labels:
    {{- include "kaapana.labels" $root | nindent 4 }}
    app.kubernetes.io/name: {{ $app }}
spec:
  replicas: {{ .replicas | default 1 }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ $app }}
      app.kubernetes.io/instance: {{ $root.Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ $app }}
        app.kubernetes.io/instance: {{ $root.Release.Name }}
        app.kubernetes.io/part-of: kaapana
      {{- with (include "kaapana.podAnnotations" (list $root .name)) }}{{ . | nindent 6 }}{{ end }}
    spec:
      {{- if .storageNode }}
      nodeSelector:
        kaapana.io/node: {{ $g.storage_node | quote }}
      {{- end }}
      imagePullSecrets:
        - name: registry-secret
      containers:
        - name: {{ .name }}
          image: {{ include "kaapana.image" (list $root (.image | default .name)) | quote }}
          imagePullPolicy: {{ $g.pull_policy_pods }}
          {{- with .ports }}
          ports:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if .claim }}
          volumeMounts:
            - name: data
              mountPath: {{ .mountPath | quote }}
          {{- end }}
      {{- if .claim }}
      volumes:
        - name: data
          persistentVolumeClaim:
            claimName: {{ .claim }}
      {{- end }}
{{- end }}

{{/*
A Job. Argument: dict with root, name, namespace, and optionally env, ttl (ttlSecondsAfterFinished),
hostPath (mounted at the same path), command (string, informational: KWOK never runs it).
*/}}
{{- define "kaapana.job" -}}
{{- $root := .root -}}
{{- $g := $root.Values.global -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .name }}
  namespace: {{ .namespace | quote }}
  labels:
    {{- include "kaapana.labels" $root | nindent 4 }}
    app.kubernetes.io/name: {{ .name }}
spec:
  backoffLimit: 2
  {{- with .ttl }}
  ttlSecondsAfterFinished: {{ . }}
  {{- end }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .name }}
        app.kubernetes.io/instance: {{ $root.Release.Name }}
        app.kubernetes.io/part-of: kaapana
      {{- with (include "kaapana.podAnnotations" (list $root .name)) }}{{ . | nindent 6 }}{{ end }}
    spec:
      restartPolicy: Never
      imagePullSecrets:
        - name: registry-secret
      containers:
        - name: {{ .name }}
          image: {{ include "kaapana.image" (list $root (.image | default "busybox")) | quote }}
          imagePullPolicy: {{ $g.pull_policy_jobs }}
          {{- with .command }}
          command: ["/bin/sh", "-c", {{ . | quote }}]
          {{- end }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if .hostPath }}
          volumeMounts:
            - name: host
              mountPath: {{ .hostPath | quote }}
          {{- end }}
      {{- if .hostPath }}
      volumes:
        - name: host
          hostPath:
            path: {{ .hostPath | quote }}
            type: DirectoryOrCreate
      {{- end }}
{{- end }}

{{- define "kaapana.collections" -}}
{{- $g := .Values.global -}}
{{- range $c := $g.kaapana_collections }}{{ $g.registry_url }}/{{ $c.name }}:{{ $g.kaapana_build_version }};{{ end -}}
{{- end }}
