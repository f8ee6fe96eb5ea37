{{- /*
Phase 2: code-server (Kaapana's code-server-chart) in the services namespace, mounting the existing
workflow-data PVC (use_existing_pvc in the real chart), so it is pinned to the storage node.
*/ -}}
{{- $g := .Values.global -}}
{{ include "kaapana.deployment" (dict "root" . "name" "code-server" "namespace" $g.services_namespace
      "ports" (list (dict "name" "http" "containerPort" 8080)) "claim" "workflow-data-pv-claim" "mountPath" "/kaapana/mounted/workflows/data"
      "env" (list (dict "name" "WORKSPACE" "value" "/kaapana") (dict "name" "HOSTNAME_FQDN" "value" ($g.hostname | toString)))) }}
---
apiVersion: v1
kind: Service
metadata:
  name: code-server
  namespace: {{ $g.services_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: code-server
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: 8080
      targetPort: http
