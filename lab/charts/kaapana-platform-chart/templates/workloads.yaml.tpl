{{- /*
Phase 2 (installed by kube-helm into global.helm_namespace): the services namespace's stand-in
workloads. Every pod that mounts a Kaapana PVC (postgres, minio, airflow-scheduler) is pinned to the
storage node with kaapana.nodeSelector, as Kaapana's charts pin them. With include_reverse_proxy
(set with INSTANCE_UID) the instance's own traefik/oauth2-proxy pair runs in the services namespace.
minio (tls.crt as /root/.minio/certs/CAs/kaapana.pem, a subPath mount: a kubelet does not update it
when the Secret changes) and the instance's traefik/oauth2-proxy (/ssl) mount the TLS Secret of the
services namespace (cert-copy's copy) as Kaapana's templates do: by the literal name "certificate".
*/ -}}
{{- $g := .Values.global -}}
{{- $cert := "certificate" -}}
{{- $http := list (dict "name" "http" "containerPort" 8080) -}}
{{- $deployments := list
  (dict "name" "landing-page" "namespace" $g.services_namespace "ports" $http
        "env" (list (dict "name" "INSTANCE_NAME" "value" ($g.instance_name | toString)) (dict "name" "HOSTNAME_FQDN" "value" ($g.hostname | toString))))
  (dict "name" "postgres" "namespace" $g.services_namespace "claim" "postgres-pv-claim" "mountPath" "/var/lib/postgresql/data"
        "ports" (list (dict "name" "postgres" "containerPort" 5432)))
  (dict "name" "minio" "namespace" $g.services_namespace "claim" "minio-pv-claim" "mountPath" "/data" "ports" (list (dict "name" "api" "containerPort" 9000))
        "env" (list (dict "name" "MINIO_ROOT_USER" "valueFrom" (dict "secretKeyRef" (dict "name" "minio-credentials" "key" "username")))
                    (dict "name" "MINIO_ROOT_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" "minio-credentials" "key" "password"))))
        "secretVolumes" (list (dict "name" "kaapana-cert" "secretName" $cert "mountPath" "/root/.minio/certs/CAs/kaapana.pem" "subPath" "tls.crt" "defaultMode" 420)))
  (dict "name" "airflow-scheduler" "image" "airflow" "namespace" $g.services_namespace "claim" "workflow-data-pv-claim" "mountPath" "/kaapana/mounted/workflows"
        "env" (list (dict "name" "AIRFLOW_MEMORY_LIMIT_MI" "value" ($g.airflow_memory_limit | toString)) (dict "name" "GPU_SUPPORT" "value" ($g.gpu_support | toString))))
-}}
{{- if $g.include_reverse_proxy }}
{{- $deployments = append $deployments (dict "name" "traefik" "namespace" $g.services_namespace "ports" (list (dict "name" "websecure" "containerPort" 8443))
      "secretVolumes" (list (dict "name" "ssl" "secretName" $cert "mountPath" "/ssl"))) }}
{{- $deployments = append $deployments (dict "name" "oauth2-proxy" "namespace" $g.services_namespace "ports" (list (dict "name" "https" "containerPort" 8443))
      "secretVolumes" (list (dict "name" "ssl-config" "secretName" $cert "mountPath" "/ssl"))) }}
{{- end }}
{{- range $d := $deployments }}
---
{{ include "kaapana.deployment" (merge (dict "root" $) $d) }}
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: landing-page-service
  namespace: {{ $g.services_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: landing-page
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: 80
      targetPort: http
