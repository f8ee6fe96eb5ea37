---
apiVersion: v1
kind: Namespace
metadata:
  name: "{{ .Values.global.namespace }}"
