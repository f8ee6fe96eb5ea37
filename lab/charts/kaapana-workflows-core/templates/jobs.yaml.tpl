{{- /*
Phase 2: Kaapana's kaapana-workflows-core is a collection of workflow charts (dummy-workflow,
registration-workflow) whose workflow-installer copies the workflows into the workflow data
volume. Here one Job per workflow in the services namespace, mounting workflow-data-pv-claim, so
its pod is pinned to the storage node.
*/ -}}
{{- $g := .Values.global -}}
{{- range $w := list "dummy-workflow" "registration-workflow" }}
---
{{ include "kaapana.job" (dict "root" $ "name" $w "image" "workflow-installer" "namespace" $g.services_namespace
      "claim" "workflow-data-pv-claim" "mountPath" "/kaapana/mounted/workflows"
      "command" (printf "install workflow %s" $w)) }}
{{- end }}
