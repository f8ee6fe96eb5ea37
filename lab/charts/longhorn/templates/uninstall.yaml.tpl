{{- /*
Uninstall. Real Longhorn's pre-delete hook Job longhorn-uninstall fails unless the Setting
deleting-confirmation-flag is "true", so `helm uninstall` fails until it is set. Nothing runs
under KWOK; instead a ValidatingAdmissionPolicy (evaluated by the real kube-apiserver, with the
Setting as its parameter) refuses to create that Job while the flag is not "true": helm reports
the hook as failed and the release stays "uninstalling", as with the real chart. Set the flag,
uninstall again, and it goes through. `helm uninstall --no-hooks` skips the check, as it skips the
real uninstaller.
*/ -}}
{{- if .Values.lab.enforceDeletingConfirmationFlag }}
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: longhorn-lab-deleting-confirmation-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  failurePolicy: Fail
  paramKind:
    apiVersion: longhorn.io/v1beta2
    kind: Setting
  matchConstraints:
    resourceRules:
      - apiGroups: ["batch"]
        apiVersions: ["v1"]
        operations: ["CREATE"]
        resources: ["jobs"]
  matchConditions:
    - name: is-longhorn-uninstall-job
      expression: "object.metadata.name == 'longhorn-uninstall'"
  validations:
    - expression: "params.value == 'true'"
      messageExpression: "'cannot uninstall Longhorn: setting deleting-confirmation-flag is \"' + params.value + '\", it must be \"true\"'"
      reason: Forbidden
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: longhorn-lab-deleting-confirmation-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  policyName: longhorn-lab-deleting-confirmation-{{ .Release.Namespace }}
  validationActions: [Deny]
  paramRef:
    name: deleting-confirmation-flag
    namespace: {{ .Release.Namespace | quote }}
    parameterNotFoundAction: Deny
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: {{ .Release.Namespace | quote }}
---
{{- end }}
apiVersion: batch/v1
kind: Job
metadata:
  name: longhorn-uninstall
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
  annotations:
    helm.sh/hook: pre-delete
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  activeDeadlineSeconds: 900
  backoffLimit: 1
  template:
    metadata:
      labels:
        {{- include "longhorn.labels" . | nindent 8 }}
      {{- /* The real Job runs until longhorn-manager has deleted every volume; here the stand-in longhorn-manager
      deletes them while the Job exists, so its pod finishes after a few seconds, not at once. */}}
      {{- with (merge (deepCopy (.Values.lab.uninstallPodAnnotations | default dict)) (.Values.lab.podAnnotations | default dict) (dict "kwok.test/ready-after" "3")) }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      restartPolicy: Never
      serviceAccountName: longhorn-service-account
      containers:
        - name: longhorn-uninstall
          image: {{ include "longhorn.image" (list . .Values.image.longhorn.manager) | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: ["longhorn-manager", "uninstall", "--force"]
          env:
            - name: LONGHORN_NAMESPACE
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
