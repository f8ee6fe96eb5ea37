{{- /*
What the chart received, for tests: values.json is toJson of .Values (types preserved: strings
stay strings, booleans booleans, lists lists) with every credential replaced by
"sha256:<hex of the value>" ("" stays ""); secrets.json says per credential whether it was set
and its sha256. The clear values are only in the Secret <release>-credentials.
*/ -}}
{{- $vals := deepCopy .Values -}}
{{- $g := $vals.global -}}
{{- /* Helm copies the globals into each subchart's values (kaapana-library-chart, kaapana-storage-chart):
       drop those copies, they would record the credentials in clear. */ -}}
{{- range $key, $sub := $vals }}
{{- if and (ne $key "global") (kindIs "map" $sub) (hasKey $sub "global") }}
{{- $_ := unset $sub "global" }}
{{- end }}
{{- end }}
{{- $secrets := dict -}}
{{- range $key := splitList " " (include "kaapana.secretKeys" .) }}
{{- $v := index $g $key | default "" | toString -}}
{{- $_ := set $secrets $key (dict "set" (ne $v "") "sha256" (sha256sum $v)) -}}
{{- $_ := set $g $key (ternary (printf "sha256:%s" (sha256sum $v)) "" (ne $v "")) -}}
{{- end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: kaapana-admin-chart-values
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
data:
  values.json: {{ toJson $vals | quote }}
  secrets.json: {{ toJson $secrets | quote }}
  secret-keys: {{ include "kaapana.secretKeys" . | quote }}
  release.name: {{ .Release.Name | quote }}
  release.namespace: {{ .Release.Namespace | quote }}
  release.revision: {{ .Release.Revision | quote }}
  release.is-install: {{ .Release.IsInstall | quote }}
  chart.name: {{ .Chart.Name | quote }}
  chart.version: {{ .Chart.Version | quote }}
  kube.version: {{ .Capabilities.KubeVersion.Version | quote }}
  namespaces: {{ list .Values.global.admin_namespace .Values.global.services_namespace .Values.global.extensions_namespace .Values.lab.projectNamespace | uniq | join "," | quote }}
