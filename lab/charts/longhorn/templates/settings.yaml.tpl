{{- /*
Default settings. Real Longhorn: the chart renders ConfigMap longhorn-default-setting and the
manager creates settings.longhorn.io objects with Longhorn's defaults (types/setting.go). Here
the chart creates the Setting objects the Kaapana tooling patches, with the same defaults, so
`kubectl -n longhorn-system patch setting <name> --type=merge -p '{"value":"..."}'` works.
*/ -}}
{{- $d := .Values.defaultSettings -}}
{{- $settings := list
  (list "default-data-path" $d.defaultDataPath "/var/lib/longhorn/")
  (list "create-default-disk-labeled-nodes" $d.createDefaultDiskLabeledNodes "false")
  (list "storage-over-provisioning-percentage" $d.storageOverProvisioningPercentage "100")
  (list "storage-minimal-available-percentage" $d.storageMinimalAvailablePercentage "25")
  (list "deleting-confirmation-flag" $d.deletingConfirmationFlag "false")
  (list "allow-recurring-job-while-volume-detached" $d.allowRecurringJobWhileVolumeDetached "false")
  (list "recurring-job-max-retention" $d.recurringJobMaxRetention "100")
-}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: longhorn-default-setting
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
data:
  default-setting.yaml: |-
    {{- range $s := $settings }}
    {{- if not (kindIs "invalid" (index $s 1)) }}
    {{ index $s 0 }}: {{ index $s 1 | toString | quote }}
    {{- end }}
    {{- end }}
{{- range $s := $settings }}
---
apiVersion: longhorn.io/v1beta2
kind: Setting
metadata:
  name: {{ index $s 0 }}
  namespace: {{ $.Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" $ | nindent 4 }}
value: {{ include "longhorn.setting" (list (index $s 1) (index $s 2)) | quote }}
{{- end }}
