{{- /*
longhorn-system workloads. In real Longhorn the chart creates longhorn-manager, the driver
deployer and the UI, and the deployer then creates the CSI pieces (csi-* Deployments,
longhorn-csi-plugin DaemonSet, CSIDriver) from KUBELET_ROOT_DIR. Here the chart creates all of
them, with csi.kubeletRootDir in the deployer's env and in the CSI plugin's args and host paths.
*/ -}}
{{- $root := include "longhorn.kubeletRootDir" . -}}
{{- $dataPath := include "longhorn.setting" (list .Values.defaultSettings.defaultDataPath "/var/lib/longhorn/") -}}
{{- $img := .Values.image -}}
{{- $podEnv := list
  (dict "name" "POD_NAMESPACE" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.namespace")))
  (dict "name" "NODE_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "spec.nodeName"))) -}}
{{- $deployerEnv := concat $podEnv (list (dict "name" "SERVICE_ACCOUNT" "value" "longhorn-service-account")) -}}
{{- if .Values.csi.kubeletRootDir }}
{{- $deployerEnv = append $deployerEnv (dict "name" "KUBELET_ROOT_DIR" "value" (.Values.csi.kubeletRootDir | toString)) }}
{{- end }}
{{- range $k := list "attacher" "provisioner" "resizer" "snapshotter" }}
{{- $n := index $.Values.csi (printf "%sReplicaCount" $k) }}
{{- if not (kindIs "invalid" $n) }}
{{- $deployerEnv = append $deployerEnv (dict "name" (printf "CSI_%s_REPLICA_COUNT" (upper $k)) "value" ($n | toString)) }}
{{- end }}
{{- end }}
{{- $workloads := list
  (dict "kind" "DaemonSet" "name" "longhorn-manager" "image" $img.longhorn.manager
        "args" (list "longhorn-manager" "-d" "daemon" "--engine-image" "longhornio/longhorn-engine:v1.10.1" "--manager-image" (include "longhorn.image" (list . $img.longhorn.manager)) "--service-account" "longhorn-service-account")
        "ports" (list (dict "name" "manager" "containerPort" 9500) (dict "name" "admission-wh" "containerPort" 9502) (dict "name" "recov-backend" "containerPort" 9503))
        "env" $podEnv
        "volumes" (list (dict "name" "dev" "path" "/dev") (dict "name" "proc" "path" "/proc") (dict "name" "longhorn" "path" $dataPath "type" "DirectoryOrCreate")))
  (dict "kind" "Deployment" "name" "longhorn-driver-deployer" "image" $img.longhorn.manager
        "args" (list "longhorn-manager" "-d" "deploy-driver" "--manager-image" (include "longhorn.image" (list . $img.longhorn.manager)) "--manager-url" "http://longhorn-backend:9500/v1")
        "env" $deployerEnv)
  (dict "kind" "Deployment" "name" "longhorn-ui" "image" $img.longhorn.ui "replicas" .Values.longhornUI.replicas "sa" "longhorn-ui-service-account"
        "ports" (list (dict "name" "http" "containerPort" 8000))
        "env" (list (dict "name" "LONGHORN_MANAGER_IP" "value" "http://longhorn-backend:9500") (dict "name" "LONGHORN_UI_PORT" "value" "8000")))
  (dict "kind" "DaemonSet" "name" "longhorn-csi-plugin" "image" $img.csi.nodeDriverRegistrar
        "args" (list "--v=2" "--csi-address=/csi/csi.sock" (printf "--kubelet-registration-path=%s/plugins/driver.longhorn.io/csi.sock" $root))
        "env" (concat $podEnv (list (dict "name" "KUBELET_ROOT_DIR" "value" $root)))
        "volumes" (list (dict "name" "socket-dir" "path" (printf "%s/plugins/driver.longhorn.io" $root) "type" "DirectoryOrCreate")
                        (dict "name" "registration-dir" "path" (printf "%s/plugins_registry" $root) "type" "DirectoryOrCreate")
                        (dict "name" "pods-mount-dir" "path" (printf "%s/pods" $root) "type" "DirectoryOrCreate")))
-}}
{{- range $k := list "attacher" "provisioner" "resizer" "snapshotter" }}
{{- $n := index $.Values.csi (printf "%sReplicaCount" $k) | default 3 }}
{{- $workloads = append $workloads (dict "kind" "Deployment" "name" (printf "csi-%s" $k) "image" (index $img.csi $k) "replicas" $n
      "args" (list "--v=2" "--csi-address=$(ADDRESS)" "--timeout=1m50s" "--leader-election" "--leader-election-namespace=$(POD_NAMESPACE)")
      "env" (concat $podEnv (list (dict "name" "ADDRESS" "value" "/csi/csi.sock")))) }}
{{- end }}
{{- range $w := $workloads }}
---
{{ include "longhorn.workload" (merge (dict "root" $) $w) }}
{{- end }}
---
apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata:
  name: driver.longhorn.io
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  attachRequired: true
  podInfoOnMount: true
  fsGroupPolicy: ReadWriteOnceWithFSType
  volumeLifecycleModes:
    - Persistent
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: longhorn-service-account
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: longhorn-ui-service-account
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
---
apiVersion: v1
kind: Service
metadata:
  name: longhorn-backend
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
    app: longhorn-manager
spec:
  type: {{ ternary "NodePort" "ClusterIP" (eq (.Values.service.manager.type | toString) "NodePort") }}
  selector:
    app: longhorn-manager
  ports:
    - name: manager
      port: 9500
      targetPort: manager
---
apiVersion: v1
kind: Service
metadata:
  name: longhorn-frontend
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
    app: longhorn-ui
spec:
  type: {{ ternary "NodePort" "ClusterIP" (eq (.Values.service.ui.type | toString) "NodePort") }}
  selector:
    app: longhorn-ui
  ports:
    - name: http
      port: 80
      targetPort: http
      {{- if and (eq (.Values.service.ui.type | toString) "NodePort") .Values.service.ui.nodePort }}
      nodePort: {{ .Values.service.ui.nodePort }}
      {{- end }}
