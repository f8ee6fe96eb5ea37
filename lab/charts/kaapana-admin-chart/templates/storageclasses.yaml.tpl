{{- /*
Kaapana 0.6.0's admin chart creates all five classes itself (cluster-scoped, no keep policy, so an
uninstall deletes them; a second INSTANCE_UID release would collide on them). Set
lab.createStorageClasses=false when the classes are created elsewhere (0.6.1 style).
Provisioners and parameters follow the 0.6.0 classes (see kaapana-deployment.md section 1.7).
*/ -}}
{{- if .Values.lab.createStorageClasses }}
{{- $g := .Values.global -}}
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kaapana-hostpath-slow-data-dir
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
provisioner: microk8s.io/hostpath
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
parameters:
  pvDir: {{ $g.slow_data_dir | quote }}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kaapana-hostpath-fast-data-dir
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
provisioner: microk8s.io/hostpath
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
parameters:
  pvDir: {{ $g.fast_data_dir | quote }}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kaapana-longhorn-slow-data
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
provisioner: driver.longhorn.io
allowVolumeExpansion: true
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
parameters:
  numberOfReplicas: "1"
  dataLocality: "best-effort"
  diskSelector: "slow-data"
  fsType: "ext4"
  staleReplicaTimeout: "30"
  fromBackup: ""
  disableRevisionCounter: "false"
allowedTopologies:
  - matchLabelExpressions:
      - key: kubernetes.io/hostname
        values:
          - {{ $g.main_node_name | quote }}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kaapana-longhorn-fast-db
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
provisioner: driver.longhorn.io
allowVolumeExpansion: true
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
parameters:
  numberOfReplicas: "1"
  dataLocality: "best-effort"
  diskSelector: "fast-data"
  fsType: "ext4"
  staleReplicaTimeout: "30"
  fromBackup: ""
  disableRevisionCounter: "false"
allowedTopologies:
  - matchLabelExpressions:
      - key: kubernetes.io/hostname
        values:
          - {{ $g.main_node_name | quote }}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kaapana-longhorn-fast-workflow
  labels:
    {{- include "kaapana.labels" . | nindent 4 }}
provisioner: driver.longhorn.io
allowVolumeExpansion: true
reclaimPolicy: Delete
volumeBindingMode: Immediate
parameters:
  numberOfReplicas: {{ $g.replica_count | toString | quote }}
  fsType: "ext4"
  mkfsParams: "-E discard"
  disableRevisionCounter: "true"
  staleReplicaTimeout: "20"
{{- end }}
