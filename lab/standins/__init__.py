"""kaapana lab STAND-INS for snap, MicroK8s and nvidia-smi (not the real tools): see README.md.

The executables `snap`, `microk8s` and `nvidia-smi` next to this file import the package as
`standins` from its parent folder (lab/ here, /usr/lib/kaapana-lab in the node image);
provisioner.py and kube_helm.py run on the lab host and import only common.py's host-side helper
(podman_node_exec) from it."""
