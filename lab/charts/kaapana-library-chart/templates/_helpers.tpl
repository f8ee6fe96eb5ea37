{{/* LAB FIXTURE helpers shared by the lab's fixture charts (own code; not taken from Kaapana). */}}

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
claim + mountPath (one PVC), storageNode (true: pin even without a claim), secretVolumes (list of
Secret volumes: name (volume), secretName, mountPath, and optionally subPath, readOnly, defaultMode;
as Kaapana's traefik, oauth2-proxy, keycloak and minio mount the TLS Secret "certificate"). A pod
that mounts a claim is always pinned with kaapana.nodeSelector, as Kaapana pins every pod with a
Kaapana PVC; a Secret volume does not pin.
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
      {{- if or .storageNode .claim }}
      {{- include "kaapana.nodeSelector" $root | nindent 6 }}
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
          {{- if or .claim .secretVolumes }}
          volumeMounts:
            {{- if .claim }}
            - name: data
              mountPath: {{ .mountPath | quote }}
            {{- end }}
            {{- range .secretVolumes }}
            - name: {{ .name }}
              mountPath: {{ .mountPath | quote }}
              {{- with .subPath }}
              subPath: {{ . | quote }}
              {{- end }}
              {{- if .readOnly }}
              readOnly: true
              {{- end }}
            {{- end }}
          {{- end }}
      {{- if or .claim .secretVolumes }}
      volumes:
        {{- if .claim }}
        - name: data
          persistentVolumeClaim:
            claimName: {{ .claim }}
        {{- end }}
        {{- range .secretVolumes }}
        - name: {{ .name }}
          secret:
            secretName: {{ .secretName | quote }}
            {{- with .defaultMode }}
            defaultMode: {{ . }}
            {{- end }}
        {{- end }}
      {{- end }}
{{- end }}

{{/*
A Job. Argument: dict with root, name, namespace, and optionally env, ttl (ttlSecondsAfterFinished),
hostPath (mounted at the same path), claim + mountPath (one PVC; the pod is then pinned with
kaapana.nodeSelector unless pin is false, as Kaapana's cert-copy Job mounts tls-pv-claim without a
nodeSelector), annotations (pod annotations of a hook Job, instead of the fault-injection values),
backoffLimit (default 2), command (string, informational: KWOK never runs it), pullPolicy (default
global.pull_policy_jobs).
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
  backoffLimit: {{ hasKey . "backoffLimit" | ternary .backoffLimit 2 }}
  {{- with .ttl }}
  ttlSecondsAfterFinished: {{ . }}
  {{- end }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .name }}
        app.kubernetes.io/instance: {{ $root.Release.Name }}
        app.kubernetes.io/part-of: kaapana
      {{- if .annotations }}
      annotations:
        {{- toYaml .annotations | nindent 8 }}
      {{- else }}
      {{- with (include "kaapana.podAnnotations" (list $root .name)) }}{{ . | nindent 6 }}{{ end }}
      {{- end }}
    spec:
      restartPolicy: Never
      {{- if and .claim (hasKey . "pin" | ternary .pin true) }}
      {{- include "kaapana.nodeSelector" $root | nindent 6 }}
      {{- end }}
      imagePullSecrets:
        - name: registry-secret
      containers:
        - name: {{ .name }}
          image: {{ include "kaapana.image" (list $root (.image | default "busybox")) | quote }}
          imagePullPolicy: {{ .pullPolicy | default $g.pull_policy_jobs }}
          {{- with .command }}
          command: ["/bin/sh", "-c", {{ . | quote }}]
          {{- end }}
          {{- with .env }}
          env:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- if or .hostPath .claim }}
          volumeMounts:
            {{- if .hostPath }}
            - name: host
              mountPath: {{ .hostPath | quote }}
            {{- end }}
            {{- if .claim }}
            - name: data
              mountPath: {{ .mountPath | quote }}
            {{- end }}
          {{- end }}
      {{- if or .hostPath .claim }}
      volumes:
        {{- if .hostPath }}
        - name: host
          hostPath:
            path: {{ .hostPath | quote }}
            type: DirectoryOrCreate
        {{- end }}
        {{- if .claim }}
        - name: data
          persistentVolumeClaim:
            claimName: {{ .claim }}
        {{- end }}
      {{- end }}
{{- end }}

{{/*
Kaapana's TLS Secret Jobs (services/kaapana-admin/admin-init: cert-init-chart's cert-init-job.yaml and
cert-remove-job.yaml, cert-copy-chart's cert-copy-job.yaml), each running the cert-init image's
handle-secret.sh with its ACTION. Argument: (list $root ACTION), ACTION install | copy | remove.
As Kaapana: named <prefix>-<3 random lower-case alphanumerics> (so every install or upgrade makes a new
Job), in the admin namespace, image <registry_url>/cert-init:<build version> with pull_policy_images,
env from global.tls_secret.{name,common_name,expiration}, SECRET_NAMESPACE = the services namespace;
install (cert-init) and copy (cert-copy) mount tls-pv-claim at /cert/tls, only cert-init is pinned
(Kaapana's cert-copy Job has no nodeSelector). Kaapana sets no backoffLimit (Kubernetes' default 6).
KWOK runs nothing: the lab's kube-helm stand-in does what handle-secret.sh does for cert-init and
cert-copy Jobs; remove-secret (a pre-delete hook) never deletes an existing Secret in Kaapana either.
*/}}
{{- define "kaapana.certJob" -}}
{{- $root := index . 0 -}}
{{- $action := index . 1 -}}
{{- $g := $root.Values.global -}}
{{- $tls := $g.tls_secret | default dict -}}
{{- $prefix := get (dict "install" "cert-init" "copy" "cert-copy" "remove" "remove-secret") $action -}}
{{- $env := list (dict "name" "ACTION" "value" $action) (dict "name" "SECRET_NAME" "value" ($tls.name | toString))
      (dict "name" "SECRET_NAMESPACE" "value" ($g.services_namespace | toString)) (dict "name" "ADMIN_NAMESPACE" "value" ($g.admin_namespace | toString)) -}}
{{- if ne $action "remove" }}
{{- $env = concat $env (list (dict "name" "COMMON_NAME" "value" ($tls.common_name | toString)) (dict "name" "EXPIRATION" "value" ($tls.expiration | toString))) -}}
{{- end }}
{{- if eq $action "install" }}
{{- $env = append $env (dict "name" "HOSTNAME" "value" ($g.hostname | toString)) -}}
{{- end }}
{{- $args := dict "root" $root "name" $prefix "image" "cert-init" "namespace" $g.admin_namespace "env" $env "backoffLimit" 6
      "pullPolicy" $g.pull_policy_images "command" "./handle-secret.sh" -}}
{{- if ne $action "remove" }}
{{- $_ := set $args "claim" "tls-pv-claim" -}}
{{- $_ := set $args "mountPath" "/cert/tls" -}}
{{- $_ := set $args "pin" (eq $action "install") -}}
{{- end }}
{{- $job := include "kaapana.job" $args | fromYaml -}}
{{- $_ := set $job.metadata "name" (printf "%s-%s" $prefix (randAlphaNum 3 | lower)) -}}
{{- if eq $action "remove" }}
{{- /* pre-delete, before the other pre-delete hooks; deleted whether it succeeds or fails, as Kaapana's */ -}}
{{- $_ := set $job.metadata "annotations" (dict "helm.sh/hook" "pre-delete" "helm.sh/hook-weight" "-5" "helm.sh/hook-delete-policy" "hook-succeeded,hook-failed") -}}
{{- $hookAnnotations := ($root.Values.hookPodAnnotations | default dict).removeSecret | default dict -}}
{{- if $hookAnnotations }}
{{- $_ := set $job.spec.template.metadata "annotations" $hookAnnotations -}}
{{- else }}
{{- $_ := unset $job.spec.template.metadata "annotations" -}}
{{- end }}
{{- end }}
{{ toYaml $job }}
{{- end }}

{{- define "kaapana.collections" -}}
{{- $g := .Values.global -}}
{{- range $c := $g.kaapana_collections }}{{ $g.registry_url }}/{{ $c.name }}:{{ $g.kaapana_build_version }};{{ end -}}
{{- end }}

{{/*
A PVC as Kaapana's dynamic volumes (kaapana-library-chart _dynamicPersistentVolumes.tpl) make them,
kept on uninstall (helm.sh/resource-policy: keep) so data survives an undeploy. Argument: dict with
root, name, namespace, class, size, mode, kind (fast, slow or workflow).
*/}}
{{- define "kaapana.pvc" -}}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ .name }}
  namespace: {{ .namespace | quote }}
  labels:
    {{- include "kaapana.labels" .root | nindent 4 }}
    kaapana.io/storage: {{ .kind }}
  annotations:
    helm.sh/resource-policy: keep
spec:
  storageClassName: {{ .class | quote }}
  accessModes:
    - {{ .mode }}
  resources:
    requests:
      storage: {{ .size | quote }}
{{- end }}

{{/* workflow-data-pv-claim's access mode: ReadWriteMany unless the class is the hostpath fast class. */}}
{{- define "kaapana.workflowAccessMode" -}}
{{- ternary "ReadWriteOnce" "ReadWriteMany" (eq .Values.global.storage_class_workflow "kaapana-hostpath-fast-data-dir") -}}
{{- end }}

{{/*
Lab fault for the releases kube-helm preinstalls (phase 2): with lab.preinstallFailRelease equal to
this release's name, a pre-install hook Job whose pod fails (kwok.test/fault=Failed) makes
`helm install` fail and leaves the release in status "failed", as a broken extension does. The
hook Job is deleted when it fails (hook-failed), so nothing is left behind in the namespace.
*/}}
{{- define "kaapana.lab.preinstallFault" -}}
{{- $lab := .Values.lab | default dict -}}
{{- if and $lab.preinstallFailRelease (eq ($lab.preinstallFailRelease | toString) .Release.Name) }}
{{- $job := include "kaapana.job" (dict "root" . "name" "lab-preinstall-fault" "namespace" .Release.Namespace "backoffLimit" 0
      "annotations" (dict "kwok.test/fault" "Failed") "command" "exit 1") | fromYaml -}}
{{- $_ := set $job.metadata "annotations" (dict "helm.sh/hook" "pre-install,pre-upgrade" "helm.sh/hook-weight" "0" "helm.sh/hook-delete-policy" "before-hook-creation,hook-failed") -}}
{{ toYaml $job }}
{{- end }}
{{- end }}

{{/*
Lab only (no Kaapana counterpart): the affinity of a pod annotated kaapana.lab/host-job, which the kube-helm stand-in
runs in the node container of its node: not on the lab's pool node (label kaapana.io/lab-pool), a KWOK-only Node
without a container. It pins nothing else: any real node of the cluster will do, as with Kaapana's unpinned Jobs.
*/}}
{{- define "kaapana.labNotOnPool" -}}
nodeAffinity:
  requiredDuringSchedulingIgnoredDuringExecution:
    nodeSelectorTerms:
      - matchExpressions:
          - {key: kaapana.io/lab-pool, operator: DoesNotExist}
{{- end }}
