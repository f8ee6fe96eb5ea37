{{- /*
The operator Deployment and node-feature-discovery come from the chart, as in the real chart. The
operand DaemonSets are what the real operator creates from the ClusterPolicy on GPU nodes; the
fixture renders them directly (only the enabled ones), on nodes matching lab.gpuNodeSelector.
*/ -}}
{{- $v := .Values -}}
{{- $on := dict "driver" (include "gpu-operator.on" $v.driver.enabled) "toolkit" (include "gpu-operator.on" $v.toolkit.enabled)
                "devicePlugin" (include "gpu-operator.on" $v.devicePlugin.enabled) "dcgmExporter" (include "gpu-operator.on" $v.dcgmExporter.enabled)
                "gfd" (include "gpu-operator.on" $v.gfd.enabled) "nfd" (include "gpu-operator.on" $v.nfd.enabled) -}}
{{- $toolkitEnv := list -}}
{{- range $e := $v.toolkit.env }}{{ if $e }}{{ $toolkitEnv = append $toolkitEnv (dict "name" ($e.name | toString) "value" ($e.value | toString)) }}{{ end }}{{ end -}}
{{- $workloads := list
  (dict "kind" "Deployment" "name" "gpu-operator" "component" "gpu-operator" "image" $v.operator
        "env" (list (dict "name" "WATCH_NAMESPACE" "value" "") (dict "name" "OPERATOR_NAMESPACE" "value" .Release.Namespace)
                    (dict "name" "DEFAULT_RUNTIME" "value" ($v.operator.defaultRuntime | default "" | toString))))
  (dict "kind" "DaemonSet" "name" "nvidia-operator-validator" "gpuOnly" true "image" $v.validator
        "env" (list (dict "name" "WITH_WAIT" "value" "true") (dict "name" "COMPONENT" "value" "plugin")))
-}}
{{- if $on.nfd }}
{{- $nfd := dict "repository" "registry.k8s.io/nfd" "image" "node-feature-discovery" "version" "v0.18.2" }}
{{- $workloads = append $workloads (dict "kind" "Deployment" "name" (printf "%s-node-feature-discovery-master" .Release.Name) "app" "node-feature-discovery" "component" "master" "image" $nfd) }}
{{- $workloads = append $workloads (dict "kind" "Deployment" "name" (printf "%s-node-feature-discovery-gc" .Release.Name) "app" "node-feature-discovery-gc" "component" "gc" "image" $nfd) }}
{{- $workloads = append $workloads (dict "kind" "DaemonSet" "name" (printf "%s-node-feature-discovery-worker" .Release.Name) "app" "node-feature-discovery-worker" "component" "worker" "image" $nfd) }}
{{- end }}
{{- if $on.driver }}
{{- $workloads = append $workloads (dict "kind" "DaemonSet" "name" "nvidia-driver-daemonset" "gpuOnly" true "image" $v.driver) }}
{{- end }}
{{- if $on.toolkit }}
{{- $workloads = append $workloads (dict "kind" "DaemonSet" "name" "nvidia-container-toolkit-daemonset" "gpuOnly" true "image" $v.toolkit
      "env" (concat (list (dict "name" "ROOT" "value" ($v.toolkit.installDir | toString))) $toolkitEnv)) }}
{{- end }}
{{- if $on.devicePlugin }}
{{- $workloads = append $workloads (dict "kind" "DaemonSet" "name" "nvidia-device-plugin-daemonset" "gpuOnly" true "image" $v.devicePlugin "env" $v.devicePlugin.env) }}
{{- end }}
{{- if $on.dcgmExporter }}
{{- $workloads = append $workloads (dict "kind" "DaemonSet" "name" "nvidia-dcgm-exporter" "gpuOnly" true "image" $v.dcgmExporter) }}
{{- end }}
{{- if $on.gfd }}
{{- $workloads = append $workloads (dict "kind" "DaemonSet" "name" "gpu-feature-discovery" "gpuOnly" true "image" $v.gfd) }}
{{- end }}
{{- range $w := $workloads }}
---
{{ include "gpu-operator.workload" (merge (dict "root" $) $w) }}
{{- end }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: gpu-operator
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "gpu-operator.labels" . | nindent 4 }}
---
apiVersion: nvidia.com/v1
kind: ClusterPolicy
metadata:
  name: cluster-policy
  labels:
    {{- include "gpu-operator.labels" . | nindent 4 }}
spec:
  operator:
    defaultRuntime: {{ $v.operator.defaultRuntime | default "" | toString | quote }}
  daemonsets:
    tolerations: {{ $v.daemonsets.tolerations | default list | toJson }}
  driver:
    enabled: {{ ternary true false (eq $on.driver "true") }}
  toolkit:
    enabled: {{ ternary true false (eq $on.toolkit "true") }}
    installDir: {{ $v.toolkit.installDir | toString | quote }}
    env: {{ $toolkitEnv | toJson }}
  devicePlugin:
    enabled: {{ ternary true false (eq $on.devicePlugin "true") }}
  dcgmExporter:
    enabled: {{ ternary true false (eq $on.dcgmExporter "true") }}
  gfd:
    enabled: {{ ternary true false (eq $on.gfd "true") }}
  cdi:
    enabled: {{ ternary true false (eq (include "gpu-operator.on" $v.cdi.enabled) "true") }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: gpu-operator-values
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "gpu-operator.labels" . | nindent 4 }}
data:
  values.json: {{ toJson .Values | quote }}
  release.name: {{ .Release.Name | quote }}
  release.namespace: {{ .Release.Namespace | quote }}
  chart.version: {{ .Chart.Version | quote }}
  kube.version: {{ .Capabilities.KubeVersion.Version | quote }}
  driver.enabled: {{ ternary "true" "false" (eq $on.driver "true") | quote }}
  toolkit.enabled: {{ ternary "true" "false" (eq $on.toolkit "true") | quote }}
  toolkit.env.json: {{ $toolkitEnv | toJson | quote }}
  operator.defaultRuntime: {{ $v.operator.defaultRuntime | default "" | toString | quote }}
