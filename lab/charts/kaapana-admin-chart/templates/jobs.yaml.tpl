{{- /*
One Job per platform namespace. version-file-writer mirrors Kaapana's (admin namespace, writes
<fast_data_dir>/version, ttlSecondsAfterFinished 300 so it disappears 5 minutes after completing,
as Kaapana's does). Under KWOK a Job's pods complete at once unless annotated kwok.test/fault=Failed.
*/ -}}
{{- $g := .Values.global -}}
{{- $jobs := list
  (dict "name" "version-file-writer" "namespace" $g.admin_namespace "ttl" 300 "hostPath" ($g.fast_data_dir | toString)
        "command" (printf "mkdir -p '%s' && echo '%s' > '%s/version'" $g.fast_data_dir $g.kaapana_build_version $g.fast_data_dir)
        "env" (list (dict "name" "VERSION_FILE" "value" (printf "%s/version" $g.fast_data_dir)) (dict "name" "PLATFORM_VERSION" "value" ($g.kaapana_build_version | toString))))
  (dict "name" "init-collections" "image" "kube-helm" "namespace" $g.admin_namespace
        "env" (list (dict "name" "KAAPANA_COLLECTIONS" "value" (include "kaapana.collections" .)) (dict "name" "OFFLINE_MODE" "value" ($g.offline_mode | toString))))
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
