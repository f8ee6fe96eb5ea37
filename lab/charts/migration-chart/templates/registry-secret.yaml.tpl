---
apiVersion: v1
kind: Secret
metadata:
  name: registry-secret
  namespace: "{{ .Values.global.namespace }}"
type: kubernetes.io/dockerconfigjson
data:
  .dockerconfigjson: {{ printf "{\"auths\": {\"https://%s\": {\"auth\": \"%s\"}}}" .Values.global.registry_url (printf "%s:%s" .Values.global.credentials_registry_username .Values.global.credentials_registry_password | b64enc) | b64enc }}
