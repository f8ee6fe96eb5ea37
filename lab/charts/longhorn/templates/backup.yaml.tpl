{{- /*
Backups. ConfigMap longhorn-default-resource is what the real chart renders from defaultBackupStore (its
templates/default-resource.yaml: the keys backup-target, backup-target-credential-secret and backupstore-poll-interval,
each only when its value is set, unquoted). longhorn-manager creates or updates BackupTarget "default" from it when
a manager pod starts and whenever the ConfigMap changes; in the lab the host-side stand-in (lab/standins/provisioner.py)
does that and sets the BackupTarget's status.

Longhorn's admission webhook (served by longhorn-manager) cannot run under KWOK. The ValidatingAdmissionPolicies below
(evaluated by the real kube-apiserver) refuse what the webhook refuses for backuptargets and recurringjobs, with the
webhook's messages (webhook/resources/backuptarget/validator.go, webhook/resources/recurringjob/validator.go and
datastore ValidateBackupTargetURL / ValidateRecurringJob of longhorn-manager v1.10.1). The webhook's mutations (a
RecurringJob's spec.name, groups, labels, parameters, retain) are made by the stand-in right after, not at admission.
*/ -}}
{{- $s := .Values.defaultBackupStore -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: longhorn-default-resource
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
data:
  default-resource.yaml: |-
    {{- if not (kindIs "invalid" $s.backupTarget) }}
    backup-target: {{ $s.backupTarget }}
    {{- end }}
    {{- if not (kindIs "invalid" $s.backupTargetCredentialSecret) }}
    backup-target-credential-secret: {{ $s.backupTargetCredentialSecret }}
    {{- end }}
    {{- if not (kindIs "invalid" $s.pollInterval) }}
    backupstore-poll-interval: {{ $s.pollInterval }}
    {{- end }}
{{- if .Values.lab.webhookPolicies }}
{{- /* robfig/cron v3 ParseStandard (what Longhorn and Kubernetes' CronJob parse with): five fields with their
ranges, names, lists, ranges and steps, or a descriptor, optionally after TZ=/CRON_TZ=. A range's order (5-3) and a
time zone's existence are not checked. */}}
{{- $step := `(/0*[1-9][0-9]*)?` }}
{{- $fields := list }}
{{- range $n := list `[0-5]?[0-9]` `[01]?[0-9]|2[0-3]` `0?[1-9]|[12][0-9]|3[01]` `0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)` `0?[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)` }}
{{- $atom := printf `(\*|\?|(%s)(-(%s))?)%s` $n $n $step }}
{{- $fields = append $fields (printf `%s(,%s)*` $atom $atom) }}
{{- end }}
{{- $desc := `@(yearly|annually|monthly|weekly|daily|midnight|hourly)|@every [-+]?(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|ms|s|m|h))+)` }}
{{- $tz := `(CRON_)?TZ=[^ ]+ ` }}
{{- $cron := printf `^(%s|%s\s*(%s)\s*|(%s)?\s*%s\s*)$` $desc $tz $desc $tz (join `\s+` $fields) }}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: longhorn-lab-backup-target-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["longhorn.io"]
        apiVersions: ["v1beta2"]
        operations: ["CREATE", "UPDATE", "DELETE"]
        resources: ["backuptargets"]
  variables:
    - name: url
      expression: >-
        request.operation == 'DELETE' ? '' :
        (has(object.spec) && has(object.spec.backupTargetURL) ? object.spec.backupTargetURL : '')
    - name: oldUrl
      expression: >-
        request.operation != 'UPDATE' ? '' :
        (has(oldObject.spec) && has(oldObject.spec.backupTargetURL) ? oldObject.spec.backupTargetURL : '')
    # the webhook checks the URL on create and when an update changes it
    - name: checkUrl
      expression: >-
        variables.url != '' && (request.operation == 'CREATE' ||
        (request.operation == 'UPDATE' && variables.url != variables.oldUrl))
    - name: scheme
      expression: >-
        variables.url.matches(r'^[A-Za-z][A-Za-z0-9+.-]*:') ?
        variables.url.find(r'^[A-Za-z][A-Za-z0-9+.-]*').lowerAscii() : ''
    # Go's url.URL Path: after scheme://authority, before ?query and #fragment
    - name: path
      expression: >-
        variables.url.matches(r'^[A-Za-z][A-Za-z0-9+.-]*://') ?
        variables.url.find(r'^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*[^?#]*').substring(
        size(variables.url.find(r'^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'))) :
        (variables.scheme == '' ? variables.url.find(r'^[^?#]*') : '')
    # checkBackupTargetURLFormat: "$" or "," in the path ("$" is allowed for cifs, a hidden share)
    - name: badChars
      expression: "variables.path.findAll(variables.scheme == 'cifs' ? r'[,]' : r'[$,]')"
  validations:
    - expression: "request.operation != 'CREATE' || object.metadata.name.matches(r'^[a-z0-9][a-z0-9_.-]+$')"
      messageExpression: "'invalid name ' + object.metadata.name"
      reason: Invalid
    - expression: "!variables.checkUrl || size(variables.badChars) == 0"
      messageExpression: "'url ' + variables.url + ', contains ' + variables.badChars.join(' or ')"
      reason: Invalid
    - expression: "!variables.checkUrl || variables.scheme in ['s3', 'nfs', 'cifs', 'azblob']"
      messageExpression: "'url ' + variables.url + ' with the unsupported protocol ' + variables.scheme"
      reason: Invalid
    - expression: >-
        request.operation != 'DELETE' || oldObject.metadata.name != 'default' ||
        (has(oldObject.metadata.annotations) &&
        'longhorn.io/delete-backup-target-from-longhorn' in oldObject.metadata.annotations)
      message: deleting default backup target is not allowed
      reason: Invalid
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: longhorn-lab-backup-target-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  policyName: longhorn-lab-backup-target-{{ .Release.Namespace }}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: {{ .Release.Namespace | quote }}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: longhorn-lab-recurring-job-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
      - apiGroups: ["longhorn.io"]
        apiVersions: ["v1beta2"]
        operations: ["CREATE", "UPDATE"]
        resources: ["recurringjobs"]
  variables:
    # the webhook's mutator fills spec.name with metadata.name before the validator runs
    - name: name
      expression: >-
        has(object.spec) && has(object.spec.name) && object.spec.name != '' ? object.spec.name : object.metadata.name
    - name: task
      expression: "has(object.spec) && has(object.spec.task) ? object.spec.task : ''"
    - name: cron
      expression: "has(object.spec) && has(object.spec.cron) ? object.spec.cron : ''"
    - name: groups
      expression: "has(object.spec) && has(object.spec.groups) ? object.spec.groups : []"
    - name: labels
      expression: "has(object.spec) && has(object.spec.labels) ? object.spec.labels : {}"
    - name: parameters
      expression: >-
        has(object.spec) && has(object.spec.parameters) &&
        variables.task in ['backup', 'backup-force-create'] ? object.spec.parameters : {}
    - name: badGroups
      expression: "variables.groups.filter(g, !g.matches(r'^[a-zA-Z0-9][a-zA-Z0-9_.-]+$'))"
    # validation.IsQualifiedName: an optional DNS-subdomain prefix and "/", then a name of at most 63 characters
    - name: badLabelKeys
      expression: >-
        variables.labels.filter(k, !k.matches(r'^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$'))
    - name: emptyLabels
      expression: "variables.labels.filter(k, variables.labels[k] == '')"
    - name: reservedLabels
      expression: "variables.labels.filter(k, k in ['KubernetesStatus', 'ranchervm-base-image'])"
    - name: badParameters
      expression: "variables.parameters.filter(k, !(k in ['full-backup-interval', 'volume-backup-policy']))"
  validations:
    - expression: "request.operation != 'CREATE' || object.metadata.name.matches(r'^[a-z0-9][a-z0-9_.-]+$')"
      messageExpression: "'invalid name ' + object.metadata.name"
      reason: Invalid
    - expression: "variables.cron != '' && variables.task != ''"
      messageExpression: >-
        'invalid job {Name:' + variables.name + ' Groups:[' + variables.groups.join(' ') + '] Task:' +
        variables.task + ' Cron:' + variables.cron + '}'
      reason: Invalid
    - expression: |-
        size(variables.cron) <= 1024 && variables.cron.matches(r'{{ $cron }}')
      messageExpression: >-
        'invalid cron format(' + variables.cron + '): not a standard cron expression (5 fields: minute 0-59, hour
        0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT) or descriptor (@hourly, @daily,
        @weekly, @monthly, @yearly, @every <duration>)'
      reason: Invalid
    - expression: "size(variables.name) <= 40"
      messageExpression: "'job name ' + variables.name + ' must be 40 characters or less'"
      reason: Invalid
    - expression: "size(variables.badGroups) == 0"
      messageExpression: "'invalid group name ' + variables.badGroups[0]"
      reason: Invalid
    - expression: "size(variables.badLabelKeys) == 0"
      messageExpression: >-
        'at least one error encountered while validating backup label with key ' + variables.badLabelKeys[0] +
        ': name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an
        alphanumeric character (an optional DNS subdomain prefix and \'/\' may come first)'
      reason: Invalid
    - expression: "size(variables.emptyLabels) == 0"
      messageExpression: "'value for label with key ' + variables.emptyLabels[0] + ' cannot be empty'"
      reason: Invalid
    - expression: "size(variables.reservedLabels) == 0"
      messageExpression: >-
        'specified snapshot backup labels contain reserved keyword ' + variables.reservedLabels[0]
      reason: Invalid
    - expression: "size(variables.badParameters) == 0"
      messageExpression: >-
        'failed to validate recurring job backup task parameters: ' + variables.badParameters[0] + ':' +
        variables.parameters[variables.badParameters[0]] + ' is not a valid parameter'
      reason: Invalid
    - expression: >-
        !('full-backup-interval' in variables.parameters) ||
        variables.parameters['full-backup-interval'].matches(r'^[+-]?[0-9]+$')
      messageExpression: >-
        'failed to validate recurring job backup task parameters: full-backup-interval:' +
        variables.parameters['full-backup-interval'] + ' is not number: strconv.Atoi: parsing "' +
        variables.parameters['full-backup-interval'] + '": invalid syntax'
      reason: Invalid
    - expression: >-
        !('volume-backup-policy' in variables.parameters) ||
        variables.parameters['volume-backup-policy'] in ['always', 'if-not-present', 'disabled']
      messageExpression: >-
        'failed to validate recurring job backup task parameters: volume-backup-policy:' +
        variables.parameters['volume-backup-policy'] +
        ' is not a valid value: supported values: [always if-not-present disabled]'
      reason: Invalid
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: longhorn-lab-recurring-job-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  policyName: longhorn-lab-recurring-job-{{ .Release.Namespace }}
  validationActions: [Deny]
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: {{ .Release.Namespace | quote }}
---
{{- /* The webhook compares the retain count (after its mutator: at least 1 for snapshot and backup tasks, 0 for
snapshot-cleanup and filesystem-trim) with the Setting recurring-job-max-retention (default 100). */}}
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata:
  name: longhorn-lab-recurring-job-retain-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  failurePolicy: Fail
  paramKind:
    apiVersion: longhorn.io/v1beta2
    kind: Setting
  matchConstraints:
    resourceRules:
      - apiGroups: ["longhorn.io"]
        apiVersions: ["v1beta2"]
        operations: ["CREATE", "UPDATE"]
        resources: ["recurringjobs"]
  variables:
    - name: task
      expression: "has(object.spec) && has(object.spec.task) ? object.spec.task : ''"
    - name: retain
      expression: "has(object.spec) && has(object.spec.retain) ? object.spec.retain : 0"
    - name: effectiveRetain
      expression: >-
        variables.task in ['snapshot-cleanup', 'filesystem-trim'] ? 0 :
        (variables.task == 'snapshot-delete' ? (variables.retain < 0 ? 0 : variables.retain) :
        (variables.retain < 1 ? 1 : variables.retain))
  validations:
    - expression: "variables.effectiveRetain <= int(params.value)"
      messageExpression: "'retain value should be less than or equal to ' + params.value"
      reason: Invalid
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata:
  name: longhorn-lab-recurring-job-retain-{{ .Release.Namespace }}
  labels:
    {{- include "longhorn.labels" . | nindent 4 }}
spec:
  policyName: longhorn-lab-recurring-job-retain-{{ .Release.Namespace }}
  validationActions: [Deny]
  paramRef:
    name: recurring-job-max-retention
    namespace: {{ .Release.Namespace | quote }}
    parameterNotFoundAction: Allow
  matchResources:
    namespaceSelector:
      matchLabels:
        kubernetes.io/metadata.name: {{ .Release.Namespace | quote }}
{{- end }}
