{{- /*
Credentials live in Secrets only. The values ConfigMap records them as "sha256:<hex>" (or "" when
not given) so tests can check what was passed without the recording revealing it.
*/ -}}
{{- $g := .Values.global -}}
{{- $auth := printf "%s:%s" ($g.credentials_registry_username | toString) ($g.credentials_registry_password | toString) | b64enc -}}
{{- $dockerconfig := dict "auths" (dict $g.registry_url (dict "username" ($g.credentials_registry_username | toString) "password" ($g.credentials_registry_password | toString) "auth" $auth)) | toJson -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-credentials
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
type: Opaque
data:
  {{- range $key := list "credentials_registry_username" "credentials_registry_password" "credentials_minio_username" "credentials_minio_password" "credentials_grafana_username" "credentials_grafana_password" "credentials_keycloak_admin_username" "credentials_keycloak_admin_password" "kaapana_init_password" "oidc_client_secret" "smtp_username" "smtp_password" }}
  {{ $key }}: {{ index $g $key | toString | b64enc | quote }}
  {{- end }}
{{- range $ns := list $g.admin_namespace $g.services_namespace $g.extensions_namespace $.Values.lab.projectNamespace | uniq }}
---
apiVersion: v1
kind: Secret
metadata:
  name: registry-secret
  namespace: {{ $ns | quote }}
  labels:
    {{- include "kaapana.labels" $ | nindent 4 }}
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {{ $dockerconfig | b64enc | quote }}
{{- end }}
---
apiVersion: v1
kind: Secret
metadata:
  name: oidc-client-secret
  namespace: {{ $g.services_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
type: Opaque
data:
  oidc-client-secret: {{ $g.oidc_client_secret | toString | b64enc | quote }}
---
apiVersion: v1
kind: Secret
metadata:
  name: keycloak-admin-credentials
  namespace: {{ $g.admin_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
type: Opaque
data:
  username: {{ $g.credentials_keycloak_admin_username | toString | b64enc | quote }}
  password: {{ $g.credentials_keycloak_admin_password | toString | b64enc | quote }}
---
apiVersion: v1
kind: Secret
metadata:
  name: minio-credentials
  namespace: {{ $g.services_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
type: Opaque
data:
  username: {{ $g.credentials_minio_username | toString | b64enc | quote }}
  password: {{ $g.credentials_minio_password | toString | b64enc | quote }}
---
{{- /*
LAB: what kube-helm's preinstall_extensions.py passes to each preinstalled release: the admin
release's global values (`helm get values`, without preinstall_extensions and kaapana_collections),
here together with the lab's fault-injection keys so that componentPodAnnotations reach the workloads
of the phase-2 charts. Read by the kube-helm stand-in (annotation kaapana.lab/values-secret of Job
init-extensions); it holds credentials, so it is a Secret.
*/}}
{{- $forward := dict "global" (omit (deepCopy $g) "preinstall_extensions" "kaapana_collections")
      "podAnnotations" (.Values.podAnnotations | default dict)
      "componentPodAnnotations" (.Values.componentPodAnnotations | default dict)
      "lab" (.Values.lab | default dict) }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-preinstall-values
  namespace: {{ $g.admin_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
type: Opaque
data:
  values.yaml: {{ toYaml $forward | b64enc | quote }}
