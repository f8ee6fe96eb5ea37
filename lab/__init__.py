"""The kaapana.platform test lab: a real Kubernetes control plane with KWOK nodes, Helm,
an OCI registry and Podman node containers, on one machine. See lab/CONTRACT.md."""
