{{- /*
One Job per platform namespace besides admin (services, extensions and the project namespace), and
Kaapana's cert-copy-chart Job cert-copy-<3 random characters> in the admin namespace (ACTION=copy of
handle-secret.sh; kaapana.certJob of the library): the kube-helm stand-in copies the TLS Secret
global.tls_secret.name from the admin namespace into the services namespace for it, if absent there.
Under KWOK a Job's pods complete at once unless annotated kwok.test/fault=Failed.
*/ -}}
{{- $g := .Values.global -}}
{{- $jobs := list
  (dict "name" "services-init" "namespace" $g.services_namespace
        "env" (list (dict "name" "SLOW_DATA_DIR" "value" ($g.slow_data_dir | toString)) (dict "name" "SMTP_HOST" "value" ($g.smtp_host | toString))))
  (dict "name" "extensions-init" "namespace" $g.extensions_namespace
        "env" (list (dict "name" "PREFETCH_EXTENSIONS" "value" ($g.prefetch_extensions | toString))))
  (dict "name" "project-init" "namespace" .Values.lab.projectNamespace)
-}}
{{- range $j := $jobs }}
---
{{ include "kaapana.job" (merge (dict "root" $) $j) }}
{{- end }}
---
{{ include "kaapana.certJob" (list . "copy") }}
