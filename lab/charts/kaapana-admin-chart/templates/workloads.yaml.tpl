{{- /*
Phase 1: the admin chart's stand-in workloads (KWOK marks their pods Ready without running
anything). Names and namespaces follow Kaapana: reverse proxy and auth in global.helm_namespace
(= the admin namespace), keycloak, kube-helm and squid-proxy in admin. kube-helm mounts the
extensions PVC and is therefore pinned to the storage node (kaapana.nodeSelector). The services
namespace fills only when kube-helm has installed the preinstall extensions (kaapana-platform-chart:
landing-page, postgres, minio, airflow-scheduler and, with include_reverse_proxy, the instance's own
traefik/oauth2-proxy).
traefik (/ssl), oauth2-proxy (/ssl) and keycloak (/etc/x509/https) mount the TLS Secret as Kaapana's
deployment templates do: by the literal name "certificate" (not global.tls_secret.name). Under KWOK a
missing Secret does not keep a pod from starting (a kubelet would: FailedMount).
*/ -}}
{{- $g := .Values.global -}}
{{- $cert := "certificate" -}}
{{- $uid := $g.instance_uid | default "0" -}}
{{- $http := list (dict "name" "http" "containerPort" 8080) -}}
{{- $proxyEnv := list (dict "name" "HTTP_PROXY" "value" ($g.http_proxy | toString)) (dict "name" "HTTPS_PROXY" "value" ($g.https_proxy | toString)) (dict "name" "NO_PROXY" "value" (join "," ($g.internalCidrs | default list))) -}}
{{- $deployments := list
  (dict "name" "traefik" "namespace" $g.helm_namespace "ports" (list (dict "name" "websecure" "containerPort" 8443) (dict "name" "admin" "containerPort" 8080))
        "env" (list (dict "name" "HOSTNAME_FQDN" "value" ($g.hostname | toString)) (dict "name" "HTTPS_PORT" "value" ($g.https_port | toString)))
        "secretVolumes" (list (dict "name" "ssl" "secretName" $cert "mountPath" "/ssl")))
  (dict "name" "oauth2-proxy" "namespace" $g.helm_namespace "ports" (list (dict "name" "https" "containerPort" 8443))
        "env" (list (dict "name" "OAUTH2_PROXY_UPSTREAM" "value" (printf "https://traefik-%s.%s.svc:%s" $uid $g.helm_namespace ($g.https_port | toString))))
        "secretVolumes" (list (dict "name" "ssl-config" "secretName" $cert "mountPath" "/ssl")))
  (dict "name" "keycloak" "namespace" $g.admin_namespace "ports" $http
        "env" (list (dict "name" "KEYCLOAK_ADMIN" "valueFrom" (dict "secretKeyRef" (dict "name" "keycloak-admin-credentials" "key" "username")))
                    (dict "name" "KEYCLOAK_ADMIN_PASSWORD" "valueFrom" (dict "secretKeyRef" (dict "name" "keycloak-admin-credentials" "key" "password")))
                    (dict "name" "KC_HTTPS_CERTIFICATE_KEY_FILE" "value" "/etc/x509/https/tls.key") (dict "name" "KC_HTTPS_CERTIFICATE_FILE" "value" "/etc/x509/https/tls.crt"))
        "secretVolumes" (list (dict "name" "ssl-config-files" "secretName" $cert "mountPath" "/etc/x509/https" "readOnly" true)))
  (dict "name" "kube-helm" "namespace" $g.admin_namespace "ports" $http "claim" "extensions-pv-claim" "mountPath" "/kaapana/mounted/extensions"
        "env" (concat (list (dict "name" "RELEASE_NAME" "value" ($g.release_name | toString)) (dict "name" "HELM_NAMESPACE" "value" ($g.helm_namespace | toString))
                     (dict "name" "REGISTRY_URL" "value" ($g.registry_url | toString)) (dict "name" "OFFLINE_MODE" "value" ($g.offline_mode | toString))
                     (dict "name" "PREFETCH_EXTENSIONS" "value" ($g.prefetch_extensions | toString))) $proxyEnv))
  (dict "name" "squid-proxy" "image" "squid" "namespace" $g.admin_namespace "ports" (list (dict "name" "proxy" "containerPort" 3128))
        "env" (list (dict "name" "UPSTREAM_HTTP_PROXY" "value" ((index .Values "squid-proxy").upstreamHttpProxy | toString))
                    (dict "name" "UPSTREAM_HTTPS_PROXY" "value" ((index .Values "squid-proxy").upstreamHttpsProxy | toString))))
-}}
{{- range $d := $deployments }}
---
{{ include "kaapana.deployment" (merge (dict "root" $) $d) }}
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: traefik-{{ $uid }}
  namespace: {{ $g.helm_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: traefik
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: websecure
      port: {{ $g.https_port | int }}
      targetPort: websecure
    - name: admin
      port: 8080
      targetPort: admin
---
{{- /* Kaapana's oauth2-proxy-service is a NodePort on https_port (needs the apiserver's
       --service-node-port-range to include it); the fixture keeps it ClusterIP. */}}
apiVersion: v1
kind: Service
metadata:
  name: oauth2-proxy-service
  namespace: {{ $g.helm_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: oauth2-proxy
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: https-port
      port: {{ $g.https_port | int }}
      targetPort: https
---
apiVersion: v1
kind: Service
metadata:
  name: squid-proxy-service
  namespace: {{ $g.admin_namespace | quote }}
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: squid-proxy
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: proxy
      port: 3128
      targetPort: proxy
