{{- /*
Hooks. KWOK never runs a container, so the evidence is the objects themselves:
- pre-install: Job kaapana-pre-install (release namespace). before-hook-creation only, so it stays
  after the install: its existence proves the hook ran; `helm install --no-hooks` leaves none.
- pre-delete: Job kaapana-pre-delete (admin namespace, like Kaapana's remove-secret job); removed
  when it succeeds, left behind when it fails.
- post-delete: ConfigMap kaapana-hook-evidence and Job kaapana-post-delete (release namespace).
  Helm does not delete hook resources on uninstall, so both stay behind after `helm uninstall`
  and prove the hook ran; with `helm uninstall --no-hooks` they do not appear.
- pre-delete, weight -5: Job remove-secret-<3 random characters> (admin namespace), Kaapana's
  cert-init-chart cert-remove-job (ACTION=remove; kaapana.certJob of the library), deleted whether it
  succeeds or fails. Kaapana's handle-secret.sh remove_cert has its condition inverted: it never
  deletes an existing Secret "certificate" (and fails when SECRET_NAMESPACE exists without one).
  Nothing acts on it in the lab: the Secret survives the uninstall, as in Kaapana.
Fault injection: hookPodAnnotations.<hook>: {"kwok.test/fault": "Failed"} makes that hook Job fail
(removeSecret: the remove-secret Job; with Kaapana's backoffLimit 6 the uninstall then waits for
the retries, about 10 minutes, and runs into helm's --timeout).
Helm 3 then: pre-install -> the install fails (release "failed"); pre-delete -> `helm uninstall`
fails before deleting anything and the release stays in status "uninstalling" (Kaapana's stuck
undeploy, recovered with `helm uninstall --no-hooks`); post-delete -> the resources are deleted
and the release record purged, but `helm uninstall` exits non-zero ("uninstallation completed
with 1 error(s)").
*/ -}}
{{- $g := .Values.global -}}
{{- $hooks := list
  (dict "name" "kaapana-pre-install" "hook" "pre-install" "namespace" .Release.Namespace "policy" "before-hook-creation" "annotations" .Values.hookPodAnnotations.preInstall)
  (dict "name" "kaapana-pre-delete" "hook" "pre-delete" "namespace" $g.admin_namespace "policy" "before-hook-creation,hook-succeeded" "annotations" .Values.hookPodAnnotations.preDelete)
  (dict "name" "kaapana-post-delete" "hook" "post-delete" "namespace" .Release.Namespace "policy" "before-hook-creation" "annotations" .Values.hookPodAnnotations.postDelete)
-}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: kaapana-hook-evidence
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
  annotations:
    helm.sh/hook: post-delete
    helm.sh/hook-weight: "-5"
    helm.sh/hook-delete-policy: before-hook-creation
data:
  hook: post-delete
  release.name: {{ .Release.Name | quote }}
  release.namespace: {{ .Release.Namespace | quote }}
  release.revision: {{ .Release.Revision | quote }}
  namespaces: {{ list $g.admin_namespace $g.services_namespace $g.extensions_namespace .Values.lab.projectNamespace | uniq | join "," | quote }}
{{- range $h := $hooks }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $h.name }}
  namespace: {{ $h.namespace | quote }}
  labels:
    {{- include "kaapana.labels" $ | nindent 4 }}
    app.kubernetes.io/name: {{ $h.name }}
  annotations:
    helm.sh/hook: {{ $h.hook }}
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: {{ $h.policy }}
spec:
  backoffLimit: 0
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ $h.name }}
        app.kubernetes.io/instance: {{ $.Release.Name }}
      {{- with $h.annotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      restartPolicy: Never
      containers:
        - name: hook
          image: {{ include "kaapana.image" (list $ "busybox") | quote }}
          imagePullPolicy: {{ $g.pull_policy_jobs }}
          command: ["/bin/sh", "-c", "echo {{ $h.hook }} hook of {{ $.Release.Name }}"]
          env:
            - name: HOOK
              value: {{ $h.hook | quote }}
{{- end }}
---
{{ include "kaapana.certJob" (list $ "remove") }}
