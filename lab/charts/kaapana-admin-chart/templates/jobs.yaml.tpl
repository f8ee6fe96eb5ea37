{{- /*
The admin namespace's Jobs. version-file-writer mirrors Kaapana's (writes <fast_data_dir>/version,
ttlSecondsAfterFinished 300 so it disappears 5 minutes after completing, as Kaapana's does).
init-collections and init-extensions are kube-helm's init Jobs (kube-helm-chart templates/init_jobs.yaml):
they mount the extensions PVC (so they are pinned to the storage node) and carry Kaapana's env.
In Kaapana, init-extensions' preinstall_extensions.py installs every global.preinstall_extensions
entry as its own Helm release in global.helm_namespace; here KWOK completes the Job at once and the
lab's kube-helm stand-in (lab/standins/kube_helm.py, a host process) does the installs, with the
values of the Secret named in the annotation kaapana.lab/values-secret.
cert-init-<3 random characters> is Kaapana's cert-init-chart Job (ACTION=install of handle-secret.sh;
kaapana.certJob of the library): the kube-helm stand-in creates the self-signed TLS Secret
global.tls_secret.name ("certificate") in the admin namespace for it, unless the services namespace
already has one (lab/CONTRACT.md).
Under KWOK a Job's pods complete at once unless annotated kwok.test/fault=Failed, except
version-file-writer's: its pod is annotated kaapana.lab/host-job "true", so the lab's kube-helm stand-in runs its
/bin/sh -c command for real in the node container of the node it lands on (writing <fast_data_dir>/version there)
and KWOK ends the pod with that exit code. As Kaapana's it has no nodeSelector (hostPath, unpinned): on several
nodes it can land on a worker. Lab only: a node affinity keeps it off the lab's pool node (kaapana.io/lab-pool),
which has no node container to run it in.
*/ -}}
{{- $g := .Values.global -}}
{{- $preinstall := list -}}
{{- range $e := $g.preinstall_extensions }}{{ $preinstall = append $preinstall (dict "name" $e.name "version" ($e.version | toString)) }}{{ end -}}
{{- $kubeHelmEnv := list (dict "name" "RELEASE_NAME" "value" ($g.release_name | toString)) (dict "name" "HELM_NAMESPACE" "value" ($g.helm_namespace | toString))
      (dict "name" "REGISTRY_URL" "value" ($g.registry_url | toString)) (dict "name" "OFFLINE_MODE" "value" ($g.offline_mode | toString))
      (dict "name" "KAAPANA_COLLECTIONS" "value" (include "kaapana.collections" .))
      (dict "name" "PREINSTALL_EXTENSIONS" "value" (toJson $preinstall))
      (dict "name" "PREFETCH_EXTENSIONS" "value" ($g.prefetch_extensions | toString)) -}}
{{- $jobs := list
  (dict "name" "version-file-writer" "namespace" $g.admin_namespace "ttl" 300 "hostPath" ($g.fast_data_dir | toString)
        "command" (printf "set -e\necho \"Writing version file: $VERSION_FILE\"\nmkdir -p %s\necho \"$PLATFORM_VERSION\" > \"$VERSION_FILE\"\ncat \"$VERSION_FILE\"\n" ($g.fast_data_dir | toString | squote))
        "env" (list (dict "name" "VERSION_FILE" "value" (printf "%s/version" $g.fast_data_dir)) (dict "name" "PLATFORM_VERSION" "value" ($g.kaapana_build_version | toString))))
  (dict "name" "init-collections" "image" "kube-helm" "namespace" $g.admin_namespace "command" "python -u /app/scripts/init_collections.py"
        "claim" "extensions-pv-claim" "mountPath" "/kaapana/mounted/extensions" "env" $kubeHelmEnv)
  (dict "name" "init-extensions" "image" "kube-helm" "namespace" $g.admin_namespace "command" "python -u /app/scripts/preinstall_extensions.py"
        "claim" "extensions-pv-claim" "mountPath" "/kaapana/mounted/extensions" "env" $kubeHelmEnv)
-}}
{{- range $j := $jobs }}
---
{{- $job := include "kaapana.job" (merge (dict "root" $) $j) | fromYaml }}
{{- if eq $j.name "version-file-writer" }}
{{- $pod := $job.spec.template }}
{{- $_ := set $pod.metadata "annotations" (merge (dict "kaapana.lab/host-job" "true") ($pod.metadata.annotations | default dict)) }}
{{- $_ := set $pod.spec "affinity" (include "kaapana.labNotOnPool" . | fromYaml) }}
{{- end }}
{{- if eq $j.name "init-extensions" }}
{{- $_ := set $job.metadata "annotations" (dict "kaapana.lab/values-secret" (printf "%s-preinstall-values" $.Release.Name)) }}
{{- end }}
{{ toYaml $job }}
{{- end }}
---
{{ include "kaapana.certJob" (list . "install") }}
