---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: admin-crb-migration
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: "cluster-admin"
subjects:
  - kind: ServiceAccount
    name: kaapana-kube-admin
    namespace: migration
---
apiVersion: v1
kind: ServiceAccount
metadata:
  namespace: migration
  name: kaapana-kube-admin
