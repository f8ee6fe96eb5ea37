{{- /* lab.preinstallFailRelease=<this release>: a failing pre-install hook (kaapana-library-chart). */ -}}
{{- include "kaapana.lab.preinstallFault" . }}
